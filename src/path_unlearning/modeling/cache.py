"""A content-addressed store of finished trainings, so interrupted runs resume.

Each finished training (pretraining or one stage) is stored under its
fingerprint: a hash of everything that determines its result (parent
fingerprint, stage data, stage and optimiser config, seed). A rerun whose
fingerprint matches reuses the stored result; a change to any of those inputs
changes the fingerprint of that training and of every one after it, so a stale
checkpoint is never reused.

An entry is written to a temporary folder and renamed into place, with
``checksums.json`` (the sha256 of every other file) written last. A load checks
every file against it: an entry that is empty, truncated, garbled or without
checksums (an older version's) is reported in one line, moved to
``set_aside/<key>.<time>`` (never deleted) and trained again. A lock per key
makes the check, the set-aside and the store of one key one at a time, so two
runs training the same prefix at once may both train it but leave one whole
entry.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from path_unlearning.io.atomic import atomic_write, exclusive_lock

logger = logging.getLogger(__name__)

T = TypeVar("T")
LOG_FILE = "train_log.parquet"
CHECKSUMS = "checksums.json"
SET_ASIDE = "set_aside"


def file_sha256(path: Path) -> str:
    """The sha256 of a file's bytes, read in 1 MiB blocks (weights can be large)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.name != CHECKSUMS)


def write_checksums(folder: Path) -> None:
    """Write ``checksums.json``: each file's path relative to ``folder`` -> its sha256."""
    sums = {str(p.relative_to(folder)): file_sha256(p) for p in _files(folder)}
    (folder / CHECKSUMS).write_text(json.dumps(sums, indent=1, sort_keys=True))


def entry_fault(folder: Path) -> str | None:
    """What is wrong with a cache entry, or None if every file matches its checksum."""
    if not any(folder.iterdir()):
        return "empty"
    try:
        sums = json.loads((folder / CHECKSUMS).read_text())
    except FileNotFoundError:
        return f"without {CHECKSUMS} (incomplete, or written by an older version)"
    except (OSError, ValueError):
        sums = None
    if not isinstance(sums, dict) or LOG_FILE not in sums:
        return f"incomplete ({CHECKSUMS} is unreadable or does not list {LOG_FILE})"
    for name, expected in sorted(sums.items()):
        path = folder / name
        if not path.is_file():
            return f"truncated ({name} is missing)"
        if file_sha256(path) != expected:
            return f"garbled or truncated ({name} does not match its checksum)"
    return None


class TrainingCache:
    """Finished trainings under ``root/<fingerprint>/`` (save_pretrained, log, checksums)."""

    def __init__(self, root: str | Path | None):
        self.root = Path(root) if root else None

    def _lock(self, key: str) -> Any:
        return exclusive_lock(self.root / f".{key}.lock")

    def load(self, key: str, loader: Callable[[str], T]) -> tuple[T, pd.DataFrame] | None:
        """The stored object and its training log; ``None`` if absent, disabled or faulty."""
        if self.root is None:
            return None
        folder = self.root / key
        with self._lock(key):
            if not folder.is_dir():
                return None
            fault = entry_fault(folder)
            if fault is not None:
                self._set_aside(key, fault)
                return None
        return loader(str(folder)), pd.read_parquet(folder / LOG_FILE)

    def store(self, key: str, obj: Any, log: pd.DataFrame) -> None:
        """Save ``obj.save_pretrained`` output, the log and the checksums atomically.

        An entry another run stored first is kept (identical by construction);
        a faulty one is set aside and replaced.
        """
        if self.root is None:
            return

        def write(folder: Path) -> None:
            obj.save_pretrained(str(folder))
            log.to_parquet(folder / LOG_FILE)
            write_checksums(folder)  # last: an entry without it is incomplete

        with self._lock(key):
            target = self.root / key
            if target.is_dir():
                fault = entry_fault(target)
                if fault is None:
                    return
                self._set_aside(key, fault)
            atomic_write(target, write, folder=True)

    def _set_aside(self, key: str, fault: str) -> Path:
        """Move a faulty entry out of the way (kept for inspection) and say so in one line."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        moved = self.root / SET_ASIDE / f"{key}.{stamp}"
        moved.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.root / key, moved)
        logger.warning(
            "training cache entry %s is %s: set aside as %s; training it again", key, fault, moved
        )
        return moved
