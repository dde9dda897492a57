"""Run the experiment's nodes on a Dask cluster: local, an existing scheduler, or Slurm.

The experiment is hundreds of independent jobs (trie trainings, unlearning runs,
evaluations). ``DaskRunner`` keeps Kedro's own scheduling loop
(``AbstractRunner._run``: a node is submitted once its parents are done) and
hands each node to a Dask worker as a task:

- the worker runs it exactly as ``ParallelRunner``'s workers do (Kedro's
  ``Task`` with a hook manager built there, so ``LineageHook`` still fills the
  report's lineage), with the project's torch settings and one torch thread,
  so every table is bitwise that of a one-thread sequential run;
- nodes tagged ``pretraining``, ``stage_training`` or ``unlearning`` ask for
  ``GPU: 1`` when the cluster's workers have GPUs (``dask worker --resources
  GPU=1``); every other node asks for nothing;
- outputs that live only in memory (figures handed to the report) are
  published on the scheduler (``client.publish_dataset``) instead of in the
  worker's own memory, so the next node finds them on any worker;
- a worker lost mid-node is Dask's to handle: the scheduler runs the task again
  on another worker (saves are atomic, so a retry is safe). A node that fails
  by itself fails the run with one line naming it.

Pipeline hooks (pre-flight checks, the run index, the same-run check) run in
the ``kedro run`` process as with any runner. The cluster comes from the
``dask`` parameters (``conf/base/parameters_dask.yml``; ``docs/cluster.md``).
"""

from __future__ import annotations

import concurrent.futures
import logging
import os
import sys
import uuid
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset, DatasetError, MemoryDataset
from kedro.runner import AbstractRunner
from kedro.runner.task import Task

from path_unlearning.errors import ConfigError, RunError, quoted
from path_unlearning.kedro_adapter import project_root

logger = logging.getLogger(__name__)

PACKAGE = "path_unlearning"
GPU_TAGS = frozenset({"pretraining", "stage_training", "unlearning", "relearning"})
CLUSTERS = ("local", "slurm")


class SchedulerMemoryDataset(AbstractDataset[Any, Any]):
    """A node output kept on the Dask scheduler, readable from every worker.

    An in-memory dataset like Kedro's ``MemoryDataset`` (the run index does not
    list it among the files a run wrote).
    """

    def __init__(self, key: str) -> None:
        self.key = key

    def load(self) -> Any:
        from distributed import get_client  # noqa: PLC0415

        return get_client().get_dataset(self.key)

    def save(self, data: Any) -> None:
        from distributed import get_client  # noqa: PLC0415

        get_client().publish_dataset(data, name=self.key, override=True)

    def _exists(self) -> bool:
        from distributed import get_client  # noqa: PLC0415

        return self.key in get_client().list_datasets()

    def _describe(self) -> dict[str, Any]:
        return {"key": self.key}


_hooks: Any = None  # this worker's hook manager, built on its first task


def run_task(task: Task, threads: int, gpus: int) -> Any:
    """On a worker: the project's settings once, then Kedro's own node execution.

    Args:
        task: Kedro's task of one node (catalog and run id included).
        threads: torch threads per worker (one: bitwise the sequential tables).
        gpus: GPUs per machine; a worker then sees one of them.
    """
    global _hooks  # noqa: PLW0603 - once per worker process
    if _hooks is None:
        if gpus and "CUDA_VISIBLE_DEVICES" not in os.environ:
            from distributed import get_worker  # noqa: PLC0415

            name = str(get_worker().name)  # LocalCluster names its workers 0, 1, ...
            index = int(name) if name.isdigit() else zlib.crc32(name.encode())
            os.environ["CUDA_VISIBLE_DEVICES"] = str(index % gpus)
        import torch  # noqa: PLC0415 - after CUDA_VISIBLE_DEVICES
        from kedro.framework.hooks.manager import (  # noqa: PLC0415
            _create_hook_manager,
            _register_hooks,
            _register_hooks_entry_points,
        )
        from kedro.framework.project import configure_project, settings  # noqa: PLC0415

        from path_unlearning.modeling.model import configure_torch_for_cpu  # noqa: PLC0415

        configure_project(PACKAGE)  # Kedro's settings (hooks) on this worker
        configure_torch_for_cpu()
        torch.set_num_threads(threads)
        # The hooks of a node (LineageHook) as Kedro's ParallelRunner builds them in its workers.
        hooks = _create_hook_manager()
        _register_hooks(hooks, settings.HOOKS)
        _register_hooks_entry_points(hooks, settings.DISABLE_HOOKS_FOR_PLUGINS)
        _hooks = hooks
    task.hook_manager = _hooks
    from distributed import get_worker  # noqa: PLC0415

    worker = get_worker()
    worker.log_event("path_unlearning.node", (task.node.name, worker.name))  # where it ran
    return task.execute()


def _cascade(dask_future: Any, future: concurrent.futures.Future, node: str) -> None:
    """Copy a finished Dask future into the ``concurrent.futures`` one Kedro waits on."""
    try:
        future.set_result(dask_future.result())
    except (ConfigError, RunError, DatasetError) as error:
        future.set_exception(error)
    except Exception as error:  # noqa: BLE001 - every other failure, named by its node
        text = " ".join(str(error).split())[:300]
        future.set_exception(RunError(f"node {node} failed: {type(error).__name__}: {text}"))


class _NodeExecutor(concurrent.futures.Executor):
    """Submits Kedro tasks to a Dask client, with GPU resources for training nodes."""

    def __init__(self, client: Any, threads: int, gpus: int, gpu_tags: frozenset[str]) -> None:
        self.client = client
        self.threads = threads
        self.gpus = gpus
        self.gpu_tags = gpu_tags

    def submit(self, task: Task, /, *args: Any, **kwargs: Any) -> concurrent.futures.Future:
        node = task.node
        task.hook_manager = None  # not picklable; the worker builds its own
        wants_gpu = bool(self.gpus and set(node.tags) & self.gpu_tags)
        dask_future = self.client.submit(
            run_task, task, self.threads, self.gpus,
            key=f"{node.name}-{uuid.uuid4().hex[:8]}", pure=False,
            resources={"GPU": 1} if wants_gpu else None,
        )  # fmt: skip
        future: concurrent.futures.Future = concurrent.futures.Future()
        dask_future.add_done_callback(lambda done: _cascade(done, future, node.name))
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Nothing to stop: the client outlives the executor (``DaskRunner`` closes it)."""


def slurm_cluster(settings: Mapping[str, Any]) -> Any:
    """A ``dask_jobqueue.SLURMCluster`` from the ``dask.slurm`` parameters.

    One worker per job with one GPU (``--gres=gpu:1``, ``--resources GPU=1``)
    unless ``gpus_per_job`` is 0; the worker runs this virtualenv's Python.
    """
    from dask_jobqueue import SLURMCluster  # noqa: PLC0415

    gpus = int(settings.get("gpus_per_job", 1))
    extra = list(settings.get("job_extra_directives") or [])
    worker_args = ["--nthreads", "1"]
    if gpus:
        extra.append(f"--gres=gpu:{gpus}")
        worker_args += ["--resources", f"GPU={gpus}"]
    return SLURMCluster(
        queue=settings.get("partition"),
        account=settings.get("account"),
        walltime=str(settings.get("walltime", "04:00:00")),
        cores=int(settings.get("cores", 8)),
        memory=str(settings.get("memory", "64GB")),
        processes=1,
        python=settings.get("python") or sys.executable,
        job_extra_directives=extra,
        worker_extra_args=worker_args,
        # The network the scheduler and the workers talk on (ib0, eth0; lo on one node).
        interface=settings.get("interface"),
        log_directory=settings.get("log_directory"),
        # Nodes that start processes (data-parallel stages) need a non-daemon worker.
        job_script_prologue=["export DASK_DISTRIBUTED__WORKER__DAEMON=False"],
        scheduler_options={
            "dashboard_address": settings.get("dashboard_address", "127.0.0.1:8787")
        },
    )


class DaskRunner(AbstractRunner):
    """Kedro runner that submits each node to a Dask cluster (``docs/cluster.md``)."""

    def __init__(self, is_async: bool = False) -> None:
        super().__init__(is_async=is_async)
        self._client: Any = None
        self._executor: _NodeExecutor | None = None

    def _get_executor(self, max_workers: int) -> concurrent.futures.Executor | None:
        return self._executor

    def _run(self, pipeline: Any, catalog: Any, hook_manager: Any = None, run_id: Any = None):
        settings = dict(catalog.load("params:dask")) if "params:dask" in catalog else {}
        threads = (
            int(catalog.load("params:torch_threads")) if "params:torch_threads" in catalog else 1
        )
        for name in sorted(pipeline.all_outputs()):
            if isinstance(catalog.get(name), MemoryDataset | None):
                catalog[name] = SchedulerMemoryDataset(f"{run_id}:{name}")
        client, cluster = connect(settings)
        try:
            check_shared_storage(client, project_root() / "data")
            gpus = int(settings.get("gpus", 0) or _cluster_gpus(client))
            tags = frozenset(settings.get("gpu_tags") or GPU_TAGS)
            self._executor = _NodeExecutor(client, threads or 1, gpus, tags)
            logger.info("Dask dashboard: %s", client.dashboard_link)
            return super()._run(pipeline, catalog, hook_manager, run_id)
        finally:
            for name in client.list_datasets():
                if str(name).startswith(f"{run_id}:"):
                    client.unpublish_dataset(name)
            client.close()
            if cluster is not None:
                cluster.close()


def _cluster_gpus(client: Any) -> int:
    """GPUs per worker as the workers declared them (``--resources GPU=n``), else 0."""
    declared = [
        w.get("resources", {}).get("GPU", 0) for w in client.scheduler_info()["workers"].values()
    ]
    return int(max(declared, default=0))


def connect(settings: Mapping[str, Any]) -> tuple[Any, Any]:
    """A client of the configured cluster, and the cluster if this run started it.

    ``dask.scheduler`` (an address) joins a running cluster; otherwise
    ``dask.cluster`` is ``local`` (a ``LocalCluster``: one worker per GPU, else
    per core, one thread each) or ``slurm`` (``slurm_cluster``, scaled to the
    ready work with ``adapt``).

    Raises:
        ConfigError: An unknown cluster kind, or a scheduler that does not answer.
    """
    from distributed import Client, LocalCluster  # noqa: PLC0415

    address = settings.get("scheduler")
    if address:
        try:
            return Client(str(address), timeout=str(settings.get("timeout", "30s"))), None
        except OSError as error:
            raise ConfigError(
                f"dask.scheduler={quoted(address)} does not answer ({type(error).__name__}); "
                "start it with `dask scheduler` or leave dask.scheduler empty for a local cluster"
            ) from None
    kind = settings.get("cluster") or "local"
    dashboard = str(settings.get("dashboard_address", "127.0.0.1:8787"))
    if kind == "local":
        from path_unlearning.runner import _gpu_count  # noqa: PLC0415

        gpus = _gpu_count()
        workers = int(settings.get("n_workers") or gpus or os.cpu_count() or 1)
        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
            dashboard_address=dashboard, resources={"GPU": 1} if gpus else None,
        )  # fmt: skip
    elif kind == "slurm":
        cluster = slurm_cluster({**(settings.get("slurm") or {}), "dashboard_address": dashboard})
        cluster.adapt(minimum=0, maximum=int((settings.get("slurm") or {}).get("max_jobs", 8)))
    else:
        raise ConfigError(f"dask.cluster={quoted(kind)}: use one of {', '.join(CLUSTERS)}")
    return Client(cluster), cluster


def check_shared_storage(client: Any, data: Path) -> None:
    """Raise ``RunError`` (one line) unless every worker sees the project's ``data/`` folder."""
    seen = client.run(os.path.isdir, str(data))
    blind = sorted(worker for worker, visible in seen.items() if not visible)
    if blind:
        raise RunError(
            f"Dask worker(s) {', '.join(blind[:3])} cannot see {data}: the project's data/ "
            "must be on storage every worker mounts (e.g. a shared home or scratch)"
        )
