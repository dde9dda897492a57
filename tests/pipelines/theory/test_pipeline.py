"""The theory nodes run directly, and the pipeline on an in-memory catalog."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
import yaml
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner
from matplotlib.figure import Figure

from path_unlearning.errors import ConfigError
from path_unlearning.pipelines.theory.nodes import (
    plot_theory_divergence,
    simulate_theory,
    summarise_theory,
    to_reporting,
)
from path_unlearning.pipelines.theory.pipeline import create_pipeline
from path_unlearning.theory.config import theory_section

CONF = Path(__file__).resolve().parents[3] / "conf" / "base"
OUTPUTS = (
    "theory_trajectories",
    "theory_instances",
    "theory_summary",
    "theory_instances_csv",
    "theory_summary_csv",
    "theory_divergence_plot",
)


def _yaml_params() -> dict:
    return yaml.safe_load((CONF / "parameters_theory.yml").read_text())["theory"]


@pytest.fixture
def params() -> dict:
    return {**_yaml_params(), "n_instances": 3, "steps": 70}


def test_default_parameters_are_the_paper_setting() -> None:
    raw = _yaml_params()
    config = theory_section(raw)
    assert config.n_instances >= 200
    assert list(raw["comparisons"].items())[0] == ("theorem_3_1", ["AB", "BA"])
    assert raw["comparisons"]["forget_trained_last"] == ["ABU", "BAU"]


def test_nodes_directly(params: dict) -> None:
    traj, inst = simulate_theory(params)
    assert len(traj) == 3 * 2 * 71 and len(inst) == 3 * 2 * 2
    summary = summarise_theory(inst)
    assert len(summary) == 4 and (summary["n_held"] == 3).all()
    assert to_reporting(summary) is summary
    assert isinstance(plot_theory_divergence(traj, inst), Figure)


def test_theory_pipeline_runs(params: dict) -> None:
    catalog = DataCatalog({"params:theory": MemoryDataset(params)})
    for name in OUTPUTS:
        catalog[name] = MemoryDataset(copy_mode="assign")
    outputs = SequentialRunner().run(create_pipeline(), catalog)
    # the parquet tables are intermediate (released after use); the CSV copies and the
    # figure are the pipeline's terminal outputs
    assert set(outputs) == {"theory_instances_csv", "theory_summary_csv", "theory_divergence_plot"}
    summary = outputs["theory_summary_csv"].load()
    instances = outputs["theory_instances_csv"].load()
    assert isinstance(summary, pd.DataFrame) and len(summary) == 4
    assert set(summary["bound"]) == {"rayleigh", "eigen"}
    assert (summary["n_held"] == summary["n_instances"]).all()
    assert len(instances) == params["n_instances"] * 4
    assert isinstance(outputs["theory_divergence_plot"].load(), Figure)


def test_create_pipeline_ignores_the_plan() -> None:
    names = [n.name for n in create_pipeline(plan=None).nodes]
    assert names == [n.name for n in create_pipeline(plan=object()).nodes]
    assert {n.name for n in create_pipeline().nodes} >= {"simulate_theory", "summarise_theory"}


def test_catalog_declares_outputs() -> None:
    entries = yaml.safe_load((CONF / "catalog_theory.yml").read_text())
    assert set(OUTPUTS) <= set(entries)
    assert entries["theory_divergence_plot"]["type"] == "matplotlib.MatplotlibDataset"
    assert all(entries[name]["versioned"] for name in OUTPUTS)
    for name in OUTPUTS[:3]:
        assert entries[name]["type"] == "path_unlearning.io.AtomicParquetDataset"
    for name in OUTPUTS[3:5]:
        assert entries[name]["type"] == "path_unlearning.io.AtomicCSVDataset"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"surprise": 1}, "theory: unknown parameter 'surprise'"),
        ({"eta": -0.5}, "theory.eta=-0.5 is out of range: expected a number > 0"),
        ({"n_instances": 0}, "theory.n_instances=0 is out of range"),
        ({"k": 100}, "theory: k=100 must be <= d=60"),
        ({"comparisons": {"x": ["ABU", "BXU"]}}, "theory.comparisons.x: invalid path 'BXU'"),
        ({"comparisons": {"x": ["ABU"]}}, "must list exactly two paths"),
    ],
)
def test_simulate_theory_rejects_bad_params(params: dict, override, message) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)) as info:
        simulate_theory({**params, **override})
    assert "\n" not in str(info.value)
