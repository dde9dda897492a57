"""One way to turn a parameters mapping into a typed config.

Every parameter section that becomes a dataclass goes through :func:`from_params`:
unknown keys and out-of-range numbers raise a one-line :class:`ConfigError` that
names the key, the value and what is allowed, before any model is built. Ranges
are declared next to the field with :func:`bounded`, so the dataclass is the one
place that says what a setting may be.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import MISSING, field, fields
from typing import Any, TypeVar

from path_unlearning.errors import ConfigError, quoted

T = TypeVar("T")
RANGE = "range"


def bounded(
    default: Any = MISSING,
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = False,
    integer: bool = False,
    optional: bool = False,
) -> Any:
    """A dataclass field with an allowed range, checked by :func:`check_ranges`.

    Args:
        default: Default value (omit for a required field).
        low: Smallest allowed value (``None``: unbounded).
        high: Largest allowed value (``None``: unbounded).
        low_open: Exclude ``low`` itself (``lr > 0``).
        integer: The value must be an integer.
        optional: ``None`` is allowed too.
    """
    spec = {RANGE: (low, high, low_open, integer, optional)}
    if default is MISSING:
        return field(metadata=spec)
    return field(default=default, metadata=spec)


def _describe(low: Any, high: Any, low_open: bool, integer: bool) -> str:
    kind = "an integer" if integer else "a number"
    parts = []
    if low is not None:
        parts.append(f"{'>' if low_open else '>='} {low}")
    if high is not None:
        parts.append(f"<= {high}")
    return f"{kind} {' and '.join(parts)}".strip()


def check_ranges(config: Any, section: str) -> None:
    """Raise ``ConfigError`` for the first field of ``config`` outside its declared range."""
    for f in fields(config):
        if RANGE not in f.metadata:
            continue
        low, high, low_open, integer, optional = f.metadata[RANGE]
        value = getattr(config, f.name)
        if value is None and optional:
            continue
        is_number = isinstance(value, int | float) and not isinstance(value, bool)
        ok = is_number and math.isfinite(value) and (not integer or float(value).is_integer())
        if ok and low is not None:
            ok = value > low if low_open else value >= low
        if ok and high is not None:
            ok = value <= high
        if not ok:
            raise ConfigError(
                f"{section}.{f.name}={quoted(value)} is out of range: "
                f"expected {_describe(low, high, low_open, integer)}"
            )


def from_params(
    cls: type[T],
    params: Mapping[str, Any] | None,
    section: str,
    *,
    ignore: Iterable[str] = (),
    **overrides: Any,
) -> T:
    """Build ``cls`` from a parameter section; reject unknown keys and bad values.

    Args:
        cls: A dataclass.
        params: The parameter mapping (``None`` is an empty section).
        section: Its dotted name in the parameters, used in error messages.
        ignore: Keys allowed in the section but read elsewhere (e.g. ``lora``).
        **overrides: Values set by the caller (a derived seed), applied last.

    Returns:
        The config, with every declared range checked.
    """
    params = dict(params or {})
    allowed = {f.name for f in fields(cls) if f.init}
    unknown = sorted(set(params) - allowed - set(ignore))
    if unknown:
        raise ConfigError(
            f"{section}: unknown parameter {quoted(unknown[0])}; allowed: "
            f"{', '.join(sorted(allowed | set(ignore)))}"
        )
    values = {k: v for k, v in {**params, **overrides}.items() if k in allowed}
    required = [
        f.name
        for f in fields(cls)
        if f.init and f.default is MISSING and f.default_factory is MISSING
    ]
    missing = [name for name in required if name not in values]
    if missing:
        raise ConfigError(f"{section}: missing parameter {quoted(missing[0])}")
    config = cls(**values)
    check_ranges(config, section)
    return config
