"""Versioned parquet and CSV tables on local disk, saved atomically.

kedro-datasets' pandas datasets write straight into the versioned path, so a
killed run can leave a truncated file that the next run loads as the latest
version. These write beside the target and rename into place (``io.atomic``).
They implement Kedro's dataset interface directly (no private attributes of
another dataset class) and offer ``preview`` for kedro-viz.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any, ClassVar, NewType

import pandas as pd
from kedro.io.core import AbstractVersionedDataset, DatasetError, Version

from path_unlearning.io.atomic import atomic_write, unreadable

# kedro-viz picks a preview renderer by the name of ``preview``'s return type.
TablePreview = NewType("TablePreview", dict)


class _AtomicTableDataset(AbstractVersionedDataset[pd.DataFrame, pd.DataFrame]):
    """A pandas table in one local file; subclasses say how to read and write it."""

    file_format: ClassVar[str] = ""

    def __init__(
        self,
        *,
        filepath: str,
        load_args: dict[str, Any] | None = None,
        save_args: dict[str, Any] | None = None,
        version: Version | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(filepath=PurePosixPath(filepath), version=version)
        self._load_args = dict(load_args or {})
        self._save_args = dict(save_args or {})
        self.metadata = metadata

    @property
    def filepath(self) -> str:
        """The configured path (without the version folders)."""
        return str(self._filepath)

    def _read(self, path: Path, **kwargs: Any) -> pd.DataFrame:
        raise NotImplementedError

    def _write(self, data: pd.DataFrame, path: Path) -> None:
        raise NotImplementedError

    def load(self) -> pd.DataFrame:
        path = Path(self._get_load_path().as_posix())
        if not path.is_file():
            raise DatasetError(f"no saved table at {path}")
        try:
            return self._read(path, **self._load_args)
        except (OSError, ValueError) as err:  # truncated or corrupt file
            raise DatasetError(unreadable(path, err)) from None

    def save(self, data: pd.DataFrame) -> None:
        target = Path(self._get_save_path().as_posix())
        atomic_write(target, lambda tmp: self._write(data, tmp))

    def preview(self, nrows: int = 40) -> TablePreview:
        """The first ``nrows`` rows in pandas' ``split`` layout, for kedro-viz."""
        return TablePreview(self.load().head(nrows).to_dict(orient="split"))

    def _exists(self) -> bool:
        try:
            path = self._get_load_path()
        except DatasetError:
            return False
        return Path(path.as_posix()).is_file()

    def _describe(self) -> dict[str, Any]:
        return {
            "filepath": str(self._filepath),
            "format": self.file_format,
            "version": self._version,
        }


class AtomicParquetDataset(_AtomicTableDataset):
    """A versioned parquet table whose saves are atomic."""

    file_format = "parquet"

    def _read(self, path: Path, **kwargs: Any) -> pd.DataFrame:
        return pd.read_parquet(path, **kwargs)

    def _write(self, data: pd.DataFrame, path: Path) -> None:
        data.to_parquet(path, **self._save_args)


class AtomicCSVDataset(_AtomicTableDataset):
    """A versioned CSV table whose saves are atomic."""

    file_format = "csv"

    def _read(self, path: Path, **kwargs: Any) -> pd.DataFrame:
        return pd.read_csv(path, **kwargs)

    def _write(self, data: pd.DataFrame, path: Path) -> None:
        data.to_csv(path, **self._save_args)
