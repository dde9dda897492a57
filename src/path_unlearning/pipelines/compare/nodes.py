"""Nodes of compare: thin wrappers over ``path_unlearning.run_index``."""

from __future__ import annotations

from typing import Any

import pandas as pd

from path_unlearning import run_index as ri
from path_unlearning.errors import ConfigError
from path_unlearning.io.run_tables import RunTables

TABLE1 = "report_table1_csv"
VERDICTS = "report_verdicts"
USAGE = "kedro run --pipelines=compare --params=runs:<id1>+<id2>"


def compare_runs(
    archive: RunTables, runs: Any, params: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Table 1 and the verdicts of two runs side by side, and their parameter differences.

    Args:
        archive: The run index and the tables of earlier runs.
        runs: Two run ids (``"a+b"``, ``"a;b"`` or a list); ``latest`` and
            ``previous`` name the last two runs with a report.
        params: ``params:compare`` (``keys``: the key columns of each table).

    Returns:
        The runs, Table 1, the verdicts and the differing parameters.

    Raises:
        ConfigError: Not two runs, or a run that is unknown or wrote no report.
    """
    ids = ri.split_run_ids(runs)
    if len(ids) != 2:
        raise ConfigError(f"compare needs two run ids, got {len(ids)}: {USAGE}")
    first, second = ri.resolve_runs(ids, archive.records, needs=TABLE1)
    for record in (first, second):
        ri.resolve_runs([str(record["run_id"])], archive.records, needs=VERDICTS)
    labels = (str(first["run_id"]), str(second["run_id"]))
    keys = params.get("keys") or {}

    def both(name: str) -> pd.DataFrame:
        tables = [archive.load(name, run_id) for run_id in labels]
        return ri.side_by_side(*tables, keys.get(name) or [], labels)

    return (
        ri.runs_table([first, second]),
        both(TABLE1),
        both(VERDICTS),
        ri.parameter_table(first, second),
    )
