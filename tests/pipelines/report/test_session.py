"""`kedro run --pipelines=report` in a copy of the project, on synthetic saved inputs."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from path_unlearning import settings
from path_unlearning.hooks import LineageHook
from tests.report.project_copy import copy_project, kedro, latest, seed_report_inputs


@pytest.mark.slow
def test_kedro_run_report(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    (project / "conf" / "local" / "parameters.yml").write_text("seeds: [0, 1]\n")
    plan = seed_report_inputs(project)
    assert plan.seeds == (0, 1)
    done = kedro(project, "run", "--pipelines=report")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    reporting = "data/08_reporting"
    for name in ("report.html", "report.md", "table1.csv", "table1.parquet", "verdicts.csv",
                 "figure1_forget_curves.png", "figure1_forget_curves.json",
                 "figure3_forget_and_facts.png", "divergence.png", "divergence.json",
                 "input_versions.csv", "starting_points.csv", "position_effect.csv",
                 "starting_control.csv"):  # fmt: skip
        assert latest(project, f"{reporting}/{name}").stat().st_size > 0, name
    table1 = pd.read_csv(latest(project, f"{reporting}/table1.csv"))
    assert list(table1.columns[3:]) == list(plan.methods)
    versions = pd.read_csv(latest(project, f"{reporting}/input_versions.csv"))
    # evaluation_scores, path_divergence, divergence_fits, benchmark_scores,
    # relearning_curves and every trajectory
    assert len(versions) == 5 + len(plan.seeds) * len(plan.paths) * len(plan.methods)
    page = latest(project, f"{reporting}/report.html").read_text()
    assert page.count("data:image/png;base64,") == 3
    assert "unlearn:" in page and "path_dependence_metric" in page  # parameters written in
    assert "no replicate noise" not in page  # two replicates: path dependence is decided
    if any(isinstance(h, LineageHook) for h in settings.HOOKS):
        _check_recorded_versions(project, versions)
    else:
        assert set(versions["version"]) == {"not recorded"}


def _check_recorded_versions(project: Path, versions: pd.DataFrame) -> None:
    """Each recorded version is the newest version folder of that dataset's file."""
    assert "not recorded" not in set(versions["version"])
    for row in versions.itertuples():
        filepath = Path(row.filepath)
        filepath = filepath if filepath.is_absolute() else project / filepath
        assert row.version == sorted(p.name for p in filepath.iterdir())[-1], row.dataset


@pytest.mark.slow
def test_session_with_lineage_hook_records_versions(tmp_path: Path) -> None:
    """In-process session with ``LineageHook`` registered as settings.py will register it."""
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    project = copy_project(tmp_path / "project")
    (project / "conf" / "local" / "parameters.yml").write_text("method: ga\nseeds: [0]\n")
    seed_report_inputs(project, seeds=(0,))
    seed_report_inputs(project, seeds=(0, 1))  # a newer version of every input
    bootstrap_project(project)
    with KedroSession.create(project_path=project) as session:
        if not any(isinstance(h, LineageHook) for h in settings.HOOKS):
            session._hook_manager.register(LineageHook())
        session.run(pipeline_names=["report"])
        run_id = session.session_id
    versions = pd.read_csv(latest(project, "data/08_reporting/input_versions.csv"))
    assert len(versions) == 5 + 6  # evaluate and benchmark tables + 6 paths x ga
    _check_recorded_versions(project, versions)
    assert set(versions["run_id"]) == {run_id}
    assert (versions["rows"] > 0).all()
    page = latest(project, "data/08_reporting/report.html").read_text()
    assert f"run {run_id}" in page and versions["version"].iloc[0] in page
