"""WorkerPoolRunner: parallel runs equal sequential ones bitwise; a dead worker is one line."""

from __future__ import annotations

import os
import signal
from multiprocessing.reduction import ForkingPickler
from pathlib import Path

import pandas as pd
import pytest
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
from kedro.runner import SequentialRunner

from path_unlearning.errors import RunError
from path_unlearning.pipelines import bind
from path_unlearning.runner import WorkerPoolRunner
from tests.saved_state import version_folders

MICRO_UNLEARN = {
    "unlearn": {"methods": ["ga", "npo"], "steps": 3, "batch_size": 8, "checkpoint_every": 2,
                "eval_subset": 4, "eval_batch_size": 8, "lora": {"r": 4, "lora_alpha": 8}},
    "evaluate": {"batch_size": 16, "math_max_new_tokens": 6},
    "finetune": {"cache_dir": None},
}  # fmt: skip
PIPELINES = ["data_prep", "staged_finetune", "unlearn", "evaluate"]


def test_bound_node_function_keeps_its_name_in_a_worker() -> None:
    """multiprocessing pickles a plain partial without its name: Kedro would warn."""
    bound = bind(pd.concat, axis=1)
    copied = ForkingPickler.loads(ForkingPickler.dumps(bound))
    assert copied.__name__ == "concat" and copied.keywords == {"axis": 1}
    assert copied([pd.Series([1]), pd.Series([2])]).shape == (1, 2)


def _run(root: Path, runner, **params) -> None:
    bootstrap_project(root)
    with KedroSession.create(project_path=root, runtime_params=params or None) as session:
        session.run(pipeline_names=PIPELINES, runner=runner)


def _latest(root: Path, relative: str) -> pd.DataFrame:
    folder = root / relative
    [version] = sorted(p.name for p in folder.iterdir())
    return pd.read_parquet(folder / version / folder.name)


@pytest.mark.slow
def test_parallel_run_equals_sequential_bitwise(micro_project, tmp_path):
    root = micro_project(MICRO_UNLEARN)
    _run(root, SequentialRunner())
    sequential = _latest(root, "data/07_model_output/evaluation_scores.parquet")
    parallel_root = tmp_path / "parallel"
    (root / "data").rename(tmp_path / "sequential_data")
    for layer in (tmp_path / "sequential_data").iterdir():
        (root / "data" / layer.name).mkdir(parents=True)

    _run(root, WorkerPoolRunner(max_workers=2))
    parallel = _latest(root, "data/07_model_output/evaluation_scores.parquet")
    pd.testing.assert_frame_equal(parallel, sequential, check_exact=True)
    # one run, one version per dataset, whatever the number of workers
    versions = version_folders(root / "data")
    assert versions and all(len(v) == 1 for v in versions.values())
    assert len({v[0] for v in versions.values()}) == 1
    assert not parallel_root.exists()


def _die_in_npo(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)


@pytest.mark.slow
def test_killed_worker_is_one_line_and_a_rerun_completes(micro_project, monkeypatch):
    root = micro_project(MICRO_UNLEARN)
    _run(root, SequentialRunner(), path="BCA", method="ga")  # data, trie and one method
    from path_unlearning.pipelines.unlearn import nodes

    real = nodes.unlearn

    def unlearn_or_die(model, forget, probes, config, *args, **kwargs):
        if config.method == "npo":
            _die_in_npo()
        return real(model, forget, probes, config, *args, **kwargs)

    monkeypatch.setattr(nodes, "unlearn", unlearn_or_die)
    with pytest.raises(RunError) as info:
        _run(root, WorkerPoolRunner(max_workers=2), path="BCA")
    message = str(info.value)
    assert "\n" not in message and "s0.BCA.unlearn_npo" in message
    npo = root / "data/07_model_output/trajectories/s0/BCA.npo.parquet"
    # nothing loadable: no version holds a trajectory file
    assert not npo.exists() or not list(npo.rglob("BCA.npo.parquet"))

    monkeypatch.setattr(nodes, "unlearn", real)
    _run(root, WorkerPoolRunner(max_workers=2), path="BCA")
    assert len(list(npo.rglob("BCA.npo.parquet"))) == 1
