"""Run the theory pipeline end to end on an in-memory catalog."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner
from matplotlib.figure import Figure

from path_unlearning.pipelines.theory.nodes import simulate_theory
from path_unlearning.pipelines.theory.pipeline import create_pipeline

CONF = Path(__file__).resolve().parents[3] / "conf" / "base"
OUTPUTS = (
    "theory_trajectories",
    "theory_summary",
    "theory_trajectories_csv",
    "theory_summary_csv",
    "theory_divergence_plot",
)


@pytest.fixture
def params() -> dict:
    loaded = yaml.safe_load((CONF / "parameters_theory.yml").read_text())["theory"]
    loaded.update(n_instances=3, steps=50)
    return loaded


def test_theory_pipeline_runs(params: dict) -> None:
    pipeline = create_pipeline()
    catalog = DataCatalog({"params:theory": MemoryDataset(params)})
    for name in OUTPUTS:
        catalog[name] = MemoryDataset(copy_mode="assign")
    outputs = SequentialRunner().run(pipeline, catalog)
    # the parquet tables are intermediate (released after use); the CSV copies are the
    # pipeline's terminal outputs and hold the same frames
    assert set(outputs) == {
        "theory_trajectories_csv", "theory_summary_csv", "theory_divergence_plot"
    }  # fmt: skip
    traj = outputs["theory_trajectories_csv"].load()
    summary = outputs["theory_summary_csv"].load()
    assert isinstance(traj, pd.DataFrame) and isinstance(summary, pd.DataFrame)
    assert len(traj) == params["n_instances"] * (params["steps"] + 1)
    assert {
        "instance", "step", "distance", "bound", "in_bound_regime", "dist_ref_1",
        "dist_ref_2", "control_distance", "lemma_rel_error", "path_1", "path_2", "seed",
    } <= set(traj.columns)  # fmt: skip
    assert len(summary) == params["n_instances"]
    assert {"t0", "t_star", "bound_held", "fitted_log_rate", "bound_log_rate"} <= set(
        summary.columns
    )
    assert summary["bound_held"].all()
    assert (summary["n_steps_checked"] > 0).all()
    regime = traj[traj["in_bound_regime"]]
    assert (regime["distance"] >= regime["bound"] * (1 - 1e-9)).all()
    assert isinstance(outputs["theory_divergence_plot"].load(), Figure)


def test_catalog_declares_outputs() -> None:
    entries = yaml.safe_load((CONF / "catalog_theory.yml").read_text())
    assert set(OUTPUTS) <= set(entries)
    assert entries["theory_divergence_plot"]["type"] == "matplotlib.MatplotlibDataset"
    assert all(entries[name]["versioned"] for name in OUTPUTS)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"paths": ["ABU", "BXU"]}, "unknown stage letter 'X'"),
        ({"paths": ["ABU"]}, "exactly two paths"),
        ({"k": 100}, "k=100 must be <= d=60"),
        ({"surprise": 1}, "unknown parameters"),
    ],
)
def test_simulate_theory_rejects_bad_params(params: dict, override, message) -> None:
    with pytest.raises(ValueError, match=message):
        simulate_theory({**params, **override})
