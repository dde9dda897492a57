"""A Kedro runner that runs independent nodes in worker processes, one per core or GPU.

The experiment is a tree of independent jobs (trie branches, unlearning runs,
evaluations); Kedro's ``ParallelRunner`` schedules ready nodes onto a process
pool. This subclass sizes and prepares the pool for this project:

- on CPU, one worker per core, each with one torch thread and denormals flushed,
  exactly the settings of a sequential run, so every table is bitwise identical;
- with GPUs, one worker per GPU, each seeing only its own device
  (``CUDA_VISIBLE_DEVICES``), started with ``spawn`` so no CUDA state is forked;
- a worker that dies (killed, out of memory) ends the run with a one-line
  ``RunError`` naming the nodes it may have been running. Saves are atomic, so
  nothing it was writing becomes a loadable version; rerunning completes the run;
- SIGINT or SIGTERM stops the node a worker runs (``interrupts``), so the run
  ends as ``interrupted`` instead of waiting for the node to finish.

Use it with ``kedro run --runner=path_unlearning.runner.WorkerPoolRunner``; across
machines, ``DaskRunner`` (``dask_runner.py``).
"""

from __future__ import annotations

import os
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from typing import Any

from kedro.runner import ParallelRunner

from path_unlearning.dask_runner import DaskRunner
from path_unlearning.errors import RunError
from path_unlearning.interrupts import WhileRunning, catch_in_worker

__all__ = ["DaskRunner", "WorkerPoolRunner"]


def _gpu_count() -> int:
    import torch  # noqa: PLC0415 - the CLI should not pay for torch before it needs it

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def _prepare_worker(devices: Any, threads: int) -> None:
    """Runs first in every worker: pin a GPU, or set the CPU thread settings."""
    if devices is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = str(devices.get())
    import torch  # noqa: PLC0415 - after CUDA_VISIBLE_DEVICES, so the worker sees one GPU

    from path_unlearning.modeling.model import configure_torch_for_cpu  # noqa: PLC0415

    configure_torch_for_cpu()
    torch.set_num_threads(threads)
    catch_in_worker()


class _TrackingPool(ProcessPoolExecutor):
    """A process pool that remembers which node each unfinished future runs."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.unfinished: dict[Future, str] = {}

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future:
        future = super().submit(WhileRunning(fn), *args, **kwargs)
        self.unfinished[future] = fn.node.name
        future.add_done_callback(self._finished)
        return future

    def _finished(self, future: Future) -> None:
        if not isinstance(future.exception(), BrokenProcessPool):
            self.unfinished.pop(future, None)


class WorkerPoolRunner(ParallelRunner):
    """``ParallelRunner`` with one worker per GPU, or per CPU core (one torch thread each)."""

    def __init__(self, max_workers: int | None = None, is_async: bool = False) -> None:
        self._gpus = _gpu_count()
        workers = max_workers or self._gpus or os.cpu_count() or 1
        super().__init__(max_workers=workers, is_async=is_async)
        self._pool: _TrackingPool | None = None

    def _get_executor(self, max_workers: int) -> ProcessPoolExecutor:
        if self._gpus:
            context = get_context("spawn")
            devices = context.Manager().Queue()
            for index in range(self._gpus):
                devices.put(index)
            initargs = (devices, 1)
        else:
            context = get_context(os.environ.get("KEDRO_MP_CONTEXT") or "fork")
            initargs = (None, 1)
        self._pool = _TrackingPool(
            max_workers=max_workers,
            mp_context=context,
            initializer=_prepare_worker,
            initargs=initargs,
        )
        return self._pool

    def _run(self, pipeline: Any, catalog: Any, hook_manager: Any = None, run_id: Any = None):
        try:
            return super()._run(pipeline, catalog, hook_manager, run_id)
        except BrokenProcessPool:
            running = sorted(set(self._pool.unfinished.values())) if self._pool else []
            raise RunError(
                f"a worker process died while running node(s) {', '.join(running) or '?'}; "
                "nothing it was saving became a version: rerun the same command"
            ) from None
