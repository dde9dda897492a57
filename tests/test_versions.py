"""The version-folder name, written once in ``versions.py``, is the one Kedro writes."""

from __future__ import annotations

import re

from kedro.io.core import VERSION_FORMAT, generate_timestamp

from path_unlearning.versions import VERSION_PATTERN, is_version


def test_pattern_is_kedros_version_format_cut_to_milliseconds() -> None:
    directives = {"%Y": r"\d{4}", "%m": r"\d\d", "%d": r"\d\d", "%H": r"\d\d", "%M": r"\d\d",
                  "%S": r"\d\d", "%f": r"\d{3}"}  # fmt: skip
    literal = VERSION_FORMAT.replace(".", r"\.")  # "-", "T" and "Z" stand for themselves
    derived = re.sub(r"%[A-Za-z]", lambda m: directives[m.group()], literal)
    assert derived == VERSION_PATTERN


def test_kedros_own_names_match() -> None:
    assert is_version(generate_timestamp())
    assert is_version("2026-12-03T11.00.00.000Z")


def test_other_names_do_not() -> None:
    for name in ("2026-12-03T11.00.00.000000Z", "2026-12-03T11.00.00.000Z.partial", "latest",
                 "x2026-12-03T11.00.00.000Z", "2026-12-03T11:00:00.000Z"):  # fmt: skip
        assert not is_version(name)
