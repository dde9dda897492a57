"""A run killed between the saves of a multi-output node.

Kedro saves a node's outputs one by one. Each case kills a run (``os._exit``, in
a forked process: no ``finally`` runs, as with SIGKILL) just before the rename
that would publish one output of a multi-output node, after the outputs before
it were saved. Then: the killed save is never loaded (its ``.partial`` folder
is no version), the next run removes the orphans, a run that reads the node's
outputs refuses to mix the two runs (``PreflightHook``'s check) unless nothing
of the killed run was published, and rerunning the producer completes.
"""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

import pytest

from path_unlearning.errors import ConfigError
from path_unlearning.io.atomic import PARTIAL_SUFFIX
from tests.saved_state import copy_saved, run_session

KILLED = 9


def _killed_run(root: Path, target: str, pipeline: str, params: dict) -> int:
    """Run ``pipeline`` in a forked child that dies when a save would publish ``target``."""

    def child() -> None:
        real = os.replace

        def replace(src, dst, *args, **kwargs):
            if target in str(dst):
                os._exit(KILLED)  # the temporary file or folder stays, as after a kill
            return real(src, dst, *args, **kwargs)

        os.replace = replace
        run_session(root, [pipeline], **params)
        os._exit(0)

    process = multiprocessing.get_context("fork").Process(target=child)
    process.start()
    process.join(300)
    return process.exitcode


def _partials(root: Path) -> list[Path]:
    return [p for p in (root / "data").rglob(f"*{PARTIAL_SUFFIX}")]


def _versions(root: Path, relative: str) -> list[str]:
    """Version folders of a dataset that hold its file (what Kedro can load)."""
    folder = root / relative
    return sorted(p.name for p in folder.iterdir() if (p / folder.name).exists())


# (killed node's pipeline and selector, the output whose save is killed, the saved
# outputs before it, a pipeline that reads the node's outputs, whether it must refuse)
KILLS = {
    "unlearn-second-save": (
        "unlearn", {"path": "BCA"},
        "data/06_models/unlearned/s0/BCA.ga", ["data/07_model_output/trajectories/s0/BCA.ga.parquet"],
        "evaluate", True,
    ),
    "unlearn-first-save": (
        "unlearn", {"path": "BCA"},
        "data/07_model_output/trajectories/s0/BCA.ga.parquet", [],
        "evaluate", False,
    ),
    "train-second-save": (
        "staged_finetune", {"path": "BCA"},
        "data/07_model_output/train_logs/s0/BCA.parquet", ["data/06_models/adapters/s0/BCA"],
        "unlearn", True,
    ),
    "data-prep-third-save": (
        "data_prep", {},
        "data/05_model_input/math_eval.parquet",
        ["data/03_primary/facts_stage_data.parquet", "data/03_primary/math_stage_data.parquet"],
        "staged_finetune", True,
    ),
}  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("case", list(KILLS))
def test_killed_between_saves(case, tmp_path, tmp_path_factory):
    pipeline, params, killed, saved_before, reader, refuses = KILLS[case]
    root = copy_saved(tmp_path_factory, tmp_path / "project")
    old = _versions(root, killed)

    assert _killed_run(root, killed, pipeline, params) == KILLED
    # the killed save left its temporary folder or file, and it is no version
    assert _partials(root)
    assert _versions(root, killed) == old
    for relative in saved_before:  # the outputs saved before the kill are new versions
        assert len(_versions(root, relative)) == len(_versions(root, killed)) + 1

    if refuses:
        with pytest.raises(ConfigError, match="come from different runs") as info:
            run_session(root, [reader], **params)
        assert "\n" not in str(info.value) and "--load-versions=" in str(info.value)
        assert not _partials(root)  # the refused run still removed the orphans
    else:  # nothing of the killed run was published: the reader uses the old outputs
        run_session(root, [reader], **params)
        assert not _partials(root)
    # rerunning the killed pipeline completes; then the reader runs
    run_session(root, [pipeline], **params)
    assert not _partials(root)
    assert len(_versions(root, killed)) == len(old) + 1
    run_session(root, [reader], **params)
