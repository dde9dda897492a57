"""SIGINT and SIGTERM as an ordinary run failure, so an interrupted run is recorded.

Python turns SIGINT into ``KeyboardInterrupt`` and SIGTERM into an immediate
exit; neither reaches Kedro's ``on_pipeline_error`` hook (it catches
``Exception``), so the run index would never hear of the run. While a run is
in progress, ``catch_signals`` makes both raise ``RunInterrupted`` instead.

Worker processes forked by the parallel runner inherit the handler. The run's
own process forwards the signal to them (a ``kill`` of the main process alone
must stop the node a worker trains, or the pool would wait for it to finish);
a worker raises once and ignores repeats (Ctrl-C reaches every process of the
group, then the forwarded copy arrives). A second signal to the main process
behaves as Python's default again. No Kedro imports.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from types import FrameType
from typing import Any

from path_unlearning.errors import RunInterrupted

SIGNALS = (signal.SIGINT, signal.SIGTERM)
EXIT_CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}  # 128 + signal number, as shells do


def _forward(signum: int) -> None:
    for child in multiprocessing.active_children():
        try:
            os.kill(child.pid, signum)
        except (ProcessLookupError, TypeError):  # ended meanwhile, or not started
            continue


class catch_signals:  # noqa: N801 - used like a function: catch_signals(run_id)
    """Install the handlers (main thread only); ``restore()`` puts the previous ones back."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.owner = os.getpid()
        self.previous: dict[int, Any] = {}
        if threading.current_thread() is not threading.main_thread():
            return  # signal handlers can only be set from the main thread
        for signum in SIGNALS:
            self.previous[signum] = signal.signal(signum, self._handle)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if os.getpid() == self.owner:
            signal.signal(signum, self.previous.get(signum, signal.SIG_DFL))
            _forward(signum)
        else:  # a forked worker: stop its node once
            signal.signal(signum, signal.SIG_IGN)
        raise RunInterrupted(signal.Signals(signum).name, self.run_id)

    def restore(self) -> None:
        """Put back the handlers that were there before (in the process that installed them)."""
        if os.getpid() != self.owner:
            return
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)
        self.previous = {}
