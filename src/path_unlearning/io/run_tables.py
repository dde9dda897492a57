"""Read-only access to the tables of earlier runs, by run id (the ``compare`` pipeline).

Every versioned dataset's version is the session id of the run that wrote it, so
"Table 1 of run X" is version X of ``report_table1_csv``. Which run to read comes
from a parameter (``--params=runs:...``), which a dataset cannot see; this dataset
therefore loads a ``RunTables`` object, and the node asks it for the tables of the
runs it was given. Each table is built from its catalog configuration with
Kedro's ``AbstractDataset.from_config(..., load_version=run_id)``, i.e. a
``Version(load=run_id)``, exactly as ``--load-versions`` would.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from kedro.io.core import AbstractDataset, DatasetError

from path_unlearning.io.run_index_file import read_index


@dataclass(frozen=True)
class RunTables:
    """The run index and a way to load named tables at the version of a run."""

    records: list[dict[str, Any]]
    configs: dict[str, dict[str, Any]]  # dataset name -> its catalog configuration

    def load(self, name: str, run_id: str) -> pd.DataFrame:
        """Version ``run_id`` of the table ``name`` (a key of ``configs``)."""
        if name not in self.configs:
            raise DatasetError(f"{name} is not one of the tables: {', '.join(self.configs)}")
        config = {**self.configs[name], "versioned": True}
        return AbstractDataset.from_config(name, config, load_version=run_id).load()


class RunTablesDataset(AbstractDataset[None, RunTables]):
    """Loads a ``RunTables`` over the run index; saving is not supported.

    Example catalog entry::

        run_archive:
          type: path_unlearning.io.run_tables.RunTablesDataset
          index: data/09_runs/run_index.jsonl
          tables:
            report_table1_csv:
              type: path_unlearning.io.AtomicCSVDataset
              filepath: data/08_reporting/table1.csv
    """

    def __init__(
        self,
        *,
        index: str,
        tables: dict[str, dict[str, Any]],
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self._index = Path(index)
        self._tables = {name: dict(config) for name, config in tables.items()}
        self.metadata = metadata

    def load(self) -> RunTables:
        return RunTables(records=read_index(self._index), configs=self._tables)

    def save(self, data: None) -> None:
        raise DatasetError("run tables are read-only: they are the outputs of earlier runs")

    def _exists(self) -> bool:
        # An empty or missing index is valid: the node then says which runs exist.
        return True

    def _describe(self) -> dict[str, Any]:
        return {"index": str(self._index), "tables": sorted(self._tables)}
