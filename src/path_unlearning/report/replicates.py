"""Tests that count replicates, not cells that share a model.

Every method of one replicate unlearns the same trained models, so a replicate's
methods are not independent evidence. The tests here treat the replicate as the
unit:

* Joint permutation: under "the path does not matter", the path labels of one
  replicate are exchangeable. One permutation of the positions is applied to
  every method of the replicate at once; replicates are permuted independently.
  The null distribution of a per-replicate statistic is enumerated exactly
  (``n!`` permutations of ``n`` paths); the statistic summed over replicates is
  then exact by enumeration (few replicates), by convolution (integer
  statistics such as counts) or by sampling.
* Two-way design: a paths x replicates table per method and metric, the path
  effect tested against the path x replicate residual (F test), with an exact
  interval for the ratio of the path variance component to the residual one.
* Matched start: steps a run takes to fall from a level every path of its cell
  starts above (L0) to a level ``drop`` below it (L1), so paths are compared
  from the same log-likelihood, not from where their training left them.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

# A per-replicate statistic: values (methods x paths), positions (paths), and
# whether each path has the forget stage last -> one number.
Statistic = Callable[[np.ndarray, np.ndarray, np.ndarray], float]

MAX_ENUMERATED_PATHS = 8  # 8! = 40,320 permutations per replicate; more paths are sampled


@dataclass(frozen=True)
class Replicate:
    """One replicate's values: ``values[method, path]``, and each path's position."""

    values: np.ndarray
    positions: np.ndarray
    last: np.ndarray  # True where the forget stage is the path's last stage


@dataclass(frozen=True)
class JointTest:
    """A joint permutation test: the observed statistic and its null tail."""

    observed: float
    per_replicate: tuple[float, ...]
    null_mean: tuple[float, ...]  # each replicate's mean under its permutations
    p_value: float
    exact: bool
    n_permutations: int


def _permutations(n: int, n_samples: int, rng: np.random.Generator) -> np.ndarray:
    if n <= MAX_ENUMERATED_PATHS:
        return np.array(list(itertools.permutations(range(n))))
    return np.array([rng.permutation(n) for _ in range(n_samples)])


def replicate_null(rep: Replicate, statistic: Statistic, perms: np.ndarray) -> np.ndarray:
    """The statistic under every row of ``perms`` (permutations of the path labels)."""
    return np.array([statistic(rep.values, rep.positions[p], rep.last[p]) for p in perms])


def joint_permutation_test(
    replicates: Sequence[Replicate],
    statistic: Statistic,
    alternative: str = "greater",
    n_permutations: int = 9999,
    exact_limit: int = 100_000,
    seed: int = 0,
    integer: bool = False,
) -> JointTest:
    """Sum of ``statistic`` over replicates, against its joint permutation null.

    Args:
        replicates: One entry per replicate.
        statistic: Per-replicate statistic (see :data:`Statistic`).
        alternative: ``"greater"`` (large sums are extreme) or ``"two-sided"``
            (the absolute sum; for statistics centred at 0 under the null).
        n_permutations: Draws when the null is neither enumerated nor convolved.
        exact_limit: Enumerate every combination of per-replicate permutations
            when there are at most this many.
        seed: Seeds the draws (and the permutations of more than 8 paths).
        integer: The statistic takes integer values: convolve the per-replicate
            null distributions exactly, whatever their number.

    Returns:
        The observed sum, each replicate's own value and null mean, the p-value
        (including the observed arrangement), whether it is exact, and the
        number of null arrangements behind it.
    """
    if alternative not in ("greater", "two-sided"):
        raise ValueError(f"alternative must be 'greater' or 'two-sided', got {alternative!r}")
    if not replicates:
        return JointTest(math.nan, (), (), math.nan, False, 0)
    rng = np.random.default_rng(seed)
    observed_each = tuple(float(statistic(r.values, r.positions, r.last)) for r in replicates)
    observed = float(sum(observed_each))
    nulls = [
        replicate_null(r, statistic, _permutations(len(r.positions), n_permutations, rng))
        for r in replicates
    ]
    means = tuple(float(n.mean()) for n in nulls)
    enumerable = all(len(r.positions) <= MAX_ENUMERATED_PATHS for r in replicates)
    tol = 1e-9 * max(1.0, abs(observed))  # equal sums count as extreme

    def tail(total: np.ndarray, weights: np.ndarray | None = None) -> float:
        extreme = (np.abs(total) >= abs(observed) - tol) if alternative == "two-sided" else (
            total >= observed - tol)  # fmt: skip
        return float(np.average(extreme, weights=weights))

    size = math.prod(len(n) for n in nulls)
    if enumerable and size <= exact_limit:
        total = np.zeros(1)
        for n in nulls:
            total = np.add.outer(total, n).ravel()
        return JointTest(observed, observed_each, means, tail(total), True, size)
    if enumerable and integer:
        # pmf of the sum: convolve each replicate's pmf over its integer support
        support, pmf = np.array([0]), np.array([1.0])
        for n in nulls:
            values, counts = np.unique(np.rint(n).astype(int), return_counts=True)
            lo = support[0] + values[0]
            grid = np.zeros(support[-1] + values[-1] - lo + 1)
            for v, c in zip(values, counts / counts.sum(), strict=True):
                grid[support - support[0] + v - values[0]] += pmf * c
            support, pmf = np.arange(lo, lo + len(grid)), grid
        return JointTest(observed, observed_each, means, tail(support, pmf), True, size)
    draws = sum(n[rng.integers(0, len(n), n_permutations)] for n in nulls)
    extreme = tail(draws) * n_permutations
    p = (1.0 + extreme) / (1.0 + n_permutations)
    return JointTest(observed, observed_each, means, p, False, n_permutations)


def strict_holds(values: np.ndarray, last: np.ndarray) -> np.ndarray:
    """Per method (row): every forget-last path below every other path (ties fail)."""
    if last.all() or not last.any():
        return np.zeros(len(values), dtype=bool)
    return values[:, last].max(axis=1) < values[:, ~last].min(axis=1)


def recency_statistic(values: np.ndarray, positions: np.ndarray, last: np.ndarray) -> float:
    """Methods of one replicate in which the strict recency order holds."""
    return float(strict_holds(values, last).sum())


def spearman_statistic(values: np.ndarray, positions: np.ndarray, last: np.ndarray) -> float:
    """Mean over methods of the Spearman correlation of the values with position."""
    x = stats.rankdata(positions)
    x = x - x.mean()
    y = stats.rankdata(values, axis=1)
    y = y - y.mean(axis=1, keepdims=True)
    denominator = np.sqrt((x * x).sum() * (y * y).sum(axis=1))
    rho = np.divide(y @ x, denominator, out=np.zeros(len(values)), where=denominator > 0)
    return float(rho.mean())


@dataclass(frozen=True)
class TwoWay:
    """Paths x replicates analysis of variance for one method and metric."""

    n_paths: int
    n_replicates: int
    ms_path: float
    ms_residual: float
    f: float
    p_value: float
    ratio: float  # sigma_path / sigma_residual, from the variance components
    ratio_low: float
    ratio_high: float


def two_way_path_test(grid: np.ndarray, level: float = 0.95) -> TwoWay:
    """Does the path explain a score beyond replicate noise? Two-way ANOVA without replication.

    ``grid[path, replicate]`` holds one value per cell; the replicate is a block
    (each replicate has its own base model), the residual is the path x
    replicate interaction. ``F = MS_path / MS_residual`` on ``(P-1, (P-1)(R-1))``
    degrees of freedom. With ``theta = sigma_path^2 / sigma_res^2`` and
    ``E[MS_path] = sigma_res^2 + R sigma_path^2``, ``F / (1 + R theta)`` is
    F-distributed, which gives the exact interval
    ``[(F / F_hi - 1) / R, (F / F_lo - 1) / R]`` (clipped at 0); the ratio
    reported is its square root, a ratio of standard deviations.

    Rows or columns with a missing value are dropped first (a balanced design).
    """
    values = np.asarray(grid, dtype=float)
    values = values[np.isfinite(values).all(axis=1)] if values.size else values
    nan = TwoWay(*values.shape, *(math.nan,) * 7) if values.ndim == 2 else None
    if values.ndim != 2 or values.shape[0] < 2 or values.shape[1] < 2:
        return nan or TwoWay(0, 0, *(math.nan,) * 7)
    p, r = values.shape
    grand = values.mean()
    path_effect = values.mean(axis=1) - grand
    rep_effect = values.mean(axis=0) - grand
    resid = values - grand - path_effect[:, None] - rep_effect[None, :]
    df1, df2 = p - 1, (p - 1) * (r - 1)
    ms_path = r * float((path_effect**2).sum()) / df1
    ms_res = float((resid**2).sum()) / df2
    scale = max(1.0, float(np.abs(values).max()))
    if ms_res <= 1e-24 * scale**2:
        f = math.inf if ms_path > 1e-24 * scale**2 else math.nan
        p_value = 0.0 if f == math.inf else math.nan
        return TwoWay(p, r, ms_path, ms_res, f, p_value, f, f, f)
    f = ms_path / ms_res
    tail = (1.0 - level) / 2.0
    f_hi, f_lo = stats.f.ppf(1.0 - tail, df1, df2), stats.f.ppf(tail, df1, df2)

    def as_ratio(theta: float) -> float:
        return math.sqrt(max(theta, 0.0))

    return TwoWay(
        p, r, ms_path, ms_res, f, float(stats.f.sf(f, df1, df2)),
        as_ratio((f - 1.0) / r), as_ratio((f / f_hi - 1.0) / r), as_ratio((f / f_lo - 1.0) / r),
    )  # fmt: skip


def crossing_step(steps: np.ndarray, values: np.ndarray, level: float) -> float:
    """First (linearly interpolated) step at which a falling curve reaches ``level``.

    Returns ``0`` when it starts at or below the level and ``inf`` when it never
    gets there (a censored run: slower than any that does).
    """
    steps, values = np.asarray(steps, float), np.asarray(values, float)
    if values[0] <= level:
        return float(steps[0])
    below = np.nonzero(values <= level)[0]
    if not len(below):
        return math.inf
    i = int(below[0])
    frac = (values[i - 1] - level) / (values[i - 1] - values[i])
    return float(steps[i - 1] + frac * (steps[i] - steps[i - 1]))


def matched_start_steps(
    curves: Sequence[tuple[np.ndarray, np.ndarray]], drop: float
) -> tuple[float, float, list[float]]:
    """Steps from a common level L0 to ``L0 - drop``, for the curves of one cell.

    L0 is the lowest starting value of the cell, so every curve starts at or
    above it; each curve's time is counted from its own crossing of L0.

    Returns:
        ``(L0, L1, steps)``, one entry per curve (``inf`` if it never reaches L1,
        or not even L0: censored, slower than every curve that does).
    """
    l0 = min(float(values[0]) for _, values in curves)
    l1 = l0 - drop
    times = []
    for s, v in curves:
        start, end = crossing_step(s, v, l0), crossing_step(s, v, l1)
        times.append(math.inf if math.isinf(end) else end - start)
    return l0, l1, times


__all__ = [
    "JointTest",
    "Replicate",
    "TwoWay",
    "crossing_step",
    "joint_permutation_test",
    "matched_start_steps",
    "recency_statistic",
    "replicate_null",
    "spearman_statistic",
    "strict_holds",
    "two_way_path_test",
]
