"""Run the report pipeline on synthetic tables with SequentialRunner (Kedro 1.7)."""

from __future__ import annotations

import base64
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
import yaml
from kedro.framework.hooks.manager import _create_hook_manager
from kedro.io import DataCatalog, MemoryDataset, Version
from kedro.runner import SequentialRunner
from kedro_datasets.pandas import ParquetDataset
from plotly import graph_objects as go

from path_unlearning.hooks import LINEAGE_INPUT, LineageHook
from path_unlearning.pipelines.report.pipeline import create_pipeline, trajectory_names
from path_unlearning.plan import ExperimentPlan
from tests.report import synthetic as syn

ROOT = Path(__file__).resolve().parents[3]
CONF = ROOT / "conf" / "base"
PLAN = ExperimentPlan(
    stage_datasets={"A": "facts", "B": "math", "C": "refusal"},
    forget_stage="C",
    paths=syn.PATHS,
    methods=("ga", "npo"),
    seeds=(0, 1),
)
ONE_SEED = replace(PLAN, seeds=(0,))
FILE_OUTPUTS = {
    "report_trajectories": "trajectories.parquet",
    "report_input_versions": "input_versions.csv",
    "report_table1": "table1.parquet",
    "report_table1_csv": "table1.csv",
    "report_figure1": "figure1_forget_curves.png",
    "report_figure1_plotly": "figure1_forget_curves.json",
    "report_figure3": "figure3_forget_and_facts.png",
    "report_figure3_plotly": "figure3_forget_and_facts.json",
    "report_divergence": "divergence.png",
    "report_divergence_plotly": "divergence.json",
    "report_verdicts": "verdicts.csv",
    "report_recency_cells": "recency_cells.csv",
    "report_position_effect": "position_effect.csv",
    "report_path_dependence": "path_dependence.csv",
    "report_starting_control": "starting_control.csv",
    "report_starting_points": "starting_points.csv",
    "report_benchmark": "benchmark_by_path.csv",
    "report_benchmark_verdicts": "benchmark_verdicts.csv",
    "report_benchmark_dependence": "benchmark_path_dependence.csv",
    "report_html": "report.html",
    "report_markdown": "report.md",
}


def _report_config(tmp_path: Path) -> dict:
    entries = yaml.safe_load((CONF / "catalog_report.yml").read_text())
    entries = {k: v for k, v in entries.items() if not k.startswith("_")}
    for entry in entries.values():
        if "filepath" in entry:
            entry["filepath"] = str(tmp_path / entry["filepath"])
    return entries


def _parameters() -> dict:
    params = yaml.safe_load((CONF / "parameters_report.yml").read_text())
    return {"seed": 0, "paths": list(syn.PATHS), "forget_stage": "C", **params}


def _catalog(tmp_path: Path, inputs: dict[str, pd.DataFrame]) -> DataCatalog:
    catalog = DataCatalog.from_config(_report_config(tmp_path))
    for name, table in inputs.items():
        catalog[name] = MemoryDataset(table)
    parameters = _parameters()
    catalog["parameters"] = MemoryDataset(parameters)
    catalog["params:report"] = MemoryDataset(parameters["report"])
    catalog["tokenizer"] = MemoryDataset(syn.tokenizer(), copy_mode="assign")
    return catalog


def _inputs(seeds=(0, 1)) -> dict[str, pd.DataFrame]:
    trajs = syn.trajectories(seeds=seeds, start_noise=2.0)
    return {
        **trajs,
        "evaluation_scores": syn.evaluation_scores(trajs),
        "path_divergence": syn.path_divergence(seeds=seeds),
        "divergence_fits": syn.divergence_fits(),
        "benchmark_scores": syn.benchmark_scores(seeds=seeds),
        "relearning_curves": syn.relearning_curves(seeds=seeds),
    }


def _latest(tmp_path: Path, name: str) -> Path:
    versions = sorted((tmp_path / "data" / "08_reporting" / name).iterdir())
    return versions[-1] / name


def test_pipeline_shape_follows_the_plan() -> None:
    pipe = create_pipeline(plan=PLAN)
    gather = next(n for n in pipe.nodes if n.name == "gather_report_inputs")
    expected = trajectory_names(PLAN)
    assert len(expected) == 24 and "s1.BCA.npo.trajectory" in expected
    assert set(expected) == set(syn.trajectories())  # the names unlearn writes
    assert gather.inputs == [LINEAGE_INPUT, "evaluation_scores", "path_divergence",
                             "divergence_fits", "benchmark_scores", "relearning_curves",
                             *expected]  # fmt: skip
    assert pipe.inputs() == {
        LINEAGE_INPUT,
        "evaluation_scores",
        "path_divergence",
        "divergence_fits",
        "benchmark_scores",
        "relearning_curves",
        "parameters",
        "params:report",
        "tokenizer",  # its vocabulary size sets the regime's uniform level
        *expected,
    }
    assert set(FILE_OUTPUTS) <= pipe.all_outputs()
    assert {"report"} == {t for n in pipe.nodes for t in n.tags}
    one = create_pipeline(plan=ExperimentPlan(PLAN.stage_datasets, "C", ("BCA",), ("npo",)))
    assert "s0.BCA.npo.trajectory" in one.inputs() and "s0.ABC.ga.trajectory" not in one.inputs()


def test_catalog_declares_versioned_outputs() -> None:
    entries = yaml.safe_load((CONF / "catalog_report.yml").read_text())
    for name, filename in FILE_OUTPUTS.items():
        assert entries[name]["versioned"] is True, name
        assert entries[name]["filepath"] == f"data/08_reporting/{filename}"
    assert entries["report_figure1"]["type"] == "matplotlib.MatplotlibDataset"
    assert entries["report_figure1_plotly"]["type"] == "plotly.JSONDataset"
    assert entries["report_table1_csv"]["type"] == "path_unlearning.io.AtomicCSVDataset"
    assert LINEAGE_INPUT in entries  # filled by the lineage hook (owned by hooks.py)


def test_report_pipeline_writes_files(tmp_path: Path) -> None:
    catalog = _catalog(tmp_path, _inputs())
    SequentialRunner().run(create_pipeline(plan=PLAN), catalog)
    for name, filename in FILE_OUTPUTS.items():
        assert _latest(tmp_path, filename).stat().st_size > 0, name
    png = _latest(tmp_path, "figure1_forget_curves.png").read_bytes()
    assert png[:4] == b"\x89PNG"
    fig = catalog.load("report_figure1_plotly")
    assert isinstance(fig, go.Figure) and len(fig.data) == 24  # 12 lines + 12 bands
    table1 = pd.read_csv(_latest(tmp_path, "table1.csv"))
    assert list(table1.columns) == ["block", "position", "path", "ga", "npo"]
    assert len(table1) == 6 * 3  # paths x blocks (forget score, facts, math)
    assert list(table1["block"].unique()) == ["Forget score ↑", "Facts utility ↑",
                                              "Math utility ↑"]  # fmt: skip
    assert list(table1["position"][:6]) == [1, 1, 2, 2, 3, 3]
    assert table1["ga"].str.contains(" ± ").all()
    numeric = pd.read_parquet(_latest(tmp_path, "table1.parquet"))
    assert len(numeric) == 6 * 5 * 2 and (numeric["n_seeds"] == 2).all()
    verdicts = pd.read_csv(_latest(tmp_path, "verdicts.csv"))
    headline = verdicts[verdicts["scope"] == "all"].set_index("verdict")
    assert list(headline.index) == ["recency", "position_effect", "path_dependence",
                                    "starting_point", "divergence_growth"]  # fmt: skip
    assert "in 4 of 4 method x replicate cells" in headline.loc["recency", "detail"]
    assert "permuted jointly within each of 2 replicates" in headline.loc["recency", "detail"]
    position = pd.read_csv(_latest(tmp_path, "position_effect.csv")).set_index("scope")
    # 4 cells of 6 paths, all perfectly ordered. Labels are permuted once per replicate
    # (both methods share it): 720**2 arrangements -> 9999 draws. 8 of 720 per replicate
    # keep every position, so (8/720)**2 = 1.2e-4 of draws tie: golden p = 3/10000 at seed 0.
    assert position.loc["all", "rho"] < -0.9
    assert position.loc["all", "p_value"] == pytest.approx(3 / 10000)
    control = pd.read_csv(_latest(tmp_path, "starting_control.csv"))
    assert (control["p_position"] < 0.05).all() and (control["coef_position"] < 0).all()
    starts = pd.read_csv(_latest(tmp_path, "starting_points.csv"))
    assert list(starts.columns) == ["position", "path", "n_runs", "forget_label_ll_before",
                                    "facts_ll_before", "math_acc_before",
                                    "forget_label_ll_start"]  # fmt: skip
    page = _latest(tmp_path, "report.html").read_text()
    assert page.count('src="data:image/png;base64,') == 3
    assert "Table 1" in page and "path_dependence_metric" in page and "not recorded" in page
    md = _latest(tmp_path, "report.md").read_text()
    assert md.count("](data:image/png;base64,") == 3 and "## Parameters" in md
    # The summary comes first, then the figures, then Table 1, then the benchmark section.
    assert md.index("## Summary") < md.index("## Figure 1") < md.index("## Table 1")
    assert md.index("## Table 1") < md.index("## Benchmark metrics by path")
    assert md.index("## Benchmark metrics by path") < md.index("## Verdicts in detail")
    assert "<h2>Benchmark metrics by path</h2>" in page
    bench = pd.read_csv(_latest(tmp_path, "benchmark_by_path.csv"))
    assert list(bench.columns) == ["position", "path", "metric", "n_seeds", "ga", "npo"]
    bench_verdicts = pd.read_csv(_latest(tmp_path, "benchmark_verdicts.csv"))
    assert {
        "path_dependence",
        "relearn_recency",
        "relearn_position",
        "relearn_matched_recency",
        "relearn_matched_position",
    } == set(bench_verdicts["verdict"])
    trajs = pd.read_parquet(_latest(tmp_path, "trajectories.parquet"))
    assert len(trajs) == 12 * 2 * 6  # path x method, seeds, steps


def test_one_seed_runs_without_bands(tmp_path: Path) -> None:
    catalog = _catalog(tmp_path, _inputs(seeds=(0,)))
    SequentialRunner().run(create_pipeline(plan=ONE_SEED), catalog)
    fig = catalog.load("report_figure1_plotly")
    assert not [t for t in fig.data if t.fill == "toself"]
    md = _latest(tmp_path, "report.md").read_text()
    assert "one replicate, no replicate noise to compare with" in md


@pytest.mark.filterwarnings("ignore:Save version")  # the older version saved on purpose
def test_lineage_hook_records_input_versions(tmp_path: Path) -> None:
    """With the hook, the report names the versions that were loaded."""
    inputs = _inputs(seeds=(0,))
    catalog = _catalog(tmp_path, {})
    version = "2026-01-02T03.04.05.678Z"
    for name, table in inputs.items():
        dataset = ParquetDataset(filepath=str(tmp_path / "in" / f"{name}.parquet"),
                                 version=None)  # fmt: skip
        if name == "evaluation_scores":  # one versioned input, saved under a known version
            where = str(tmp_path / "in" / "scores.parquet")
            ParquetDataset(filepath=where, version=Version(None, version)).save(table)
            ParquetDataset(filepath=where, version=Version(None, "2025-01-01T00.00.00.000Z")).save(
                table.iloc[0:0]
            )  # an older version: "latest" must pick the first one
            dataset = ParquetDataset(filepath=where, version=Version(None, None))
        else:
            dataset.save(table)
        catalog[name] = dataset
    hooks = _create_hook_manager()
    hooks.register(LineageHook())
    SequentialRunner().run(
        create_pipeline(plan=ONE_SEED), catalog, hook_manager=hooks, run_id="r-7"
    )
    table = pd.read_csv(_latest(tmp_path, "input_versions.csv"))
    row = table.set_index("dataset").loc["evaluation_scores"]
    assert row["version"] == version and row["run_id"] == "r-7"
    assert table.set_index("dataset").loc["s0.BCA.ga.trajectory", "version"] == "unversioned"
    page = _latest(tmp_path, "report.html").read_text()
    assert version in page and "run r-7" in page


def test_lineage_hook_ignores_other_nodes() -> None:
    from kedro.pipeline import Node

    node = Node(lambda x: x, "a", "b", name="other")
    assert LineageHook().before_node_run(node, DataCatalog(), {"a": 1}, False, "r") is None


def test_html_figures_decode(tmp_path: Path) -> None:
    catalog = _catalog(tmp_path, _inputs(seeds=(0,)))
    SequentialRunner().run(create_pipeline(plan=ONE_SEED), catalog)
    page = _latest(tmp_path, "report.html").read_text()
    marker = 'src="data:image/png;base64,'
    start = page.index(marker) + len(marker)
    assert base64.b64decode(page[start : page.index('"', start)])[:4] == b"\x89PNG"
