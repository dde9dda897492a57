"""Report tables: trajectories gathered, Table 1, confidence bands, starting points.

Inputs follow ``docs/tables.md``: trajectories have one row per path x method x
seed x step; ``evaluation_scores`` is tidy (one row per path x method x seed x
metric). Paths are ordered by the position of the forget stage, then by name,
everywhere in the report.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from statistics import NormalDist

import numpy as np
import pandas as pd

from path_unlearning import schemas as sc
from path_unlearning.metrics import registry

TRAJECTORY_KEYS = (sc.PATH, sc.METHOD, sc.SEED, sc.POSITION, sc.STEP)
LL_COLUMNS = sc.LL_COLUMNS
START_COLUMNS = sc.START_COLUMNS
# What the report needs of a trajectory (per-token columns, loss and lr are optional).
TRAJECTORY_COLUMNS = (*TRAJECTORY_KEYS, *LL_COLUMNS, *sc.LL_TOK_COLUMNS, *START_COLUMNS)
SCORE_COLUMNS = sc.EVALUATION_SCORES.names
DIVERGENCE_COLUMNS = sc.PATH_DIVERGENCE.names[:-1]  # kl is not used by the report
FIT_COLUMNS = sc.DIVERGENCE_FITS.names
BAND_KINDS = ("t", "normal")


def require_columns(table: pd.DataFrame, columns: Iterable[str], name: str) -> None:
    """Raise a one-line ``ValueError`` when ``table`` lacks any of ``columns``."""
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(f"{name} lacks columns {missing} (see docs/tables.md)")


def path_order(table: pd.DataFrame) -> list[str]:
    """Paths of a table ordered by forget-stage position, then name."""
    pairs = table[["position", "path"]].drop_duplicates()
    return [str(p) for p in pairs.sort_values(["position", "path"])["path"]]


def method_order(table: pd.DataFrame) -> list[str]:
    """Methods in order of first appearance."""
    return [str(m) for m in pd.unique(table["method"])]


def sort_rows(table: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """Stable sort on ``by``; ``method`` sorts by first appearance, not by name."""
    if "method" not in by:
        return table.sort_values(list(by), kind="stable").reset_index(drop=True)
    rank = {m: i for i, m in enumerate(pd.unique(table["method"]))}
    keys = ["_rank" if c == "method" else c for c in by]
    ranked = table.assign(_rank=table["method"].map(rank)).sort_values(keys, kind="stable")
    return ranked.drop(columns="_rank").reset_index(drop=True)


def concat_trajectories(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Stack per path x method trajectories into one table.

    Args:
        frames: ``{path}.{method}.trajectory`` tables.

    Returns:
        One table sorted by method (in order of appearance), position, path,
        seed and step.

    Raises:
        ValueError: With no table, a table missing a schema column, or a
            duplicated ``(path, method, seed, step)`` row.
    """
    if not frames:
        raise ValueError(
            "no trajectories to report: configure unlearn.methods and paths "
            "(docs/tables.md: {path}.{method}.trajectory)"
        )
    for frame in frames:
        require_columns(frame, TRAJECTORY_COLUMNS, "trajectory")
    table = pd.concat(list(frames), ignore_index=True)
    key = ["path", "method", "seed", "step"]
    dup = table.duplicated(key)
    if dup.any():
        row = table.loc[dup, key].iloc[0].to_dict()
        raise ValueError(f"duplicated trajectory row {row}")
    return sort_rows(table, ["method", "position", "path", "seed", "step"])


def band_quantile(n: int, level: float = 0.95, kind: str = "t") -> float:
    """Multiplier of the standard error for a two-sided ``level`` interval.

    Args:
        n: Number of observations (the t interval has ``n - 1`` degrees of freedom).
        level: Coverage, in (0, 1).
        kind: ``"t"`` (Student t) or ``"normal"``.

    Returns:
        The quantile; NaN when ``n < 2`` (no spread to estimate).
    """
    if not 0.0 < level < 1.0:
        raise ValueError(f"confidence level must be in (0, 1), got {level}")
    if kind not in BAND_KINDS:
        raise ValueError(f"band kind must be one of {BAND_KINDS}, got {kind!r}")
    if n < 2:
        return math.nan
    q = (1.0 + level) / 2.0
    if kind == "normal":
        return NormalDist().inv_cdf(q)
    from scipy.stats import t  # noqa: PLC0415 - only the t interval needs scipy

    return float(t.ppf(q, n - 1))


def mean_band(values: Iterable[float], level: float = 0.95, kind: str = "t") -> dict[str, float]:
    """Mean and confidence band of the finite values.

    Args:
        values: Observations (one per seed); non-finite ones are ignored.
        level: Coverage of the band.
        kind: ``"t"`` or ``"normal"``.

    Returns:
        ``{"mean", "std", "lower", "upper", "n"}``; ``std`` (ddof=1) and the band
        are NaN with fewer than two finite values.
    """
    x = np.asarray(list(values), dtype=np.float64)
    x = x[np.isfinite(x)]
    n = int(x.size)
    if n == 0:
        return {"mean": math.nan, "std": math.nan, "lower": math.nan, "upper": math.nan, "n": 0}
    mean = float(x.mean())
    if n < 2:
        return {"mean": mean, "std": math.nan, "lower": math.nan, "upper": math.nan, "n": 1}
    std = float(x.std(ddof=1))
    half = band_quantile(n, level, kind) * std / math.sqrt(n)
    return {"mean": mean, "std": std, "lower": mean - half, "upper": mean + half, "n": n}


def trajectory_bands(
    trajectories: pd.DataFrame, column: str, level: float = 0.95, kind: str = "t"
) -> pd.DataFrame:
    """Mean over seeds and confidence band of one trajectory column per step.

    Args:
        trajectories: Output of :func:`concat_trajectories`.
        column: A log-likelihood column such as ``forget_label_ll``.
        level: Coverage of the band.
        kind: ``"t"`` or ``"normal"``.

    Returns:
        Columns ``method, path, position, step, mean, std, lower, upper, n``;
        non-finite values (a diverged run) are left out of ``n``.
    """
    require_columns(trajectories, (*TRAJECTORY_KEYS, column), "trajectories")
    rows = []
    keys = ["method", "path", "position", "step"]
    for (method, path, position, step), group in trajectories.groupby(keys, sort=False):
        band = mean_band(group[column], level, kind)
        rows.append({"method": method, "path": path, "position": position, "step": step, **band})
    columns = [*keys, "mean", "std", "lower", "upper", "n"]
    return sort_rows(pd.DataFrame(rows, columns=columns), ["method", "position", "path", "step"])


def summarise_scores(scores: pd.DataFrame, metrics: Sequence[str] | None = None) -> pd.DataFrame:
    """Mean and standard deviation over seeds of each metric.

    Args:
        scores: ``evaluation_scores``.
        metrics: Metrics to keep, in the order wanted (None: Table 1's, ``metrics/registry.py``).

    Returns:
        Tidy numeric Table 1: ``position, path, metric, method, mean, std,
        n_seeds``; ``std`` (ddof=1) is NaN with one seed.
    """
    require_columns(scores, SCORE_COLUMNS, "evaluation_scores")
    metrics = registry.table1_metrics() if metrics is None else tuple(metrics)
    kept = scores[scores["metric"].isin(list(metrics))]
    grouped = kept.groupby(["position", "path", "metric", "method"], sort=False)["value"]
    out = grouped.agg(
        mean="mean", std=lambda v: v.std(ddof=1) if len(v) > 1 else math.nan, n_seeds="count"
    ).reset_index()
    rank = {m: i for i, m in enumerate(metrics)}
    methods = {m: i for i, m in enumerate(method_order(scores))}
    out = out.assign(_m=out["metric"].map(rank), _k=out["method"].map(methods))
    out = out.sort_values(["position", "path", "_m", "_k"], kind="stable")
    return out.drop(columns=["_m", "_k"]).reset_index(drop=True)


def format_mean_std(mean: float, std: float, digits: int = 3) -> str:
    """``"m ± s"``, or ``"m"`` alone when the std is unavailable (one seed)."""
    if not math.isfinite(mean):
        return str(mean)
    if std is None or not math.isfinite(std):
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def table1_display(summary: pd.DataFrame, digits: int = 3) -> pd.DataFrame:
    """Table 1 for reading: one row per position x path x metric, one column per method.

    Args:
        summary: Output of :func:`summarise_scores`.
        digits: Decimals shown.

    Returns:
        Columns ``position, path, metric, n_seeds`` and one ``"mean ± std"``
        string column per method (empty where a method lacks the metric).
    """
    methods = method_order(summary)
    cells = summary.assign(
        cell=[format_mean_std(m, s, digits) for m, s in zip(summary["mean"], summary["std"])]
    )
    wide = cells.pivot_table(
        index=["position", "path", "metric"], columns="method", values="cell",
        aggfunc="first", sort=False,
    )  # fmt: skip
    n_seeds = cells.groupby(["position", "path", "metric"], sort=False)["n_seeds"].max()
    wide = wide.reindex(columns=methods).fillna("")
    wide.columns.name = None
    out = wide.join(n_seeds).reset_index()
    return out[["position", "path", "metric", "n_seeds", *methods]]


def table1_blocks(
    summary: pd.DataFrame, blocks: Mapping[str, str], digits: int = 3
) -> pd.DataFrame:
    """Table 1 shaped like the paper's: a block per metric, rows by position and path.

    Args:
        summary: Output of :func:`summarise_scores`.
        blocks: Metric -> block title (e.g. ``forget_score_label: Forget score``), in order.
        digits: Decimals shown.

    Returns:
        Columns ``block, position, path`` and one ``"mean ± std"`` column per method.
    """
    display = table1_display(summary[summary["metric"].isin(list(blocks))], digits)
    methods = [c for c in display.columns if c not in ("position", "path", "metric", "n_seeds")]
    rank = {m: i for i, m in enumerate(blocks)}
    display = display.assign(_b=display["metric"].map(rank)).sort_values(
        ["_b", "position", "path"], kind="stable"
    )
    display.insert(0, "block", display["metric"].map(dict(blocks)))
    return display[["block", "position", "path", *methods]].reset_index(drop=True)


def starting_points(trajectories: pd.DataFrame, scores: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per path, before unlearning: forget-label and facts log-lik, math accuracy.

    Means over methods and seeds of the ``evaluation_scores`` ``*_before``
    metrics (NaN where absent or without ``scores``) and of the trajectories'
    step-0 forget-label log-likelihood (eval subset).

    Args:
        trajectories: Output of :func:`concat_trajectories`.
        scores: ``evaluation_scores``, optional.

    Returns:
        The ``report_starting_points`` schema, ordered by position, then path.
    """
    first_ll = sc.start(sc.FORGET_LABEL_LL)
    require_columns(trajectories, (*TRAJECTORY_KEYS, first_ll), "trajectories")
    first = trajectories.sort_values(sc.STEP).groupby([sc.METHOD, sc.PATH, sc.SEED]).head(1)
    grouped = first.groupby([sc.POSITION, sc.PATH])
    out = grouped[[first_ll]].mean()
    out.insert(0, "n_runs", grouped.size())
    befores = [sc.before(sc.FORGET_LABEL_LL), sc.before(sc.FACTS_LL), sc.before(sc.MATH_ACC)]
    if scores is not None and len(scores):
        require_columns(scores, SCORE_COLUMNS, "evaluation_scores")
        kept = scores[scores[sc.METRIC].isin(befores)]
        means = kept.groupby([sc.POSITION, sc.PATH, sc.METRIC])[sc.VALUE].mean()
        out = out.join(means.unstack(sc.METRIC).reindex(columns=befores))
    out = out.reset_index().reindex(columns=list(sc.STARTING_POINTS.names))
    return out.sort_values([sc.POSITION, sc.PATH]).reset_index(drop=True)


def divergence_curve(path_divergence: pd.DataFrame) -> pd.DataFrame:
    """Mean RE distance between paths per method and step (over pairs and seeds).

    Returns:
        Columns ``method, step, re_distance, n`` (``n`` = pair x seed rows).
    """
    require_columns(path_divergence, DIVERGENCE_COLUMNS, "path_divergence")
    finite = path_divergence[np.isfinite(path_divergence["re_distance"].astype(float))]
    grouped = finite.groupby(["method", "step"], sort=False)["re_distance"]
    out = grouped.agg(re_distance="mean", n="count").reset_index()
    return sort_rows(out, ["method", "step"])


def reference_distances(scores: pd.DataFrame) -> pd.DataFrame:
    """RE distance of each path to its retrain reference, before and after unlearning.

    Returns:
        Columns ``method, position, path, before, after`` (means over seeds).
    """
    require_columns(scores, SCORE_COLUMNS, "evaluation_scores")
    metrics = {"re_distance_before": "before", "re_distance_after": "after"}
    kept = scores[scores["metric"].isin(list(metrics))]
    if kept.empty:
        return pd.DataFrame(columns=["method", "position", "path", "before", "after"])
    means = kept.groupby(["method", "position", "path", "metric"], sort=False)["value"].mean()
    wide = means.unstack("metric").rename(columns=metrics)
    wide.columns.name = None
    wide = wide.reindex(columns=["before", "after"]).reset_index()
    rank = {m: i for i, m in enumerate(pd.unique(scores["method"]))}
    wide = wide.assign(_rank=wide["method"].map(rank)).sort_values(
        ["_rank", "position", "path"], kind="stable"
    )
    return wide.drop(columns="_rank").reset_index(drop=True)
