"""The name of a version folder: the save_version (session id) of the run that wrote it.

Kedro names a version with ``kedro.io.core.generate_timestamp()``: its
``VERSION_FORMAT`` (``%Y-%m-%dT%H.%M.%S.%fZ``) cut to milliseconds, e.g.
``2026-12-03T11.00.00.000Z``. The pattern is written out here rather than
derived from ``VERSION_FORMAT`` because ``%f`` has six digits where Kedro keeps
three, and because the modules that use it (``live_runs``, the package's
warning filters) import no Kedro; ``tests/test_versions.py`` checks it against
Kedro's own names. A bottom-floor module: it imports nothing from the project.
"""

from __future__ import annotations

import re

VERSION_PATTERN = r"\d{4}-\d\d-\d\dT\d\d\.\d\d\.\d\d\.\d{3}Z"
_VERSION = re.compile(VERSION_PATTERN)


def is_version(name: str) -> bool:
    """Whether ``name`` is a version folder's name (a run's session id)."""
    return _VERSION.fullmatch(name) is not None
