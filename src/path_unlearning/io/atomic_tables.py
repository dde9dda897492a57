"""kedro-datasets' parquet and CSV datasets with atomic local saves.

The upstream classes write straight into the versioned path, so a killed run can
leave a truncated file that the next run loads as the latest version. These
write to a temporary file beside the target and rename it into place.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd
from kedro.io.core import get_filepath_str
from kedro_datasets.pandas import CSVDataset, ParquetDataset


def _atomic_local_save(dataset, write: Callable[[str], None]) -> None:
    target = Path(get_filepath_str(dataset._get_save_path(), dataset._protocol))
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    dataset._invalidate_cache()


class AtomicParquetDataset(ParquetDataset):
    """``pandas.ParquetDataset`` whose local saves are atomic."""

    def save(self, data: pd.DataFrame) -> None:
        if self._protocol != "file":
            return super().save(data)
        return _atomic_local_save(self, lambda path: data.to_parquet(path, **self._save_args))


class AtomicCSVDataset(CSVDataset):
    """``pandas.CSVDataset`` whose local saves are atomic."""

    def save(self, data: pd.DataFrame) -> None:
        if self._protocol != "file":
            return super().save(data)
        return _atomic_local_save(self, lambda path: data.to_csv(path, **self._save_args))
