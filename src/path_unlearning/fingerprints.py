"""Fingerprints: short stable hashes of JSON-serialisable parts.

The training cache keys (``modeling``) and the run index's parameter
fingerprints (``run_index``) are both made here. A bottom-floor module: it
imports nothing from the project, so any layer may use it.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def fingerprint(*parts: Any) -> str:
    """A short stable hash of JSON-serialisable parts (config, parents, seeds)."""
    blob = json.dumps(parts, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]
