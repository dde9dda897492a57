"""The project's ``kedro run``: ``--params=key:value`` and one-line configuration errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from kedro.framework.startup import bootstrap_project

from path_unlearning.cli import cli, run, split_params


def _params_option() -> click.Option:
    return next(p for p in run.params if p.name == "params")


def _split(value: str):
    ctx = click.Context(run)
    return split_params(ctx, _params_option(), value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("path:BCA", {"path": "BCA"}),
        ("path=BCA", {"path": "BCA"}),
        ("path:BCA,method:npo", {"path": "BCA", "method": "npo"}),
        ("path=BCA,method:npo", {"path": "BCA", "method": "npo"}),
        ("url=http://x", {"url": "http://x"}),
        ("url:http://x", {"url": "http://x"}),
        ("unlearn.steps:5", {"unlearn": {"steps": 5}}),
        ("", {}),
    ],
)
def test_split_params_accepts_colon_and_equals(value, expected) -> None:
    assert _split(value) == expected


def test_split_params_rejects_items_without_a_separator() -> None:
    with pytest.raises(click.UsageError, match="is not key=value or key:value"):
        _split("path")


def test_only_the_project_run_command_changes() -> None:
    from kedro.framework.cli.project import run as kedro_run

    assert "run" in cli.commands
    assert _params_option().callback is split_params
    kedro_option = next(p for p in kedro_run.params if p.name == "params")
    assert kedro_option.callback is not split_params
    assert {p.name for p in run.params} == {p.name for p in kedro_run.params}


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ("path:B1A", "invalid path 'B1A'"),
        ("path=bca", "invalid path 'bca'"),
        ("path:ABD", "unknown stage(s) D"),
        ("path:AB", "never trains the forget stage"),
    ],
)
def test_bad_path_is_a_one_line_error_with_exit_code_1(micro_project, params, fragment):
    bootstrap_project(micro_project())
    result = CliRunner().invoke(run, ["--pipelines=staged_finetune", f"--params={params}"])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert lines[-1].startswith("Error: ") and fragment in lines[-1]
    assert "Traceback" not in result.output


@pytest.mark.slow
def test_kedro_run_verbatim_with_a_bad_path(micro_project):
    root = micro_project()
    kedro = Path(sys.executable).with_name("kedro")
    proc = subprocess.run(
        [str(kedro), "run", "--pipelines=staged_finetune", "--params=path:B1A"],
        check=False, cwd=root, capture_output=True, text=True, timeout=120,
        env={**os.environ, "DO_NOT_TRACK": "1", "KEDRO_DISABLE_TELEMETRY": "1"},
    )  # fmt: skip
    assert proc.returncode != 0
    assert "Traceback" not in proc.stdout + proc.stderr
    errors = [line for line in proc.stderr.splitlines() if "B1A" in line]
    assert len(errors) == 1 and errors[0].startswith("Error: invalid path 'B1A'")


@pytest.mark.slow
def test_good_run_through_the_cli_command(micro_project):
    root = micro_project({"paths": ["ABC"]})
    bootstrap_project(root)
    result = CliRunner().invoke(run, ["--pipelines=data_prep,staged_finetune", "--params=path:CAB"])
    assert result.exit_code == 0, result.output
    adapters = root / "data" / "06_models" / "adapters" / "s0"
    # CAB trains C, CA, CAB; its retrain reference AB trains A, AB
    assert sorted(p.name for p in adapters.iterdir()) == ["A", "AB", "C", "CA", "CAB"]
