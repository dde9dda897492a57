"""The numbers behind the verdicts: recency, position effect, path dependence, starting point.

Numbers only; :mod:`path_unlearning.report.wording` turns them into sentences.
Every function reads the tables of ``docs/tables.md`` and returns a table whose
columns are declared in :mod:`path_unlearning.schemas`. The unit of evidence is
the replicate (its own base model, trie and unlearning runs): the methods of a
replicate unlearn the same models, so tests permute path labels within each
replicate jointly for all its methods (:mod:`~path_unlearning.report.replicates`).

* Recency (strict), per method x replicate cell: every path with the forget stage
  last has a smaller value than every other path; a tie fails. The count of cells
  that hold is tested against the joint permutation null.
* Position effect: mean Spearman correlation of the forget score with the forget
  stage's position, joint permutation test (two-sided).
* Path dependence: paths x replicates two-way ANOVA per method and metric.
* Starting point: by design, the steps from a common level L0 to L1 (matched
  start), tested as the position effect; and the regression
  ``forget ~ 1 + position + start``, undetermined when position and start are
  collinear.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from path_unlearning import schemas as sc
from path_unlearning.report import replicates as rp
from path_unlearning.report.tables import TRAJECTORY_COLUMNS, require_columns, sort_rows

FORGET_SOURCES = ("evaluation_scores", "trajectory")
RUN_KEYS = [sc.METHOD, sc.SEED, sc.PATH, sc.POSITION]
FORGET_SCORE = "forget_score"
MATCHED = "matched_speed"


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
    ll, first = sc.FORGET_LABEL_TOK, sc.start(sc.FORGET_LABEL_TOK)
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
        before = sc.before(sc.FORGET_LABEL_TOK)
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
    ll, first = sc.FORGET_LABEL_TOK, sc.start(sc.FORGET_LABEL_TOK)
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


def replicate_tables(
    runs: pd.DataFrame, column: str, methods: Sequence[str] | None = None
) -> list[rp.Replicate]:
    """One :class:`~path_unlearning.report.replicates.Replicate` per seed.

    Keeps the paths with a value (not NaN; ``-inf`` ranks lowest) for every one of
    ``methods`` (default: all methods of the table), so the methods of a
    replicate share one permutation of its paths. Seeds with fewer than two such
    paths are left out.
    """
    methods = list(methods if methods is not None else pd.unique(runs[sc.METHOD]))
    out = []
    for _, part in runs[runs[sc.METHOD].isin(methods)].groupby(sc.SEED, sort=True):
        grid = part.pivot_table(index=sc.METHOD, columns=sc.PATH, values=column, aggfunc="mean")
        grid = grid.reindex([m for m in methods if m in grid.index])
        grid = grid.loc[:, ~np.isnan(grid.to_numpy(float)).any(axis=0)]
        if grid.shape[1] < 2 or grid.empty:
            continue
        paths = list(grid.columns)
        positions = part.drop_duplicates(sc.PATH).set_index(sc.PATH)[sc.POSITION]
        pos = positions.reindex(paths).to_numpy(float)
        last = np.array([positions[p] == len(p) for p in paths])
        out.append(rp.Replicate(grid.to_numpy(float), pos, last))
    return out


def _scopes(runs: pd.DataFrame) -> list[tuple[str, list[str]]]:
    methods = [str(m) for m in pd.unique(runs[sc.METHOD])]
    return [("all", methods), *((m, [m]) for m in methods)]


def recency_tests(
    tables: Sequence[tuple[str, pd.DataFrame]],
    n_permutations: int = 9999,
    exact_limit: int = 100_000,
    seed: int = 0,
) -> pd.DataFrame:
    """The strict recency test per measure, over all methods and per method.

    The statistic is the number of method x replicate cells in which every
    forget-last path is below every other path; its null permutes the path
    labels of each replicate jointly for all its methods (exact by convolution).
    A replicate agrees when more of its methods hold than its null expects.

    Args:
        tables: ``(measure, runs)`` pairs; ``runs`` has one row per method x seed
            x path and a column named ``measure``.

    Returns:
        The ``report_recency`` schema.
    """
    rows = []
    for measure, runs in tables:
        for scope, methods in _scopes(runs):
            reps = [r for r in replicate_tables(runs, measure, methods)
                    if r.last.any() and not r.last.all()]  # fmt: skip
            test = rp.joint_permutation_test(
                reps, rp.recency_statistic, "greater", n_permutations, exact_limit, seed,
                integer=True,
            )  # fmt: skip
            agree = sum(o > m for o, m in zip(test.per_replicate, test.null_mean, strict=True))
            rows.append({
                "measure": measure, "scope": scope, "n_replicates": len(reps),
                "n_methods": len(methods), "n_holds": int(round(test.observed)) if reps else 0,
                "n_cells": sum(len(r.values) for r in reps), "replicates_agree": agree,
                "p_value": test.p_value, "exact": test.exact,
            })  # fmt: skip
    return pd.DataFrame(rows, columns=list(sc.RECENCY_TESTS.names))


def position_effect(
    runs: pd.DataFrame,
    column: str = FORGET_SCORE,
    n_permutations: int = 9999,
    exact_limit: int = 100_000,
    seed: int = 0,
) -> pd.DataFrame:
    """Does the value follow the forget stage's position? Joint permutation test.

    The statistic is the mean over methods and replicates of the Spearman
    correlation of ``column`` with position; positions are permuted within each
    replicate, the same permutation for all its methods (two-sided). A replicate
    agrees when its own correlation has the sign of the pooled one.

    Returns:
        The ``report_position_effect`` schema, scope ``all`` first.
    """
    rows = []
    for scope, methods in _scopes(runs):
        reps = [r for r in replicate_tables(runs, column, methods) if np.ptp(r.positions) > 0]
        test = rp.joint_permutation_test(
            reps, rp.spearman_statistic, "two-sided", n_permutations, exact_limit, seed
        )
        rho = test.observed / len(reps) if reps else math.nan
        agree = sum(np.sign(o) == np.sign(rho) and o != 0 for o in test.per_replicate)
        rows.append({
            "scope": scope, "n_replicates": len(reps), "n_cells": sum(len(r.values) for r in reps),
            "rho": rho, "p_value": test.p_value, "n_permutations": test.n_permutations,
            "exact": test.exact, "replicates_agree": int(agree),
        })  # fmt: skip
    return pd.DataFrame(rows, columns=list(sc.POSITION_EFFECT.names))


def path_dependence(
    scores: pd.DataFrame,
    metrics: Sequence[str],
    alpha: float = 0.05,
    level: float = 0.95,
) -> pd.DataFrame:
    """Paths x replicates two-way test of each metric, per method.

    Returns:
        The ``report_path_dependence`` schema; ``holds`` (the path effect's F
        test below ``alpha``) is NA with one replicate or one path.
    """
    require_columns(scores, sc.EVALUATION_SCORES.names, "evaluation_scores")
    rows = []
    kept = scores[scores[sc.METRIC].isin(list(metrics))]
    for (method, metric), part in kept.groupby([sc.METHOD, sc.METRIC], sort=False):
        grid = part.pivot_table(index=sc.PATH, columns=sc.SEED, values=sc.VALUE, aggfunc="mean")
        test = rp.two_way_path_test(grid.to_numpy(float), level)
        holds = None if math.isnan(test.p_value) else bool(test.p_value < alpha)
        rows.append({
            sc.METHOD: method, sc.METRIC: metric, "n_paths": grid.shape[0],
            "n_seeds": grid.shape[1], "ms_path": test.ms_path, "ms_residual": test.ms_residual,
            "f": test.f, "p_value": test.p_value, "ratio": test.ratio,
            "ratio_low": test.ratio_low, "ratio_high": test.ratio_high, "holds": holds,
        })  # fmt: skip
    out = pd.DataFrame(rows, columns=list(sc.PATH_DEPENDENCE.names))
    out["holds"] = out["holds"].astype("boolean")
    rank = {m: i for i, m in enumerate(metrics)}
    out = out.assign(_m=out[sc.METRIC].map(rank))
    return sort_rows(out, [sc.METHOD, "_m"]).drop(columns="_m")


def matched_start(trajectories: pd.DataFrame, drop: float) -> pd.DataFrame:
    """Steps each run takes from a common level L0 to ``L0 - drop`` (per-token label ll).

    Per method x seed cell, L0 is the lowest starting forget-label log-likelihood
    of its paths (eval subset), so every path is timed from the same level.

    Returns:
        Columns ``method, seed, path, position, l0, l1, steps, matched_speed``;
        ``matched_speed = -steps``, so a slower path has a smaller value, as a
        smaller forget score (``-inf`` for a run that never reaches L1).
    """
    require_columns(trajectories, TRAJECTORY_COLUMNS, "trajectories")
    ll = sc.FORGET_LABEL_TOK
    known = trajectories[np.isfinite(trajectories[ll].astype(float))].sort_values(sc.STEP)
    rows = []
    for (method, seed), cell in known.groupby([sc.METHOD, sc.SEED], sort=False):
        runs = list(cell.groupby([sc.PATH, sc.POSITION], sort=False))
        curves = [(g[sc.STEP].to_numpy(float), g[ll].to_numpy(float)) for _, g in runs]
        l0, l1, steps = rp.matched_start_steps(curves, drop)
        for ((path, position), _), t in zip(runs, steps, strict=True):
            rows.append({sc.METHOD: method, sc.SEED: seed, sc.PATH: path,
                         sc.POSITION: position, "l0": l0, "l1": l1, "steps": t,
                         MATCHED: -t})  # fmt: skip
    columns = [sc.METHOD, sc.SEED, sc.PATH, sc.POSITION, "l0", "l1", "steps", MATCHED]
    return sort_rows(
        pd.DataFrame(rows, columns=columns), [sc.METHOD, sc.SEED, sc.POSITION, sc.PATH]
    )


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
                   "recency_p_value", "divergence_grows", "divergence_slope",
                   "divergence_best_model"]  # fmt: skip


def setting_verdicts(
    recency: pd.DataFrame, fits: pd.DataFrame, measure: str = FORGET_SCORE
) -> pd.DataFrame:
    """Recency and divergence per method, i.e. per setting when methods are variants.

    Recency holds for a setting when the strict test holds in every replicate
    (``recency_p_value``: the joint permutation p of that count); divergence
    grows when the exponential model fits the distance between paths best (AIC)
    with a positive rate (the rules of the headline verdicts).

    Args:
        recency: ``report_recency`` (:func:`recency_tests`).
        fits: ``divergence_fits``.
        measure: The recency measure (default: the forget score).

    Returns:
        :data:`SETTING_COLUMNS`, one row per method in order of appearance.
    """
    counts = recency[(recency["measure"] == measure) & (recency["scope"] != "all")]
    counts = counts.set_index("scope")
    fit = fits.drop_duplicates(sc.METHOD).set_index(sc.METHOD)
    rows = []
    for method in dict.fromkeys([*counts.index, *fit.index]):
        n = int(counts["n_cells"].get(method, 0))
        k = int(counts["n_holds"].get(method, 0))
        slope = float(fit[sc.SLOPE].get(method, math.nan))
        best = fit["best_model"].get(method) if "best_model" in fit else None
        rows.append({
            "setting": method, "recency_holds": (k == n) if n else None, "recency_n_holds": k,
            "recency_n_cells": n, "recency_p_value": float(counts["p_value"].get(method, math.nan)),
            "divergence_grows": (best == "exponential" and slope > 0)
            if isinstance(best, str) else None,
            "divergence_slope": slope, "divergence_best_model": best,
        })  # fmt: skip
    out = pd.DataFrame(rows, columns=SETTING_COLUMNS)
    for column in ("recency_holds", "divergence_grows"):
        out[column] = out[column].astype("boolean")
    return out


__all__ = [
    "CONTRAST_COLUMNS",
    "CONTRAST_METRICS",
    "FORGET_SCORE",
    "FORGET_SOURCES",
    "MATCHED",
    "SETTING_COLUMNS",
    "drop_measure",
    "forget_runs",
    "ll_drops",
    "matched_start",
    "method_contrast",
    "ols",
    "path_dependence",
    "position_effect",
    "recency_tests",
    "replicate_tables",
    "setting_verdicts",
    "starting_control",
    "strict_chance",
    "strict_recency",
]
