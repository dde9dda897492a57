"""compare: two runs' Table 1 and verdicts side by side, and their parameter differences."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from path_unlearning import run_index as ri
from path_unlearning.errors import ConfigError
from path_unlearning.io.run_tables import RunTables, RunTablesDataset
from path_unlearning.pipelines.compare.nodes import compare_runs
from tests.conftest import PROJECT_ROOT
from tests.saved_state import copy_saved, run_session


def test_side_by_side_matches_rows_on_keys() -> None:
    first = pd.DataFrame({"path": ["ABC", "BCA"], "ga": [0.1, 0.2]})
    second = pd.DataFrame({"path": ["BCA", "CAB"], "ga": [0.2, 0.5]})
    table = ri.side_by_side(first, second, ["path"], ("r1", "r2"))
    assert list(table.columns) == ["path", "ga [r1]", "ga [r2]", "same"]
    rows = table.set_index("path")
    assert rows.loc["BCA", "same"] and not rows.loc["ABC", "same"]
    assert pd.isna(rows.loc["CAB", "ga [r1]"]) and rows.loc["CAB", "ga [r2]"] == 0.5


def test_parameter_table_lists_only_differences() -> None:
    a = {"run_id": "r1", "parameters": {"unlearn.lr": 0.1, "paths": ["A"], "seed": 0}}
    b = {"run_id": "r2", "parameters": {"unlearn.lr": 0.2, "paths": ["A"], "method": "ga"}}
    table = ri.parameter_table(a, b).set_index("parameter")
    assert table.to_dict("index") == {
        "method": {"r1": ri.ABSENT, "r2": "ga"},
        "seed": {"r1": "0", "r2": ri.ABSENT},
        "unlearn.lr": {"r1": "0.1", "r2": "0.2"},
    }


def test_compare_needs_two_known_runs() -> None:
    archive = RunTables(records=[{"run_id": "r1", "datasets": {}}], configs={})
    with pytest.raises(ConfigError, match="compare needs two run ids, got 1"):
        compare_runs(archive, "r1", {})
    with pytest.raises(ConfigError, match="unknown run 'r7': .*none yet"):
        compare_runs(archive, "r7+r1", {})


def test_archive_tables_are_the_report_tables() -> None:
    """catalog_compare.yml repeats the report tables' entries: they must agree."""
    conf = PROJECT_ROOT / "conf" / "base"
    report = yaml.safe_load((conf / "catalog_report.yml").read_text())
    archive = yaml.safe_load((conf / "catalog_compare.yml").read_text())["run_archive"]
    for name, config in archive["tables"].items():
        assert config["filepath"] == report[name]["filepath"], name
        assert config["type"] == report[name]["type"], name
    dataset = RunTablesDataset(index="nowhere.jsonl", tables=archive["tables"])
    assert dataset.exists() and dataset.load().records == []


@pytest.mark.slow
def test_kedro_run_compare(tmp_path, tmp_path_factory) -> None:
    root = copy_saved(tmp_path_factory, tmp_path / "project")
    first = ri.read_index(root / ri.RUN_INDEX)[0]["run_id"]
    second = run_session(root, ["report"], report={"digits": 2})
    run_session(root, ["compare"], runs=f"{first}+{second}")

    def latest(name: str) -> pd.DataFrame:
        folder = Path(root, "data/08_reporting/compare", name)
        [version] = [p.name for p in folder.iterdir()]
        return pd.read_csv(folder / version / name)

    table1 = latest("table1.csv")
    assert list(table1.columns) == [
        "block", "position", "path", f"ga [{first}]", f"ga [{second}]", "same",
    ]  # fmt: skip
    # the same numbers, printed with 3 and then 2 digits: they differ by at most the
    # two roundings (0.0005 + 0.005), not by a recomputation
    gap = (table1[f"ga [{first}]"] - table1[f"ga [{second}]"]).abs()
    assert (gap <= 0.0055 + 1e-12).all() and (
        table1[f"ga [{second}]"].round(2) == table1[f"ga [{second}]"]
    ).all()
    verdicts = latest("verdicts.csv")
    assert {"verdict", "scope", f"detail [{first}]", f"detail [{second}]"} <= set(verdicts)
    assert verdicts["same"].all()  # digits change no verdict here
    parameters = latest("parameters.csv")
    assert parameters.to_dict("records") == [{"parameter": "report.digits", first: 3, second: 2}]
    runs = latest("runs.csv")
    assert runs["run_id"].tolist() == [first, second]
    # the aliases name the last two runs with a report
    run_session(root, ["compare"], runs="previous;latest")


@pytest.mark.parametrize("value", ["runs:r1+r2", "runs:r1;r2", "runs=r1+r2"])
def test_run_ids_survive_the_params_parser(value) -> None:
    """``--params`` splits on commas only, so ``+`` and ``;`` reach the node."""
    import click

    from path_unlearning.cli import run, split_params

    option = next(p for p in run.params if p.name == "params")
    parsed = split_params(click.Context(run), option, value)
    assert ri.split_run_ids(parsed["runs"]) == ["r1", "r2"]
