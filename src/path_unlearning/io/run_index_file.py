"""The run index's file: JSON lines, read whole, appended atomically under a lock.

``run_index`` (what a record says) and ``run_tables`` (the ``compare``
pipeline's dataset) both read the file through here. No Kedro imports.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from path_unlearning.io.atomic import atomic_write, exclusive_lock


def plain(value: Any) -> Any:
    """JSON round trip, so values compare as they are stored (tuples as lists...)."""
    return json.loads(json.dumps(value, default=str))


def read_index(path: Path) -> list[dict[str, Any]]:
    """Every record of the index, oldest first; a missing file is an empty index.

    A line that is not JSON (edited by hand) is skipped rather than failing a run.
    """
    if not path.is_file():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        with contextlib.suppress(json.JSONDecodeError):
            record = json.loads(line)
            if isinstance(record, dict) and record.get("run_id"):
                records.append(record)
    return records


def append_record(
    path: Path, build: Callable[[list[dict[str, Any]]], Mapping[str, Any]]
) -> dict[str, Any]:
    """Append ``build(existing records)``: the whole new file is written and renamed.

    The records are read under a lock on the index's folder, so the record can
    refer to the previous run (parameter changes) and two runs ending at once
    both land. A killed run leaves the previous index or the new one, never a
    half-written line.

    Returns:
        The record appended.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(path.parent):
        old = path.read_text(encoding="utf-8") if path.is_file() else ""
        if old and not old.endswith("\n"):
            old += "\n"
        record = plain(dict(build(read_index(path))))
        line = json.dumps(record, ensure_ascii=False)
        atomic_write(path, lambda tmp: tmp.write_text(old + line + "\n", encoding="utf-8"))
    return record
