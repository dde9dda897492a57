"""SIGINT and SIGTERM as an ordinary run failure, so an interrupted run is recorded.

Python turns SIGINT into ``KeyboardInterrupt`` and SIGTERM into an immediate
exit; neither reaches Kedro's ``on_pipeline_error`` hook (it catches
``Exception``), so the run index would never hear of the run. While a run is
in progress, ``catch_signals`` makes both raise ``RunInterrupted`` instead.

The run's own process also forwards the signal to its worker processes (a
``kill`` of the main process alone must stop the node a worker trains, or the
pool would wait for it to finish). A worker (``catch_in_worker``, installed by
the parallel runner's initializer) raises ``RunInterrupted`` in the node it
runs, once, and then takes Python's default again; an idle worker just ends.
A second signal to the main process behaves as Python's default again too.
No Kedro imports.
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


_running_node = False  # this worker process runs a node now (see ``WhileRunning``)


class WhileRunning:
    """A task wrapper that marks its worker process busy while the task runs."""

    def __init__(self, task: Any) -> None:
        self.task = task

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        global _running_node  # noqa: PLW0603 - one flag per worker process
        _running_node = True
        try:
            return self.task(*args, **kwargs)
        finally:
            _running_node = False


def _worker_signal(signum: int, frame: FrameType | None) -> None:
    signal.signal(signum, signal.SIG_DFL)  # a repeat (Ctrl-C, then the forwarded copy) ends it
    if not _running_node:
        os.kill(os.getpid(), signum)  # idle: end quietly, as with the default handler
        return
    raise RunInterrupted(signal.Signals(signum).name, "in a worker process")


def catch_in_worker() -> None:
    """In a worker process: SIGINT and SIGTERM stop the running node with ``RunInterrupted``."""
    for signum in SIGNALS:
        signal.signal(signum, _worker_signal)


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
        if os.getpid() != self.owner:  # a forked child that kept the handler
            _worker_signal(signum, frame)
            return
        signal.signal(signum, self.previous.get(signum, signal.SIG_DFL))
        _forward(signum)
        raise RunInterrupted(signal.Signals(signum).name, self.run_id)

    def restore(self) -> None:
        """Put back the handlers that were there before (in the process that installed them)."""
        if os.getpid() != self.owner:
            return
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)
        self.previous = {}
