"""A content-addressed store of finished trainings, so interrupted runs resume.

Each finished training (pretraining or one stage) is stored under its
fingerprint: a hash of everything that determines its result (parent
fingerprint, stage data, stage and optimiser config, seed). A rerun whose
fingerprint matches reuses the stored result; a change to any of those inputs
changes the fingerprint of that training and of every one after it, so a stale
checkpoint is never reused. Entries are written to a temporary folder and
renamed into place, so a kill leaves no half-written entry.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from path_unlearning.io.atomic import atomic_write

T = TypeVar("T")
LOG_FILE = "train_log.parquet"


class TrainingCache:
    """Finished trainings under ``root/<fingerprint>/`` (save_pretrained + log)."""

    def __init__(self, root: str | Path | None):
        self.root = Path(root) if root else None

    def load(self, key: str, loader: Callable[[str], T]) -> tuple[T, pd.DataFrame] | None:
        """The stored object and its training log, or ``None`` if absent or disabled."""
        if self.root is None or not (self.root / key / LOG_FILE).exists():
            return None
        folder = self.root / key
        return loader(str(folder)), pd.read_parquet(folder / LOG_FILE)

    def store(self, key: str, obj: Any, log: pd.DataFrame) -> None:
        """Save ``obj.save_pretrained`` output and the log atomically under ``key``."""
        if self.root is None:
            return

        def write(folder: Path) -> None:
            obj.save_pretrained(str(folder))
            log.to_parquet(folder / LOG_FILE)  # written last: its presence marks completion

        try:
            atomic_write(self.root / key, write, folder=True)
        except OSError:
            # Another run stored the same key first; identical by construction.
            if not (self.root / key / LOG_FILE).exists():
                raise
