"""Configuration of the Section 3 simulation: sizes, hyper-parameters, compared paths.

Numeric ranges are declared on the fields with :func:`path_unlearning.config.bounded`;
the cross-field conditions of the theorem (overparameterisation, ``m >= k``) are checked
in ``__post_init__``. Both raise a one-line :class:`~path_unlearning.errors.ConfigError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from path_unlearning.config import RANGE, bounded, check_ranges
from path_unlearning.errors import ConfigError, quoted
from path_unlearning.paths import PathError, validate_path

STAGES: tuple[str, ...] = ("A", "B", "U")
FORGET_STAGE = "U"
SECTION = "theory"

#: The paper's Theorem 3.1: two ridge stages in both orders, ``U`` only unlearned.
DEFAULT_COMPARISONS: dict[str, tuple[str, str]] = {"theorem_3_1": ("AB", "BA")}


@dataclass(frozen=True)
class TheoryConfig:
    """Sizes and hyper-parameters of the simulated instances.

    Attributes:
        d: Dimension; must exceed ``n_A + n_B + k`` (overparameterised).
        n_A: Rows of stage ``A``.
        n_B: Rows of stage ``B``.
        k: Rows of the forget set ``U`` (``k <= d``, full row rank).
        m: Rows of the test set (``m >= k``).
        mu_A: Proximal ridge strength of stage ``A``.
        mu_B: Proximal ridge strength of stage ``B``.
        eta: Gradient-ascent step size.
        steps: Number of unlearning steps.
        mu_U: Proximal ridge strength of ``U`` when a path trains it.
        mu_iid: Ridge strength of the one-stage i.i.d. control.
        noise: Standard deviation of the target noise.
        mean_shift: Scale of the per-distribution mean vectors.
        epsilon: RE tolerance of Corollary 1.
        rtol: Relative tolerance when checking ``distance >= bound`` (float rounding).
        seed: Base seed; instance ``i`` uses ``SeedSequence(seed).spawn(n)[i]``.
        n_instances: Number of random instances.
    """

    d: int = bounded(low=2, integer=True)
    n_A: int = bounded(low=1, integer=True)
    n_B: int = bounded(low=1, integer=True)
    k: int = bounded(low=1, integer=True)
    m: int = bounded(low=1, integer=True)
    mu_A: float = bounded(low=0, low_open=True)
    mu_B: float = bounded(low=0, low_open=True)
    eta: float = bounded(low=0, low_open=True)
    steps: int = bounded(low=0, high=10_000, integer=True)
    mu_U: float = bounded(1.0, 0, low_open=True)
    mu_iid: float = bounded(1.0, 0, low_open=True)
    noise: float = bounded(0.1, 0)
    mean_shift: float = bounded(1.0, 0)
    epsilon: float = bounded(1e-2, 0, low_open=True)
    rtol: float = bounded(1e-9, 0, 0.1)
    seed: int = bounded(0, 0, integer=True)
    n_instances: int = bounded(200, 1, 100_000, integer=True)

    def __post_init__(self) -> None:
        # Ranges first, so the cross-field checks below compare numbers; YAML may give
        # ``60.0`` for an integer field, which is stored as ``60``.
        check_ranges(self, SECTION)
        for f in fields(self):
            if f.metadata.get(RANGE, (None,) * 4)[3]:
                object.__setattr__(self, f.name, int(getattr(self, f.name)))
        if self.k > self.d:
            raise ConfigError(f"{SECTION}: k={self.k} must be <= d={self.d}")
        if self.m < self.k:
            raise ConfigError(f"{SECTION}: m={self.m} must be >= k={self.k} (sigma_U > 0 needs it)")
        total = self.n_A + self.n_B + self.k
        if self.d <= total:
            raise ConfigError(
                f"{SECTION}: d={self.d} must exceed n_A + n_B + k = {total} (overparameterised)"
            )

    @property
    def mus(self) -> dict[str, float]:
        """Per-stage proximal ridge strengths."""
        return {"A": self.mu_A, "B": self.mu_B, "U": self.mu_U}

    @property
    def sizes(self) -> dict[str, int]:
        """Per-stage number of rows."""
        return {"A": self.n_A, "B": self.n_B, "U": self.k}


def check_path(path: object) -> str:
    """Validate a path over the theory's stages ``A``, ``B``, ``U``.

    Args:
        path: Candidate path, e.g. ``"ABU"``.

    Returns:
        The path, unchanged.

    Raises:
        PathError: One-line message from :func:`path_unlearning.paths.validate_path`.
    """
    return validate_path(path, STAGES)


def retrain_path(path: str) -> str:
    """The path without the forget stage; a path that never trains ``U`` is its own."""
    return check_path(path).replace(FORGET_STAGE, "")


def parse_comparisons(raw: Mapping[str, Any] | None) -> dict[str, tuple[str, str]]:
    """Validate the ``comparisons`` parameter: name -> two distinct paths.

    Args:
        raw: Mapping from a comparison name to a list of two path strings; ``None``
            means :data:`DEFAULT_COMPARISONS`.

    Returns:
        Name -> ``(path_1, path_2)``, in the given order.

    Raises:
        ConfigError: Not a non-empty mapping, not two paths, identical or invalid paths.
    """
    if raw is None:
        return dict(DEFAULT_COMPARISONS)
    if not isinstance(raw, Mapping) or not raw:
        raise ConfigError(
            f"{SECTION}.comparisons must map names to two paths, e.g. "
            f"{{theorem_3_1: [AB, BA]}}, got {quoted(raw)}"
        )
    out: dict[str, tuple[str, str]] = {}
    for name, pair in raw.items():
        where = f"{SECTION}.comparisons.{name}"
        if isinstance(pair, str) or not isinstance(pair, list | tuple) or len(pair) != 2:
            raise ConfigError(f"{where} must list exactly two paths, got {quoted(pair)}")
        try:
            path_1, path_2 = (check_path(p) for p in pair)
        except PathError as err:
            raise ConfigError(f"{where}: {err}") from None
        if path_1 == path_2:
            raise ConfigError(f"{where}: the two paths must differ, got {quoted(path_1)} twice")
        out[str(name)] = (path_1, path_2)
    return out
