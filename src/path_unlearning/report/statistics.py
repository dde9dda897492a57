"""The numbers behind the verdicts: recency, position effect, path dependence, starting point.

Numbers only; :mod:`path_unlearning.report.wording` turns them into sentences.
Every function reads the tables of ``docs/tables.md`` and returns a table whose
columns are declared in :mod:`path_unlearning.schemas`.

* Recency (strict), per method x seed cell: every path with the forget stage last
  has a smaller value than every other path; a tie fails. Under a random ordering
  of the cell's paths it holds with probability ``n_last! (n - n_last)! / n!``.
* Position effect: mean over cells of the Spearman correlation between the forget
  score and the forget stage's position; the p-value permutes the positions
  within each cell (exactly when few enough permutations, else by sampling).
* Path dependence: spread of the seed-mean score across paths over the pooled
  seed-to-seed spread, with a bootstrap interval that resamples seeds.
* Starting-point control: OLS ``forget ~ 1 + position + start``, where ``start`` is
  the forget-label log-likelihood before unlearning.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from path_unlearning import schemas as sc
from path_unlearning.report.tables import TRAJECTORY_COLUMNS, require_columns, sort_rows

FORGET_SOURCES = ("evaluation_scores", "trajectory")
RUN_KEYS = [sc.METHOD, sc.SEED, sc.PATH, sc.POSITION]
FORGET_SCORE = "forget_score"


def drop_measure(updates: int) -> str:
    """Name of the measure "forget-label log-likelihood drop after ``updates`` updates"."""
    return f"ll_drop_{updates}"


def forget_runs(
    trajectories: pd.DataFrame, scores: pd.DataFrame, source: str = "evaluation_scores"
) -> pd.DataFrame:
    """One forget score and starting log-likelihood per method x seed x path.

    Args:
        trajectories: Concatenated trajectories.
        scores: ``evaluation_scores``.
        source: ``"evaluation_scores"`` (``forget_score_label``, full sets) or
            ``"trajectory"`` (start minus last ``forget_label_ll``, eval subset).

    Returns:
        Columns ``method, seed, path, position, forget_score, start``; ``start``
        is ``forget_label_ll_before`` where ``evaluation_scores`` has it (and
        the source is evaluation_scores), else ``forget_label_ll_start``.
    """
    if source not in FORGET_SOURCES:
        raise ValueError(f"forget_score_source must be one of {FORGET_SOURCES}, got {source!r}")
    require_columns(trajectories, TRAJECTORY_COLUMNS, "trajectories")
    ll, first = sc.FORGET_LABEL_LL, sc.start(sc.FORGET_LABEL_LL)
    known = trajectories[trajectories[ll].notna()].sort_values(sc.STEP)
    last = known.groupby(RUN_KEYS, sort=False).tail(1)
    runs = last.assign(forget_score=last[first] - last[ll], start=last[first])[
        [*RUN_KEYS, FORGET_SCORE, "start"]
    ]
    if source == "evaluation_scores":
        require_columns(scores, sc.EVALUATION_SCORES.names, "evaluation_scores")
        wide = scores.pivot_table(
            index=RUN_KEYS, columns=sc.METRIC, values=sc.VALUE, aggfunc="mean"
        )
        out = pd.DataFrame(index=wide.index)
        out[FORGET_SCORE] = wide.get(sc.FORGET_SCORE_LABEL, np.nan)
        before = sc.before(sc.FORGET_LABEL_LL)
        fallback = runs.set_index(RUN_KEYS)["start"].reindex(out.index)
        out["start"] = wide[before].fillna(fallback) if before in wide else fallback
        runs = out.reset_index()
    return sort_rows(runs, [sc.METHOD, sc.SEED, sc.POSITION, sc.PATH])


def ll_drops(trajectories: pd.DataFrame, updates: Sequence[int]) -> pd.DataFrame:
    """Drop of the forget-label log-likelihood after each of ``updates`` unlearning updates.

    An update counts when its learning rate is above zero: a warm-up schedule gives
    the first step learning rate 0 (it changes nothing), and "after 1 step" would then
    compare a model with itself. Without an ``lr`` column every step counts.

    Returns:
        Columns ``method, seed, path, position`` and one ``ll_drop_{t}`` per count
        (NaN where the run has no finite value after that many updates).
    """
    require_columns(trajectories, TRAJECTORY_COLUMNS, "trajectories")
    ll, first = sc.FORGET_LABEL_LL, sc.start(sc.FORGET_LABEL_LL)
    drop = trajectories.assign(_drop=trajectories[first] - trajectories[ll]).sort_values(sc.STEP)
    update = drop[sc.STEP] > 0
    if sc.LR in drop:
        update &= drop[sc.LR] > 0
    drop["_updates"] = update.astype(int).groupby([drop[k] for k in RUN_KEYS]).cumsum()
    runs = drop[RUN_KEYS].drop_duplicates().set_index(RUN_KEYS)
    for count in updates:
        at = drop[update & (drop["_updates"] == count)].set_index(RUN_KEYS)["_drop"]
        runs[drop_measure(count)] = at.where(np.isfinite(at.astype(float))).reindex(runs.index)
    return sort_rows(runs.reset_index(), [sc.METHOD, sc.SEED, sc.POSITION, sc.PATH])


def strict_chance(n: int, n_last: int) -> float:
    """Probability that the strict test holds when the ``n`` values are randomly ordered."""
    if n < 1 or not 0 <= n_last <= n:
        return math.nan
    return 1.0 / math.comb(n, n_last)


def strict_recency(runs: pd.DataFrame, column: str, measure: str | None = None) -> pd.DataFrame:
    """The strict recency test per method x seed cell.

    Args:
        runs: One row per method x seed x path with ``position`` and ``column``.
        column: The value compared (a forget score or a log-likelihood drop).
        measure: Name written in the ``measure`` column (default ``column``).

    Returns:
        The ``report_recency_cells`` schema; ``holds`` is NA when the cell has no
        path with the forget stage last, or only such paths.
    """
    rows = []
    finite = runs[np.isfinite(runs[column].astype(float))]
    for (method, seed), cell in finite.groupby([sc.METHOD, sc.SEED], sort=False):
        last = cell[sc.POSITION] == cell[sc.PATH].str.len()
        n, n_last = len(cell), int(last.sum())
        moot = n_last in (0, n)
        max_last = math.nan if n_last == 0 else float(cell.loc[last, column].max())
        min_other = math.nan if n_last == n else float(cell.loc[~last, column].min())
        rows.append({
            "measure": measure or column, sc.METHOD: method, sc.SEED: seed, "n_paths": n,
            "n_last": n_last, "max_last": max_last, "min_other": min_other,
            "margin": min_other - max_last, "holds": None if moot else max_last < min_other,
            "chance": math.nan if moot else strict_chance(n, n_last),
        })  # fmt: skip
    out = pd.DataFrame(rows, columns=list(sc.RECENCY.names))
    out["holds"] = out["holds"].astype("boolean")
    return out


def count_tail(holds: pd.Series, chance: pd.Series) -> tuple[int, int, float]:
    """Cells that hold, cells that tell, and P(at least that many by chance).

    The cells are taken as independent, each holding with its own chance level;
    the tail of the resulting Poisson-binomial count is exact.
    """
    told = holds.notna()
    k = int(holds[told].astype(bool).sum())
    probs = chance[told].astype(float).to_numpy()
    dist = np.array([1.0])  # distribution of the count so far
    for p in probs:
        dist = np.convolve(dist, [1.0 - p, p])
    return k, int(told.sum()), float(dist[k:].sum()) if len(probs) else math.nan


def recency_counts(cells: pd.DataFrame) -> pd.DataFrame:
    """Cells holding, per measure, over all methods and per method, with their tail p-value.

    Returns:
        Columns ``measure, scope, n_cells, n_holds, chance_low, chance_high,
        p_value`` (``scope`` is ``all`` or a method; ``n_cells`` counts cells that tell).
    """
    rows = []
    for measure, of in cells.groupby("measure", sort=False):
        for scope, part in [("all", of), *of.groupby(sc.METHOD, sort=False)]:
            k, n, p = count_tail(part["holds"], part["chance"])
            chance = part.loc[part["holds"].notna(), "chance"]
            rows.append({
                "measure": measure, "scope": str(scope), "n_cells": n, "n_holds": k,
                "chance_low": float(chance.min()) if n else math.nan,
                "chance_high": float(chance.max()) if n else math.nan, "p_value": p,
            })  # fmt: skip
    columns = ["measure", "scope", "n_cells", "n_holds", "chance_low", "chance_high", "p_value"]
    return pd.DataFrame(rows, columns=columns)


def _ranks(values: np.ndarray) -> np.ndarray:
    return stats.rankdata(values, axis=-1)


def _spearman_rows(position_ranks: np.ndarray, score_ranks: np.ndarray) -> np.ndarray:
    """Spearman correlation of each row of ``position_ranks`` with ``score_ranks``."""
    x = position_ranks - position_ranks.mean(axis=-1, keepdims=True)
    y = score_ranks - score_ranks.mean()
    return (x @ y) / (np.sqrt((x * x).sum(axis=-1)) * np.sqrt((y * y).sum()))


def position_permutation_test(
    runs: pd.DataFrame,
    column: str = FORGET_SCORE,
    n_permutations: int = 9999,
    seed: int = 0,
    exact_limit: int = 100_000,
) -> dict[str, float | int | bool]:
    """Does the value follow the forget stage's position? A within-cell permutation test.

    The statistic is the mean over method x seed cells of the Spearman correlation
    of ``column`` with ``position``. Positions are permuted within each cell; when
    the product of the cells' permutation counts is at most ``exact_limit`` every
    combination is enumerated (exact p), else ``n_permutations`` are drawn from a
    generator seeded with ``seed`` and ``p = (1 + #{|T*| >= |T|}) / (1 + B)``.

    Returns:
        ``n_cells, rho, p_value, n_permutations, exact`` (two-sided p-value).
    """
    cells = []
    finite = runs[np.isfinite(runs[column].astype(float))]
    for _, cell in finite.groupby([sc.METHOD, sc.SEED], sort=False):
        pos, val = cell[sc.POSITION].to_numpy(float), cell[column].to_numpy(float)
        if len(cell) >= 2 and np.ptp(pos) > 0 and np.ptp(val) > 0:
            cells.append((_ranks(pos), _ranks(val)))
    if not cells:
        return {"n_cells": 0, "rho": math.nan, "p_value": math.nan, "n_permutations": 0,
                "exact": False}  # fmt: skip
    observed = float(np.mean([_spearman_rows(p[None], v)[0] for p, v in cells]))
    total = math.prod(math.factorial(len(p)) for p, _ in cells)
    if total <= exact_limit:
        per_cell = []
        for p, v in cells:
            perms = np.array(list(itertools.permutations(p)))
            per_cell.append(_spearman_rows(perms, v))
        grid = np.meshgrid(*per_cell, indexing="ij")
        null = np.mean(grid, axis=0).ravel()
        tol = 1e-12  # equal statistics count as extreme (floating-point noise aside)
        p_value = float(np.mean(np.abs(null) >= abs(observed) - tol))
        return {"n_cells": len(cells), "rho": observed, "p_value": p_value,
                "n_permutations": int(null.size), "exact": True}  # fmt: skip
    rng = np.random.default_rng(seed)
    null = np.zeros(n_permutations)
    for p, v in cells:
        perms = rng.permuted(np.tile(p, (n_permutations, 1)), axis=1)
        null += _spearman_rows(perms, v)
    null /= len(cells)
    extreme = int(np.sum(np.abs(null) >= abs(observed) - 1e-12))
    return {"n_cells": len(cells), "rho": observed,
            "p_value": (1 + extreme) / (1 + n_permutations),
            "n_permutations": n_permutations, "exact": False}  # fmt: skip


def position_effect(runs: pd.DataFrame, **test_args: int) -> pd.DataFrame:
    """:func:`position_permutation_test` over all cells and per method.

    Returns:
        The ``report_position_effect`` schema, scope ``all`` first.
    """
    scopes = [("all", runs), *runs.groupby(sc.METHOD, sort=False)]
    rows = [{"scope": str(s), **position_permutation_test(part, **test_args)} for s, part in scopes]
    return pd.DataFrame(rows, columns=list(sc.POSITION_EFFECT.names))


def _spread(values: np.ndarray) -> tuple[float, float]:
    """(std across paths of seed means, pooled within-path std) of a paths x seeds array."""
    means = np.nanmean(values, axis=1)
    path_std = float(np.std(means, ddof=1)) if len(means) > 1 else math.nan
    counts = np.sum(np.isfinite(values), axis=1)
    dof = np.clip(counts - 1, 0, None)
    if dof.sum() == 0:
        return path_std, math.nan
    dev = np.nansum((values - means[:, None]) ** 2, axis=1)
    seed_std = float(math.sqrt(dev.sum() / dof.sum()))
    # Identical values across seeds leave rounding noise, not a seed spread.
    scale = float(np.nanmax(np.abs(values))) if np.isfinite(values).any() else 0.0
    return path_std, 0.0 if seed_std <= 1e-12 * max(scale, 1.0) else seed_std


def _ratio(path_std: float, seed_std: float) -> float:
    if not (math.isfinite(path_std) and math.isfinite(seed_std)):
        return math.nan
    if seed_std == 0:
        return math.inf if path_std > 0 else math.nan
    return path_std / seed_std


def path_dependence(
    scores: pd.DataFrame,
    metrics: Sequence[str],
    threshold: float = 2.0,
    n_bootstrap: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """Spread of each score across paths against its seed-to-seed spread.

    The bootstrap resamples seeds with replacement (a seed is one replica of the
    whole experiment, shared by every path) and recomputes the ratio; the
    interval is the percentile interval at ``level``. A resample drawing one seed
    only has no seed spread and counts as an infinite ratio.

    Returns:
        The ``report_path_dependence`` schema; ``holds`` (``ratio_low`` above
        ``threshold``) is NA with one seed or one path.
    """
    require_columns(scores, sc.EVALUATION_SCORES.names, "evaluation_scores")
    rng = np.random.default_rng(seed)
    rows = []
    kept = scores[scores[sc.METRIC].isin(list(metrics))]
    for (method, metric), part in kept.groupby([sc.METHOD, sc.METRIC], sort=False):
        grid = part.pivot_table(index=sc.PATH, columns=sc.SEED, values=sc.VALUE, aggfunc="mean")
        values = grid.to_numpy(float)
        path_std, seed_std = _spread(values)
        ratio = _ratio(path_std, seed_std)
        low = high = math.nan
        n_paths, n_seeds = values.shape
        if n_seeds > 1 and n_paths > 1 and not math.isnan(ratio):
            draws = rng.integers(0, n_seeds, size=(n_bootstrap, n_seeds))
            boot = np.array([_ratio(*_spread(values[:, d])) for d in draws])
            boot = boot[~np.isnan(boot)]
            tail = (1.0 - level) / 2.0
            low, high = (float(np.quantile(boot, q, method="inverted_cdf"))
                         for q in (tail, 1.0 - tail))  # fmt: skip
        holds = None if math.isnan(low) else low > threshold
        rows.append({
            sc.METHOD: method, sc.METRIC: metric, "n_paths": n_paths, "n_seeds": n_seeds,
            "path_std": path_std, "seed_std": seed_std, "ratio": ratio, "ratio_low": low,
            "ratio_high": high, "holds": holds,
        })  # fmt: skip
    out = pd.DataFrame(rows, columns=list(sc.PATH_DEPENDENCE.names))
    out["holds"] = out["holds"].astype("boolean")
    rank = {m: i for i, m in enumerate(metrics)}
    out = out.assign(_m=out[sc.METRIC].map(rank))
    return sort_rows(out, [sc.METHOD, "_m"]).drop(columns="_m")


def ols(y: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Least squares with an intercept: (coefficients, standard errors, two-sided p-values).

    Returns ``None`` when the design is rank deficient (e.g. position and start
    are collinear) or leaves no residual degree of freedom.
    """
    design = np.column_stack([np.ones(len(y)), x])
    n, k = design.shape
    if n <= k or np.linalg.matrix_rank(design) < k:
        return None
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    resid = y - design @ coef
    sigma2 = float(resid @ resid) / (n - k)
    se = np.sqrt(np.diag(sigma2 * np.linalg.inv(design.T @ design)))
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(se > 0, coef / se, np.where(coef == 0, 0.0, np.inf))
    return coef, se, 2.0 * stats.t.sf(np.abs(t), n - k)


def starting_control(runs: pd.DataFrame) -> pd.DataFrame:
    """Per method: does position still explain the forget score given the starting point?

    Args:
        runs: Output of :func:`forget_runs`.

    Returns:
        The ``report_starting_control`` schema; NaN coefficients where the
        regression cannot be fitted (collinear or too few runs).
    """
    rows = []
    finite = runs[np.isfinite(runs[[FORGET_SCORE, "start"]].astype(float)).all(axis=1)]
    for method, part in finite.groupby(sc.METHOD, sort=False):
        pos, start = part[sc.POSITION].to_numpy(float), part["start"].to_numpy(float)
        fit = ols(part[FORGET_SCORE].to_numpy(float), np.column_stack([pos, start]))
        corr = (
            float(np.corrcoef(pos, start)[0, 1])
            if len(part) > 1 and np.ptp(pos) > 0 and np.ptp(start) > 0
            else math.nan
        )
        coef, se, p = fit if fit is not None else (np.full(3, np.nan),) * 3
        rows.append({
            sc.METHOD: method, "n": len(part), "coef_position": float(coef[1]),
            "se_position": float(se[1]), "p_position": float(p[1]),
            "coef_start": float(coef[2]), "p_start": float(p[2]), "corr_position_start": corr,
        })  # fmt: skip
    return pd.DataFrame(rows, columns=list(sc.STARTING_CONTROL.names))


CONTRAST_METRICS = (sc.FORGET_SCORE_LABEL, sc.after(sc.RE_DISTANCE))
CONTRAST_COLUMNS = [sc.METHOD, sc.METRIC, "n_paths", "n_seeds", "mean", "path_std",
                    "path_range", "seed_std", "ratio"]  # fmt: skip


def method_contrast(
    scores: pd.DataFrame,
    methods: Sequence[str] = ("ga", "gradiff"),
    metrics: Sequence[str] = CONTRAST_METRICS,
) -> pd.DataFrame:
    """Spread across paths of each metric, per method, with the seed spread beside it.

    GA against GradDiff: does a retain term (a non-local method) shrink the
    spread of the forget score and of the RE distance to the retrain reference
    across paths? ``path_std`` is the std across paths of the seed means,
    ``path_range`` their max - min, ``seed_std`` the pooled within-path std.

    Returns:
        :data:`CONTRAST_COLUMNS`, one row per present method x metric (empty
        when none of ``methods`` was run).
    """
    require_columns(scores, sc.EVALUATION_SCORES.names, "evaluation_scores")
    rows = []
    for method in methods:
        for metric in metrics:
            part = scores[(scores[sc.METHOD] == method) & (scores[sc.METRIC] == metric)]
            if part.empty:
                continue
            grid = part.pivot_table(index=sc.PATH, columns=sc.SEED, values=sc.VALUE, aggfunc="mean")
            values = grid.to_numpy(float)
            path_std, seed_std = _spread(values)
            means = np.nanmean(values, axis=1)
            rows.append({
                sc.METHOD: method, sc.METRIC: metric, "n_paths": values.shape[0],
                "n_seeds": values.shape[1], "mean": float(np.nanmean(means)),
                "path_std": path_std, "path_range": float(np.ptp(means)),
                "seed_std": seed_std, "ratio": _ratio(path_std, seed_std),
            })  # fmt: skip
    return pd.DataFrame(rows, columns=CONTRAST_COLUMNS)


SETTING_COLUMNS = ["setting", "recency_holds", "recency_n_holds", "recency_n_cells",
                   "recency_p_value", "divergence_grows", "divergence_slope", "divergence_r2"]  # fmt: skip


def setting_verdicts(
    cells: pd.DataFrame, fits: pd.DataFrame, min_r2: float = 0.8, measure: str = FORGET_SCORE
) -> pd.DataFrame:
    """Recency and divergence per method, i.e. per setting when methods are variants.

    Recency holds for a setting when the strict test holds in every seed cell
    that tells (``recency_p_value``: chance of at least that many cells);
    divergence grows when the log-linear fit of the RE distance between paths
    has slope > 0 and r2 >= ``min_r2`` (the rules of the headline verdicts).

    Args:
        cells: ``report_recency_cells``.
        fits: ``divergence_fits``.
        min_r2: The fit quality the divergence verdict asks for.
        measure: The recency measure (default: the forget score).

    Returns:
        :data:`SETTING_COLUMNS`, one row per method in order of appearance.
    """
    counts = recency_counts(cells[cells["measure"] == measure])
    counts = counts[counts["scope"] != "all"].set_index("scope")
    fit = fits.drop_duplicates(sc.METHOD).set_index(sc.METHOD)
    rows = []
    for method in dict.fromkeys([*counts.index, *fit.index]):
        n = int(counts["n_cells"].get(method, 0))
        k = int(counts["n_holds"].get(method, 0))
        slope = float(fit[sc.SLOPE].get(method, math.nan))
        r2 = float(fit[sc.R2].get(method, math.nan))
        rows.append({
            "setting": method, "recency_holds": (k == n) if n else None, "recency_n_holds": k,
            "recency_n_cells": n, "recency_p_value": float(counts["p_value"].get(method, math.nan)),
            "divergence_grows": (slope > 0 and r2 >= min_r2) if math.isfinite(slope) else None,
            "divergence_slope": slope, "divergence_r2": r2,
        })  # fmt: skip
    out = pd.DataFrame(rows, columns=SETTING_COLUMNS)
    for column in ("recency_holds", "divergence_grows"):
        out[column] = out[column].astype("boolean")
    return out


__all__ = [
    "CONTRAST_COLUMNS",
    "CONTRAST_METRICS",
    "FORGET_SCORE",
    "SETTING_COLUMNS",
    "FORGET_SOURCES",
    "count_tail",
    "drop_measure",
    "forget_runs",
    "ll_drops",
    "method_contrast",
    "ols",
    "path_dependence",
    "position_effect",
    "position_permutation_test",
    "recency_counts",
    "setting_verdicts",
    "starting_control",
    "strict_chance",
    "strict_recency",
]
