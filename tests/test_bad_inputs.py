"""Bad inputs through the project's ``kedro run``: one line, exit code 1, data/ untouched.

Every case runs the project's CLI ``run`` command (click's CliRunner, in process;
two cases also through a real ``kedro run`` subprocess) in a micro copy of the
project: a fresh one for what fails before any data is needed, a copy of one
shared saved run for corrupt, missing and pinned files. Each case asserts a
non-zero exit, a last line that starts with ``Error:`` and holds the expected
words, no traceback, and no change under ``data/`` (names and modification times).

``docs/bad_inputs.md`` is generated from the same table:
``.venv/bin/python -m tests.test_bad_inputs`` rewrites it; a test checks it is current.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.saved_state import copy_saved, kedro, micro_root, snapshot

DOC = Path(__file__).resolve().parents[1] / "docs" / "bad_inputs.md"
MISSING = "2020-01-01T00.00.00.000Z"


# --- setups: change the project copy before the run (never under data/ for "fresh") --------


def _local(update: dict) -> Callable[[Path], None]:
    """Merge ``update`` into conf/local/parameters.yml."""

    def setup(root: Path) -> None:
        path = root / "conf" / "local" / "parameters.yml"
        params = yaml.safe_load(path.read_text()) or {}
        for key, value in update.items():
            if isinstance(value, dict) and isinstance(params.get(key), dict):
                params[key] = {**params[key], **value}
            else:
                params[key] = value
        path.write_text(yaml.safe_dump(params))

    return setup


def _latest(root: Path, relative: str) -> Path:
    """The newest version of a versioned dataset (its file or folder inside the version)."""
    folder = root / relative
    version = sorted(p.name for p in folder.iterdir())[-1]
    return folder / version / folder.name


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def truncate_parquet(root: Path) -> None:
    """Cut the newest evaluation_scores.parquet in half."""
    _truncate(_latest(root, "data/07_model_output/evaluation_scores.parquet"))


def truncate_safetensors(root: Path) -> None:
    """Cut the newest BCA adapter's adapter_model.safetensors in half."""
    _truncate(_latest(root, "data/06_models/adapters/s0/BCA") / "adapter_model.safetensors")


def delete_adapter(root: Path) -> None:
    """Delete every saved version of the BCA adapter."""
    shutil.rmtree(root / "data/06_models/adapters/s0/BCA")


def empty_forget_eval(root: Path) -> None:
    """Replace the newest forget evaluation set with a table without rows."""
    path = _latest(root, "data/05_model_input/forget_eval.parquet")
    pd.read_parquet(path).iloc[:0].to_parquet(path)


def empty_refusals(root: Path) -> None:
    """Replace the newest refusal stage data with a table without rows."""
    path = _latest(root, "data/03_primary/refusal_stage_data.parquet")
    pd.read_parquet(path).iloc[:0].to_parquet(path)


def newer_trajectory_only(root: Path) -> None:
    """A run killed between the two saves of s0.BCA.unlearn_ga: only the trajectory is new."""
    folder = root / "data/07_model_output/trajectories/s0/BCA.ga.parquet"
    old = sorted(folder.iterdir())[-1]
    shutil.copytree(old, folder / "2099-01-01T00.00.00.000Z")


def data_not_writable(root: Path) -> None:
    """data/ cannot be written: read-only for a user, a file instead of a folder for root."""
    data = root / "data"
    if os.geteuid() == 0:  # root ignores permission bits
        shutil.rmtree(data)
        data.write_text("not a folder\n")
    else:
        data.chmod(0o555)


def _restore(root: Path) -> None:
    data = root / "data"
    if data.is_dir():
        data.chmod(0o755)


@dataclass(frozen=True)
class Case:
    """One bad input: the ``kedro run`` arguments, a setup, the expected words."""

    id: str
    args: tuple[str, ...]
    expected: str
    what: str
    state: str = "fresh"  # fresh: no data needed; saved: a copy of the saved run
    setup: Callable[[Path], None] | None = field(default=None, compare=False)


P = "--pipelines=staged_finetune"
CASES = [
    # parameters (checked when the plan is resolved, before any compute)
    Case("negative-steps", (P, "--params=unlearn.steps:-1"), "unlearn.steps=-1 is out of range", "negative unlearning steps"),
    Case("lr-zero", (P, "--params=unlearn.lr:0"), "unlearn.lr=0 is out of range", "learning rate 0"),
    Case("finetune-lr-negative", (P, "--params=finetune.lr:-0.1"), "finetune.lr=-0.1 is out of range", "negative fine-tuning learning rate"),
    Case("batch-zero", (P, "--params=finetune.batch_size:0"), "finetune.batch_size=0 is out of range", "batch size 0"),
    Case("stage-epochs-zero", (P, "--params=stages.A.epochs:0"), "stages.A.epochs=0 is out of range", "a stage with 0 epochs"),
    Case("pretrain-batch-zero", (P, "--params=pretrain.batch_size:0"), "pretrain.batch_size=0 is out of range", "pretraining batch size 0"),
    Case("unknown-key", (P, "--params=unlearn.stepz:5"), "unknown", "a misspelt key (unlearn.stepz)"),
    Case("unknown-finetune-key", (P, "--params=finetune.learning_rate:0.1"), "unknown", "a misspelt key (finetune.learning_rate)"),
    Case("seeds-negative", (P,), "invalid seeds", "seeds: [-1]", setup=_local({"seeds": [-1]})),
    Case("seeds-repeated", (P,), "invalid seeds", "seeds: [0, 0]", setup=_local({"seeds": [0, 0]})),
    Case("seeds-empty", (P,), "invalid seeds", "seeds: []", setup=_local({"seeds": []})),
    Case("n-refusals-zero", (P, "--params=data_prep.n_refusals:0"), "data_prep.n_refusals=0 is out of range", "no refusals to generate"),
    Case("torch-threads-zero", (P, "--params=torch_threads:0"), "torch_threads=0", "torch_threads 0"),
    Case("cache-dir-etc", (P, "--params=finetune.cache_dir:/etc"), "must be a folder inside the project", "training cache in /etc"),
    Case("cache-dir-parent", (P, "--params=finetune.cache_dir:../x"), "must be a folder inside the project", "training cache in ../x"),
    Case("eval-batch-zero", (P, "--params=evaluate.batch_size:0"), "evaluate.batch_size=0 is out of range", "evaluation batch size 0"),
    Case("probe-subset-zero", (P, "--params=unlearn.eval_subset:0"), "unlearn.eval_subset=0 is out of range", "no probe examples"),
    Case("theory-k-above-d", ("--pipelines=theory", "--params=theory.k:100"), "theory: k=100 must be <= d=60", "theory: more forget rows than dimensions"),
    Case("theory-m-below-k", ("--pipelines=theory", "--params=theory.m:2"), "theory: m=2 must be >= k=5", "theory: fewer test rows than forget rows"),
    Case("theory-instances-zero", ("--pipelines=theory", "--params=theory.n_instances:0"), "n_instances=0", "theory: no instances"),
    Case("bad-path-digit", (P, "--params=path:B1A"), "invalid path 'B1A'", "a path with a digit"),
    Case("bad-path-dots", (P, "--params=path:../A"), "invalid path '../A'", "a path that climbs out"),
    Case("path-unknown-stage", (P, "--params=path:ABD"), "unknown stage(s) D", "a path with an unknown stage"),
    Case("path-without-forget-stage", (P, "--params=path:AB"), "never trains the forget stage", "a path that never trains the forget stage"),
    Case("unknown-method", ("--pipelines=unlearn", "--params=method:xyz"), "xyz", "an unknown unlearning method"),
    Case("hparam-misspelt", ("--pipelines=unlearn", "--params=method:npo,unlearn.hparams.npo.betta:1"), "unknown hyper-parameter(s) betta for 'npo'", "a misspelt NPO hyper-parameter"),
    Case("hparam-beta-zero", ("--pipelines=unlearn", "--params=method:npo,unlearn.hparams.npo.beta:0"), "beta must be > 0", "NPO beta 0"),
    Case("scheduler-unknown", ("--pipelines=unlearn", "--params=unlearn.scheduler:cosinee"), "unlearn.scheduler='cosinee': use one of", "a misspelt unlearning schedule"),
    Case("stage-optimizer-unknown", (P, "--params=stages.B.optimizer:adam"), "stages.B.optimizer='adam': use one of adamw, sgd", "an unknown stage optimiser"),
    Case("forget-stage-unknown", (P, "--params=forget_stage:Z"), "forget_stage 'Z' is not a configured stage", "forget stage Z"),
    # command-line flags
    Case("runner-unknown", (P, "--runner=nosuch.Runner"), "unknown runner 'nosuch.Runner'", "--runner=nosuch.Runner"),
    Case("env-unknown", ("--env=nosuchenv",), "unknown environment 'nosuchenv'", "--env=nosuchenv"),
    Case("params-no-separator", ("--params=path",), "is not key=value or key:value", "--params=path"),
    Case("pipeline-unknown", ("--pipelines=nosuch",), "unknown pipeline 'nosuch'", "--pipelines=nosuch"),
    Case("load-versions-unknown-dataset", (P, f"--load-versions=nosuch.adapter:{MISSING}"), "'load_versions' keys [nosuch.adapter] are not found in the catalog", "--load-versions for a dataset the run does not use"),
    Case("load-versions-bad-format", (P, "--load-versions=s0.B.adapter"), "Expected the form of 'load_versions'", "--load-versions without a version"),
    Case("pinned-version-missing", ("--pipelines=evaluate", f"--load-versions=s0.BCA.ga.unlearned:{MISSING}"), f"version {MISSING} of s0.BCA.ga.unlearned does not exist", "a pinned version that does not exist", "saved"),
    Case("compare-unknown-run", ("--pipelines=compare", "--params=runs:nosuch+latest"), "unknown run 'nosuch'", "compare with an unknown run id", "saved"),
    Case("compare-one-run", ("--pipelines=compare", "--params=runs:latest"), "compare needs two run ids", "compare with one run id", "saved"),
    # files: corrupt, missing, interrupted
    Case("truncated-parquet", ("--pipelines=report",), "evaluation_scores.parquet", "truncated evaluation_scores.parquet", "saved", truncate_parquet),
    Case("truncated-safetensors", ("--pipelines=unlearn",), "is unreadable (SafetensorError", "truncated adapter_model.safetensors of the BCA adapter", "saved", truncate_safetensors),
    Case("missing-input", ("--pipelines=evaluate",), "missing input(s) s0.BCA.adapter", "the BCA adapter deleted", "saved", delete_adapter),
    Case("mixed-runs", ("--pipelines=evaluate",), "outputs of node s0.BCA.unlearn_ga come from different runs", "a trajectory newer than its unlearned adapters (a run killed between saves)", "saved", newer_trajectory_only),
    # degenerate data
    Case("empty-forget-eval", ("--pipelines=unlearn",), "forget_eval has no rows", "a forget evaluation set without rows", "saved", empty_forget_eval),
    Case("empty-stage-data", (P,), "refusal_stage_data has no rows", "the refusal stage without rows", "saved", empty_refusals),
    # the filesystem
    Case("data-not-writable", (P,), "not writable", "data/ read-only (or a file)", setup=data_not_writable),
]  # fmt: skip


@pytest.fixture(scope="module")
def fresh_template(tmp_path_factory) -> Path:
    """A micro project without data, copied for each fresh case."""
    return micro_root(tmp_path_factory.mktemp("fresh") / "project")


def _project(case: Case, fresh_template: Path, tmp_path: Path, tmp_path_factory) -> Path:
    root = tmp_path / "project"
    if case.state == "saved":
        copy_saved(tmp_path_factory, root)
    else:
        shutil.copytree(fresh_template, root)
    if case.setup is not None:
        case.setup(root)
    return root


def invoke(root: Path, args: tuple[str, ...]):
    """The project's ``run`` command through click's CliRunner, in ``root``."""
    from click.testing import CliRunner
    from kedro.framework.startup import bootstrap_project

    from path_unlearning.cli import run

    bootstrap_project(root)
    with contextlib.chdir(root):
        return CliRunner().invoke(run, list(args))


def _check_one_line(output: str, expected: str) -> str:
    lines = output.strip().splitlines()
    assert lines, "no output"
    assert "Traceback" not in output, output[-3000:]
    assert lines[-1].startswith("Error: "), output[-3000:]
    assert expected in lines[-1], lines[-1]
    return lines[-1]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_line_and_changes_nothing(
    case: Case, fresh_template, tmp_path, tmp_path_factory
) -> None:
    root = _project(case, fresh_template, tmp_path, tmp_path_factory)
    before = snapshot(root)
    try:
        result = invoke(root, case.args)
    finally:
        _restore(root)
    # click handled the error (an unhandled exception would be result.exception itself)
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code != 0
    _check_one_line(result.output, case.expected)
    assert snapshot(root) == before


@pytest.mark.slow
@pytest.mark.parametrize("case_id", ["env-unknown", "pinned-version-missing"])
def test_bad_input_through_kedro_run_verbatim(case_id, fresh_template, tmp_path, tmp_path_factory):
    """The same one line from a real ``kedro run`` process."""
    case = next(c for c in CASES if c.id == case_id)
    root = _project(case, fresh_template, tmp_path, tmp_path_factory)
    before = snapshot(root)
    done = kedro(root, "run", *case.args)
    assert done.returncode != 0
    _check_one_line(done.stdout + done.stderr, case.expected)
    assert snapshot(root) == before


def render_doc() -> str:
    """docs/bad_inputs.md from the table above."""
    lines = [
        "# Bad inputs and their one-line errors",
        "",
        "Each row is a case of `tests/test_bad_inputs.py`: the project's `kedro run` with these",
        "arguments (in a micro copy of the project; *saved*: after a complete run) stops with",
        "exit code 1, a single line starting with `Error:` that contains the words shown, no",
        "traceback, and nothing changed under `data/`. Regenerate this page with",
        "`.venv/bin/python -m tests.test_bad_inputs`.",
        "",
        f"{len(CASES)} cases.",
        "",
        "| case | input | `kedro run` arguments | state | the error line contains |",
        "|---|---|---|---|---|",
    ]
    for case in CASES:
        args = " ".join(case.args).replace("|", "\\|")
        lines.append(
            f"| {case.id} | {case.what} | `{args}` | {case.state} | "
            f"`{case.expected.replace('|', chr(92) + '|')}` |"
        )
    return "\n".join(lines) + "\n"


def test_doc_lists_every_case() -> None:
    assert len(CASES) >= 30 and len({c.id for c in CASES}) == len(CASES)
    assert DOC.read_text() == render_doc(), "run .venv/bin/python -m tests.test_bad_inputs"


if __name__ == "__main__":
    DOC.write_text(render_doc())
    sys.stdout.write(f"wrote {DOC} ({len(CASES)} cases)\n")
