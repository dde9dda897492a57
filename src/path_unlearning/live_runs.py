"""Runs in progress, so one run's start-up never removes another run's saves.

Each ``kedro run`` writes a marker ``data/09_runs/live/<run id>.json`` (its
process id, host and start time) before it saves anything and removes it when
it ends, completed, failed or interrupted. A marker whose process is gone is
the trace of a killed run (SIGKILL, power loss): ``dead_runs`` hands it to the
run index so that run gets a record too.

``remove_orphans`` tidies what killed saves leave behind, and only those:
a ``.partial`` temporary whose writing process is dead, and an empty version
folder whose run is not live. Every version folder is named by its run's id,
and every temporary names its writer (``io.atomic``), so both can be told from
a save in flight. No Kedro imports.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

from path_unlearning.io.atomic import PARTIAL_SUFFIX, host_name, process_alive, writer_alive
from path_unlearning.versions import is_version

LIVE = Path("09_runs/live")  # under data/


def mark_live(data: Path, run_id: str, details: dict[str, Any]) -> Path:
    """Write the run's marker (pid, host, start time and ``details``); returns its path."""
    path = data / LIVE / f"{run_id}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"run_id": run_id, "pid": os.getpid(), "host": host_name(), **details}
    tmp = path.with_name(f".{path.name}.w{os.getpid()}@{host_name()}{PARTIAL_SUFFIX}")
    tmp.write_text(json.dumps(record, default=str), encoding="utf-8")
    os.replace(tmp, path)
    return path


def unmark(data: Path, run_id: str) -> None:
    """Remove the run's marker (it has ended)."""
    (data / LIVE / f"{run_id}.json").unlink(missing_ok=True)


def _marker(path: Path) -> dict[str, Any] | None:
    with contextlib.suppress(OSError, ValueError):
        record = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(record, dict) and "pid" in record:
            return record
    return None


def _alive(record: dict[str, Any] | None) -> bool:
    if record is None:
        return False
    return process_alive(int(record["pid"]), str(record.get("host") or ""))


def is_live(data: Path, run_id: str) -> bool:
    """Whether run ``run_id`` has a marker and its process is still alive."""
    return _alive(_marker(data / LIVE / f"{run_id}.json"))


def live_runs(data: Path, but: str | None = None) -> list[str]:
    """The ids of live runs, except ``but`` (the asking run itself)."""
    folder = data / LIVE
    names = sorted(p.stem for p in folder.glob("*.json")) if folder.is_dir() else []
    return [name for name in names if name != but and is_live(data, name)]


def dead_runs(data: Path) -> list[dict[str, Any]]:
    """Markers of runs whose process died without ending the run, oldest first."""
    folder = data / LIVE
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.glob("*.json")):
        record = _marker(path)
        if record is not None and not _alive(record):
            found.append(record)
    return found


def remove_orphans(data: Path, run_id: str | None = None) -> list[Path]:
    """Delete the leftovers of killed saves; never anything a live run may still write.

    * a ``.partial`` file or folder whose writer is dead (a temporary of an
      older version, which does not name its writer, only when no other run
      is live);
    * an empty version folder whose run (its name) is not live.

    Neither is ever loaded (a version is found by its file), so this only tidies.

    Args:
        data: The project's ``data/`` folder.
        run_id: The run doing the clean-up (its own folders are not orphans).

    Returns:
        What was removed.
    """
    others_live = bool(live_runs(data, but=run_id))
    removed = []
    for path in sorted(data.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if path.name.startswith(".") and path.name.endswith(PARTIAL_SUFFIX):
            alive = writer_alive(path)
            if alive or (alive is None and others_live):
                continue
            shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(
                missing_ok=True
            )
            removed.append(path)
        elif (
            path.is_dir()
            and is_version(path.name)
            and path.name != run_id
            and not any(path.iterdir())
            and not is_live(data, path.name)
        ):
            with contextlib.suppress(OSError):  # a live run put a file in it meanwhile
                path.rmdir()
                removed.append(path)
    return removed
