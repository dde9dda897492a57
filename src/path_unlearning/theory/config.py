"""Configuration of the Section 3 simulation: sizes, hyper-parameters, compared paths.

Numeric ranges are declared on the fields of the pydantic model :class:`TheoryConfig`;
the cross-field conditions of the theorem (overparameterisation, ``m >= k``) are checked
after them. :func:`theory_section` builds the ``theory`` section (:class:`TheorySection`,
the config plus ``comparisons``); bad input raises a one-line
:class:`~path_unlearning.errors.ConfigError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field, field_validator, model_validator

from path_unlearning.errors import ConfigError, quoted
from path_unlearning.parameters import Count, Real, Section, build
from path_unlearning.paths import PathError, validate_path

STAGES: tuple[str, ...] = ("A", "B", "U")
FORGET_STAGE = "U"
SECTION = "theory"

#: The paper's Theorem 3.1: two ridge stages in both orders, ``U`` only unlearned.
DEFAULT_COMPARISONS: dict[str, tuple[str, str]] = {"theorem_3_1": ("AB", "BA")}


class TheoryConfig(Section):
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

    d: Count = Field(ge=2, description="Dimension; must exceed n_A + n_B + k.")
    n_A: Count = Field(ge=1, description="Rows of stage A.")
    n_B: Count = Field(ge=1, description="Rows of stage B.")
    k: Count = Field(ge=1, description="Rows of the forget set U (k <= d).")
    m: Count = Field(ge=1, description="Rows of the test set (m >= k).")
    mu_A: Real = Field(gt=0, description="Proximal ridge strength of stage A.")
    mu_B: Real = Field(gt=0, description="Proximal ridge strength of stage B.")
    eta: Real = Field(gt=0, description="Gradient-ascent step size.")
    steps: Count = Field(ge=0, le=10_000, description="Unlearning steps.")
    mu_U: Real = Field(1.0, gt=0, description="Ridge strength of U when a path trains it.")
    mu_iid: Real = Field(1.0, gt=0, description="Ridge strength of the i.i.d. control.")
    noise: Real = Field(0.1, ge=0, description="Standard deviation of the target noise.")
    mean_shift: Real = Field(1.0, ge=0, description="Scale of the per-distribution means.")
    epsilon: Real = Field(1e-2, gt=0, description="RE tolerance of Corollary 1.")
    rtol: Real = Field(1e-9, ge=0, le=0.1, description="Tolerance of distance >= bound.")
    seed: Count = Field(0, ge=0, description="Base seed of the instances.")
    n_instances: Count = Field(200, ge=1, le=100_000, description="Random instances.")

    @model_validator(mode="after")
    def _theorem_conditions(self) -> TheoryConfig:
        """The cross-field conditions of the theorem, after the ranges."""
        if self.k > self.d:
            raise ConfigError(f"{SECTION}: k={self.k} must be <= d={self.d}")
        if self.m < self.k:
            raise ConfigError(f"{SECTION}: m={self.m} must be >= k={self.k} (sigma_U > 0 needs it)")
        total = self.n_A + self.n_B + self.k
        if self.d <= total:
            raise ConfigError(
                f"{SECTION}: d={self.d} must exceed n_A + n_B + k = {total} (overparameterised)"
            )
        return self

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


class TheorySection(TheoryConfig):
    """The ``theory`` parameter section: the config and the compared paths."""

    comparisons: dict[str, Any] | None = Field(
        None, description="Name -> two distinct paths over A, B, U; null: Theorem 3.1's AB/BA."
    )

    @field_validator("comparisons", mode="before")
    @classmethod
    def _check_comparisons(cls, raw: Any) -> Any:
        parse_comparisons(raw)  # raises a one-line ConfigError
        return raw

    @property
    def pairs(self) -> dict[str, tuple[str, str]]:
        """The comparisons, validated: name -> ``(path_1, path_2)``."""
        return parse_comparisons(self.comparisons)


def theory_section(params: Mapping[str, Any] | TheorySection | None) -> TheorySection:
    """The ``theory`` section as a :class:`TheorySection`; bad input raises one line."""
    return build(TheorySection, params, SECTION)
