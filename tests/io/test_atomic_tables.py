"""Atomic table saves: a failed save leaves no file that a later run would load."""

from __future__ import annotations

import pandas as pd
import pytest
from kedro.io.core import DatasetError, Version

from path_unlearning.io import AtomicCSVDataset, AtomicParquetDataset

FRAME = pd.DataFrame({"step": [0, 1], "loss": [1.5, 0.5]})


@pytest.mark.parametrize(
    ("cls", "name", "writer"),
    [
        (AtomicParquetDataset, "t.parquet", "to_parquet"),
        (AtomicCSVDataset, "t.csv", "to_csv"),
    ],
)
def test_round_trip_then_failed_save_keeps_previous_version(
    tmp_path, monkeypatch, cls, name, writer
):
    kwargs = {"save_args": {"index": False}} if cls is AtomicCSVDataset else {}
    first = cls(filepath=str(tmp_path / name), version=Version(None, "v1"), **kwargs)
    first.save(FRAME)
    assert cls(filepath=str(tmp_path / name), version=Version(None, None)).load().equals(FRAME)

    def half_written(self, path, *args, **kw):
        with open(path, "w") as handle:
            handle.write("trunc")
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, writer, half_written)
    second = cls(filepath=str(tmp_path / name), version=Version(None, "v2"), **kwargs)
    with pytest.raises(DatasetError, match="disk full"):
        second.save(FRAME)
    monkeypatch.undo()
    assert not (tmp_path / name / "v2" / name).exists()
    assert not [p for p in (tmp_path / name / "v2").iterdir()]  # no partial file left
    latest = cls(filepath=str(tmp_path / name), version=Version(None, None))
    assert latest.resolve_load_version() == "v1"
    assert latest.load().equals(FRAME)
