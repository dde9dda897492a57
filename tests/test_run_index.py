"""The run index: one record per run, parameter changes, producing runs in the report."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from path_unlearning import run_index as ri
from path_unlearning.errors import ConfigError
from tests.conftest import PROJECT_ROOT
from tests.saved_state import copy_saved, kedro, micro_root, run_session


def test_flatten_and_changes() -> None:
    old = ri.flatten({"unlearn": {"lr": 1e-3, "hparams": {"npo": {"beta": 0.5}}}, "paths": ["A"]})
    assert old == {"unlearn.lr": 1e-3, "unlearn.hparams.npo.beta": 0.5, "paths": ["A"]}
    new = {**old, "unlearn.lr": 2e-3, "seeds": [0]}
    del new["paths"]
    assert ri.parameter_changes(old, new) == {
        "paths": {"old": ["A"], "new": ri.ABSENT},
        "seeds": {"old": ri.ABSENT, "new": [0]},
        "unlearn.lr": {"old": 1e-3, "new": 2e-3},
    }
    assert ri.parameter_changes(None, new) == {}
    assert ri.parameter_changes(old, dict(old)) == {}


def test_fingerprint_is_order_free_and_value_sensitive() -> None:
    a = ri.parameter_fingerprint({"x": 1, "y": {"z": [1, 2]}})
    assert a == ri.parameter_fingerprint({"y": {"z": [1, 2]}, "x": 1})
    assert a != ri.parameter_fingerprint({"x": 2, "y": {"z": [1, 2]}})


def test_append_is_whole_lines_and_sees_the_previous_records(tmp_path) -> None:
    path = tmp_path / "runs" / "run_index.jsonl"
    ri.append_record(path, lambda previous: {"run_id": "r1", "n": len(previous)})
    path.write_text(path.read_text() + "not json\n")  # a hand edit is skipped, not fatal
    ri.append_record(path, lambda previous: {"run_id": "r2", "n": len(previous)})
    assert [(r["run_id"], r["n"]) for r in ri.read_index(path)] == [("r1", 0), ("r2", 1)]
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".partial")]


def test_git_commit_outside_and_inside_a_checkout(tmp_path) -> None:
    assert ri.git_commit(tmp_path) is None
    if shutil.which("git") and (PROJECT_ROOT / ".git").exists():
        commit = ri.git_commit(PROJECT_ROOT)
        assert commit is not None and len(commit) == 40


def test_split_and_resolve_runs() -> None:
    assert ri.split_run_ids("a+b") == ri.split_run_ids("a;b") == ri.split_run_ids(["a", "b"])
    assert ri.split_run_ids(None) == []
    records = [
        {"run_id": "r1", "datasets": {"t": "r1"}},
        {"run_id": "r2", "datasets": {}},
        {"run_id": "r3", "datasets": {"t": "r3"}},
    ]
    assert [r["run_id"] for r in ri.resolve_runs(["previous", "latest"], records, "t")] == [
        "r1",
        "r3",
    ]
    with pytest.raises(ConfigError, match=r"unknown run 'r9': .*: r1, r3$"):
        ri.resolve_runs(["r9"], records, "t")
    with pytest.raises(ConfigError, match="run r2 wrote no t"):
        ri.resolve_runs(["r2"], records, "t")


def _latest(root: Path, relative: str) -> pd.DataFrame:
    folder = root / relative
    version = sorted(p.name for p in folder.iterdir())[-1]
    return pd.read_csv(folder / version / folder.name)


@pytest.mark.slow
def test_runs_are_indexed_and_the_report_names_producing_runs(
    tmp_path, tmp_path_factory, monkeypatch
):
    root = copy_saved(tmp_path_factory, tmp_path / "project")
    index = root / ri.RUN_INDEX
    [first] = ri.read_index(index)
    assert first["status"] == "completed" and first["pipelines"] == ["__default__"]
    assert first["parameters_changed"] == {} and first["parameters"]["paths"] == ["BCA"]
    assert first["datasets"]["s0.BCA.ga.unlearned"] == first["run_id"]
    assert first["datasets"]["report_table1_csv"] == first["run_id"]
    assert first["git_commit"] is None  # the copy is no git checkout
    assert first["started"] <= first["ended"]
    # the full run's own report names itself as the producing run
    versions = _latest(root, "data/08_reporting/input_versions.csv")
    assert set(versions["producing_run"]) == {first["run_id"]}
    assert set(versions["parameter_fingerprint"]) == {first["parameter_fingerprint"]}

    second_id = run_session(root, ["report"], report={"digits": 2})
    second = ri.read_index(index)[-1]
    assert second["run_id"] == second_id and second["pipelines"] == ["report"]
    assert second["runtime_params"] == {"report": {"digits": 2}}
    assert second["parameters_changed"] == {"report.digits": {"old": 3, "new": 2}}
    assert second["parameter_fingerprint"] != first["parameter_fingerprint"]
    assert set(second["datasets"]) == {
        n for n in first["datasets"] if n.startswith("report_")
    }  # a report run writes only the report
    versions = _latest(root, "data/08_reporting/input_versions.csv")
    assert set(versions["run_id"]) == {second_id}
    assert set(versions["producing_run"]) == {first["run_id"]}
    assert set(versions["parameter_fingerprint"]) == {first["parameter_fingerprint"]}

    # a run that fails after saving is recorded with its error and what it saved
    from path_unlearning.pipelines.report import nodes

    def broken(**kwargs):
        raise RuntimeError("the report\nbroke")

    monkeypatch.setattr(nodes, "write_report", broken)
    with pytest.raises(RuntimeError):
        run_session(root, ["report"])
    failed = ri.read_index(index)[-1]
    assert failed["status"] == "failed" and failed["error"] == "RuntimeError: the report broke"
    assert "report_table1_csv" in failed["datasets"] and "report_html" not in failed["datasets"]
    lines = index.read_text().splitlines()
    assert len(lines) == 3 and all(json.loads(line)["run_id"] for line in lines)


WARNING_LINE = re.compile(r"\w*Warning\b|^\s*(\[[^\]]*\]\s*)?WARNING\s")


@pytest.mark.slow
def test_default_kedro_run_prints_no_warnings_and_ends_with_the_report(tmp_path):
    """Two default ``kedro run``s (the second reuses the training cache): clean logs."""
    root = micro_root(tmp_path / "project")
    for attempt in ("first", "second"):
        done = kedro(root, "run", env={"COLUMNS": "200"})
        output = done.stdout + done.stderr
        assert done.returncode == 0, output[-3000:]
        warned = [line for line in output.splitlines() if WARNING_LINE.search(line)]
        assert not warned, f"{attempt} run: {warned}"
        last = [line for line in done.stdout.splitlines() if line.strip()][-1]
        assert "report: data/08_reporting/report.html" in last, last
    assert [r["status"] for r in ri.read_index(root / ri.RUN_INDEX)] == ["completed"] * 2
