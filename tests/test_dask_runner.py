"""DaskRunner: the micro experiment on Dask clusters equals the sequential run bitwise.

A ``LocalCluster`` of two one-thread workers; a real ``dask scheduler`` and two
``dask worker`` processes on 127.0.0.1; a worker killed while it trains; GPU
resources routing the training nodes; the Slurm job script.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
from kedro.runner import SequentialRunner

from path_unlearning.dask_runner import DaskRunner, slurm_cluster
from path_unlearning.errors import RunError
from tests.saved_state import version_folders
from tests.test_runner import MICRO_UNLEARN

distributed = pytest.importorskip("distributed")

MICRO = MICRO_UNLEARN  # the runner tests' micro experiment: two methods, three steps
PIPELINES = ["data_prep", "staged_finetune", "unlearn", "evaluate", "benchmark_metrics", "report"]
TABLES = ("data/07_model_output/evaluation_scores.parquet",)


def _run(root: Path, runner, **params) -> str:
    bootstrap_project(root)
    with KedroSession.create(project_path=root, runtime_params=params or None) as session:
        session.run(pipeline_names=PIPELINES, runner=runner)
        return session.session_id


def _latest(root: Path, relative: str) -> pd.DataFrame:
    folder = root / relative
    [version] = sorted(p.name for p in folder.iterdir())
    return pd.read_parquet(folder / version / folder.name)


@pytest.fixture(scope="module")
def sequential(tmp_path_factory) -> dict[str, pd.DataFrame]:
    """The micro experiment's tables from the sequential runner (the reference)."""
    from tests.saved_state import micro_root

    root = micro_root(tmp_path_factory.mktemp("sequential") / "project", MICRO)
    _run(root, SequentialRunner())
    return {t: _latest(root, t) for t in TABLES}


def _fresh(tmp_path: Path) -> Path:
    from tests.saved_state import micro_root

    return micro_root(tmp_path / "project", MICRO)


def _same_tables(root: Path, sequential: dict[str, pd.DataFrame]) -> None:
    for table, expected in sequential.items():
        pd.testing.assert_frame_equal(_latest(root, table), expected, check_exact=True)
    versions = version_folders(root / "data")
    assert versions and all(len(v) == 1 for v in versions.values())  # one version per dataset
    assert len({v[0] for v in versions.values()}) == 1


@pytest.mark.slow
def test_local_cluster_equals_sequential_bitwise(tmp_path, sequential):
    root = _fresh(tmp_path)
    run_id = _run(root, DaskRunner(), dask={"n_workers": 2, "dashboard_address": ":0"})
    _same_tables(root, sequential)
    [report_file] = (root / "data/08_reporting/report.md").glob("*/report.md")
    report = report_file.read_text()
    assert "Recency" in report  # the report's in-memory figures crossed workers
    from path_unlearning import run_index as ri

    record = ri.by_run(ri.read_index(root / ri.RUN_INDEX))[run_id]
    assert record["status"] == "completed" and record["runner"] == "DaskRunner"
    assert "report_html" in record["datasets"]
    assert "report_figure1_png" not in record["datasets"]  # in memory only: no file written


def test_slurm_job_script_carries_partition_gres_walltime_and_python():
    cluster = slurm_cluster({
        "partition": "gpu-a100", "account": "unlearning", "walltime": "12:00:00",
        "cores": 8, "memory": "64GB", "gpus_per_job": 1, "dashboard_address": ":0",
    })  # fmt: skip
    try:
        script = cluster.job_script()
    finally:
        cluster.close()
    assert "#SBATCH -p gpu-a100" in script and "#SBATCH -A unlearning" in script
    assert "#SBATCH -t 12:00:00" in script and "#SBATCH --gres=gpu:1" in script
    assert f"{sys.executable} -m distributed.cli.dask_worker" in script
    assert "--resources GPU=1" in script and "--nthreads 1" in script


def _slurm_up() -> bool:
    """A Slurm controller answers and has an idle node (``.ci/slurm_single_node.sh``)."""
    if shutil.which("sinfo") is None or shutil.which("sbatch") is None:
        return False
    try:
        states = subprocess.run(
            ["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except subprocess.TimeoutExpired:
        return False
    return any(state in states for state in ("idle", "mix"))


@pytest.mark.slow
@pytest.mark.skipif(not _slurm_up(), reason="no Slurm controller with an idle node")
def test_micro_experiment_through_slurm_jobs(tmp_path, sequential):
    """``dask.cluster: slurm``: workers are sbatch jobs; the tables equal the sequential run's."""
    root = _fresh(tmp_path)
    logs = tmp_path / "slurm-logs"
    slurm = {
        "walltime": "00:30:00", "cores": 1, "memory": "3GB", "gpus_per_job": 0, "max_jobs": 2,
        "interface": "lo", "log_directory": str(logs),
    }  # fmt: skip
    run_id = _run(
        root, DaskRunner(), dask={"cluster": "slurm", "dashboard_address": ":0", "slurm": slurm}
    )
    _same_tables(root, sequential)
    assert list(logs.glob("*.out")) or list(logs.glob("*.err"))  # the workers were Slurm jobs
    from path_unlearning import run_index as ri

    record = ri.by_run(ri.read_index(root / ri.RUN_INDEX))[run_id]
    assert record["status"] == "completed" and record["runner"] == "DaskRunner"


def _scheduler_and_workers(tmp_path: Path, workers: list[list[str]]) -> tuple[str, list]:
    """A real ``dask scheduler`` and ``dask worker`` processes on 127.0.0.1."""
    bin_dir = Path(sys.executable).parent
    file = tmp_path / "scheduler.json"
    env = {**os.environ, "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}
    processes = [subprocess.Popen(
        [str(bin_dir / "dask"), "scheduler", "--host", "127.0.0.1", "--port", "0",
         "--dashboard-address", ":0", "--scheduler-file", str(file)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
    )]  # fmt: skip
    end = time.monotonic() + 60
    while not file.exists():
        assert time.monotonic() < end, "the scheduler did not start"
        time.sleep(0.2)
    import json

    address = json.loads(file.read_text())["address"]
    for extra in workers:
        processes.append(subprocess.Popen(
            [str(bin_dir / "dask"), "worker", address, "--nthreads", "1", "--host", "127.0.0.1",
             "--no-dashboard", *extra],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
        ))  # fmt: skip
    with distributed.Client(address) as client:
        client.wait_for_workers(len(workers), timeout=120)
    return address, processes


def _stop(processes: list) -> None:
    for process in reversed(processes):
        process.terminate()
    for process in processes:
        process.wait(30)


@pytest.mark.slow
def test_separate_scheduler_and_workers_route_training_to_the_gpu_worker(tmp_path, sequential):
    # A worker that declares a GPU (CUDA_VISIBLE_DEVICES empty: it computes on CPU) and one
    # without: every training and unlearning node must land on the first, no other node needs it.
    address, processes = _scheduler_and_workers(
        tmp_path, [["--resources", "GPU=1", "--name", "gpu"], ["--name", "cpu"]]
    )
    placed: dict[str, str] = {}
    try:
        with distributed.Client(address) as client:
            client.run(os.environ.__setitem__, "CUDA_VISIBLE_DEVICES", "")
        root = _fresh(tmp_path)
        _run(root, DaskRunner(), dask={"scheduler": address})
        with distributed.Client(address) as client:
            for event in client.get_events("path_unlearning.node"):
                name, worker = event[1]
                placed[name] = worker
    finally:
        _stop(processes)
    _same_tables(root, sequential)
    trained = {
        n: w
        for n, w in placed.items()
        if n.split(".")[-1].startswith(("train", "unlearn", "prepare_base_model"))
    }
    assert trained and set(trained.values()) == {"gpu"}, placed
    assert "cpu" in set(placed.values())  # the CPU worker ran the rest (or part of it)


@pytest.mark.slow
def test_a_worker_killed_mid_node_is_rescheduled_and_the_run_completes(tmp_path, sequential):
    address, processes = _scheduler_and_workers(tmp_path, [["--name", "a"], ["--name", "b"]])
    killed: list[str] = []

    def kill_first_training() -> None:
        with distributed.Client(address) as client:
            end = time.monotonic() + 600
            while time.monotonic() < end and not killed:
                for worker, keys in client.processing().items():
                    if any("train-" in str(k) for k in keys):
                        pid = client.run(os.getpid, workers=[worker])[worker]
                        os.kill(pid, signal.SIGKILL)
                        killed.append(worker)
                        return
                time.sleep(0.05)

    watcher = threading.Thread(target=kill_first_training)
    watcher.start()
    try:
        root = _fresh(tmp_path)
        _run(root, DaskRunner(), dask={"scheduler": address})
    finally:
        watcher.join(5)
        _stop(processes)
    assert killed, "no training node was seen running"
    _same_tables(root, sequential)


def test_unknown_cluster_and_unreachable_scheduler_are_one_line():
    from path_unlearning.dask_runner import connect
    from path_unlearning.errors import ConfigError

    with pytest.raises(ConfigError, match="dask.cluster='kubernetes': use one of local, slurm"):
        connect({"cluster": "kubernetes"})
    with pytest.raises(ConfigError, match="does not answer"):
        connect({"scheduler": "tcp://127.0.0.1:9", "timeout": "2s"})


def test_a_worker_that_cannot_see_data_is_one_line(tmp_path):
    from path_unlearning.dask_runner import check_shared_storage

    with distributed.LocalCluster(n_workers=1, processes=False, dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as client:  # fmt: skip
        check_shared_storage(client, tmp_path)  # visible: no error
        with pytest.raises(RunError, match="cannot see .*must be on storage every worker mounts"):
            check_shared_storage(client, tmp_path / "not-mounted")
