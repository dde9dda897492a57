"""Verdicts computed from the tables: recency, speed, path dependence, divergence, utility.

Every verdict is one row of the summary table (``verdict, scope, holds, value,
detail``) and is backed by a detail table, so a reader can check the count or
the number behind each sentence.

Definitions:

* Forget score of a run: ``forget_score_label`` of ``evaluation_scores`` (the
  decrease of the refusal label's mean log-likelihood on the full forget set),
  or, with ``source="trajectory"``, ``start_forget_label_ll`` minus the last
  ``forget_label_ll`` of the trajectory (eval subset).
* Recency effect, per method x seed cell: the path(s) with the forget stage
  last (``position == len(path)``) have the smallest forget score, i.e. every
  path attaining the minimum has the forget stage last. A cell where all or
  none of the paths have it last tells nothing and is left out. The verdict
  holds when it holds in a majority of the cells that tell.
* Unlearning speed, per method: ``drop(t)`` is the seed-mean decrease of the
  forget-label log-likelihood since step 0. The target is ``fraction`` of the
  largest final drop among the method's paths; a path's speed is the first step
  at which its drop reaches the target (never reached is slowest; ties go to
  the larger final drop).
* Path dependence, per method x metric: the spread of the seed-mean score
  across paths (std, ddof=1) against the pooled seed-to-seed std within
  paths; path dependent when the ratio exceeds ``ratio``. With one seed the
  seed spread is unavailable and the verdict is left open.
* Divergence growth, per method: the fitted slope of log(mean RE distance
  between paths) against step is positive with ``r2 >= min_r2``.
* Starting point: the correlation, across paths, between the forget stage's
  position and the starting forget-label log-likelihood; positive means paths
  with the forget stage early start lower (a confound of the forget scores).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from path_unlearning.report.tables import (
    FIT_COLUMNS,
    SCORE_COLUMNS,
    TABLE1_METRICS,
    TRAJECTORY_COLUMNS,
    require_columns,
    sort_rows,
    starting_points,
)

SUMMARY_COLUMNS = ("verdict", "scope", "holds", "value", "detail")
FORGET_SOURCES = ("evaluation_scores", "trajectory")


@dataclass(frozen=True)
class VerdictSettings:
    """Thresholds of the verdicts (``report:`` parameters)."""

    forget_score_source: str = "evaluation_scores"
    speed_fraction: float = 0.5
    path_dependence_ratio: float = 2.0
    min_r2: float = 0.8
    metrics: tuple[str, ...] = TABLE1_METRICS
    digits: int = 3


@dataclass(frozen=True)
class Verdicts:
    """The summary table and the detail tables behind it."""

    summary: pd.DataFrame
    recency: pd.DataFrame
    speed: pd.DataFrame
    path_dependence: pd.DataFrame
    starting_points: pd.DataFrame


def _row(verdict: str, scope: str, holds: bool | None, value: float, detail: str) -> dict:
    return {"verdict": verdict, "scope": scope, "holds": holds, "value": value, "detail": detail}


def _summary(rows: list[dict]) -> pd.DataFrame:
    out = pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
    out["holds"] = out["holds"].astype("boolean")
    out["value"] = out["value"].astype(float)
    return out


def _fmt(x: float, digits: int) -> str:
    return f"{x:.{digits}f}" if math.isfinite(x) else str(x)


def forget_scores(
    trajectories: pd.DataFrame, scores: pd.DataFrame, source: str = "evaluation_scores"
) -> pd.DataFrame:
    """One forget score per method x seed x path.

    Args:
        trajectories: Concatenated trajectories.
        scores: ``evaluation_scores``.
        source: ``"evaluation_scores"`` (``forget_score_label``) or ``"trajectory"``.

    Returns:
        Columns ``method, seed, path, position, forget_score``.
    """
    if source not in FORGET_SOURCES:
        raise ValueError(f"forget_score_source must be one of {FORGET_SOURCES}, got {source!r}")
    keys = ["method", "seed", "path", "position"]
    if source == "evaluation_scores":
        require_columns(scores, SCORE_COLUMNS, "evaluation_scores")
        kept = scores[scores["metric"] == "forget_score_label"]
        out = kept.groupby(keys, sort=False)["value"].mean().rename("forget_score").reset_index()
    else:
        require_columns(trajectories, TRAJECTORY_COLUMNS, "trajectories")
        known = trajectories[trajectories["forget_label_ll"].notna()]
        last = known.sort_values("step").groupby(keys, sort=False).tail(1)
        out = last.assign(forget_score=last["start_forget_label_ll"] - last["forget_label_ll"])
        out = out[[*keys, "forget_score"]]
    return sort_rows(out, ["method", "seed", "position", "path"])


def recency_cells(forget: pd.DataFrame) -> pd.DataFrame:
    """Per method x seed: do the paths with the forget stage last score lowest?

    Args:
        forget: Output of :func:`forget_scores`.

    Returns:
        Columns ``method, seed, n_paths, last_paths, smallest, smallest_score,
        holds`` (``holds`` is NA where the cell tells nothing).
    """
    rows = []
    for (method, seed), group in forget.groupby(["method", "seed"], sort=False):
        cell = group.dropna(subset=["forget_score"])
        is_last = cell["position"] == cell["path"].str.len()
        last = sorted(cell.loc[is_last, "path"])
        low = float(cell["forget_score"].min()) if len(cell) else math.nan
        smallest = sorted(cell.loc[np.isclose(cell["forget_score"], low), "path"])
        tells = len(cell) >= 2 and 0 < len(last) < len(cell)
        holds = bool(set(smallest) <= set(last)) if tells else None
        rows.append({
            "method": method, "seed": seed, "n_paths": len(cell), "last_paths": ",".join(last),
            "smallest": ",".join(smallest), "smallest_score": low, "holds": holds,
        })  # fmt: skip
    out = pd.DataFrame(
        rows,
        columns=["method", "seed", "n_paths", "last_paths", "smallest", "smallest_score", "holds"],
    )
    out["holds"] = out["holds"].astype("boolean")
    return out


def recency_verdict(cells: pd.DataFrame) -> list[dict]:
    """Summary rows (overall, then per method) for the recency effect."""
    rows = []
    scopes = [("all", cells)] + list(cells.groupby("method", sort=False))
    for scope, part in scopes:
        told = part["holds"].dropna()
        k, n = int(told.sum()), len(told)
        last = ",".join(sorted({p for s in part["last_paths"] for p in s.split(",") if p}))
        if n == 0:
            rows.append(_row("recency_effect", str(scope), None, math.nan,
                             f"{scope}: no method x seed cell compares a path with the forget "
                             "stage last against one without"))  # fmt: skip
            continue
        holds = k > n / 2
        rows.append(_row(
            "recency_effect", str(scope), holds, k / n,
            f"{scope}: in {k} of {n} method x seed cells the path(s) with the forget stage "
            f"last ({last}) have the smallest forget score"
            + (" — recency effect holds" if holds else " — no recency effect"),
        ))  # fmt: skip
    return rows


def unlearning_speed(trajectories: pd.DataFrame, fraction: float = 0.5) -> pd.DataFrame:
    """Steps each path needs to reach a common forget-label drop, per method.

    Args:
        trajectories: Concatenated trajectories.
        fraction: Target as a fraction of the method's largest final drop, in (0, 1].

    Returns:
        Columns ``method, path, position, final_drop, target, steps_to_target,
        rank`` (rank 1 = fastest; ``steps_to_target`` NaN = never reached).
    """
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"speed_fraction must be in (0, 1], got {fraction}")
    require_columns(trajectories, TRAJECTORY_COLUMNS, "trajectories")
    drop = trajectories.assign(
        drop=trajectories["start_forget_label_ll"] - trajectories["forget_label_ll"]
    )
    drop = drop[np.isfinite(drop["drop"].astype(float))]
    curves = drop.groupby(["method", "position", "path", "step"], sort=False)["drop"].mean()
    curves = curves.reset_index()
    rows = []
    for method, part in curves.groupby("method", sort=False):
        final = part.sort_values("step").groupby("path", sort=False).tail(1).set_index("path")
        target = fraction * float(final["drop"].max())
        for path, curve in part.groupby("path", sort=False):
            reached = curve[curve["drop"] >= target] if target > 0 else curve.iloc[0:0]
            rows.append({
                "method": method, "path": path, "position": int(curve["position"].iloc[0]),
                "final_drop": float(final.loc[path, "drop"]), "target": target,
                "steps_to_target": float(reached["step"].min()) if len(reached) else math.nan,
            })  # fmt: skip
    out = pd.DataFrame(
        rows,
        columns=["method", "path", "position", "final_drop", "target", "steps_to_target"],
    )
    key = out["steps_to_target"].fillna(np.inf)
    out = out.assign(_k=key, _d=-out["final_drop"])
    out = sort_rows(out, ["method", "_k", "_d", "position", "path"])
    out["rank"] = out.groupby("method", sort=False).cumcount() + 1
    return out.drop(columns=["_k", "_d"])


def speed_verdict(speed: pd.DataFrame, digits: int = 3) -> list[dict]:
    """Summary rows naming the fastest and slowest path per method."""

    def when(row: pd.Series) -> str:
        steps = row["steps_to_target"]
        return f"step {int(steps)}" if math.isfinite(steps) else "never"

    rows = []
    for method, part in speed.groupby("method", sort=False):
        fast, slow = part.iloc[0], part.iloc[-1]
        if len(part) < 2:
            rows.append(_row("unlearning_speed", str(method), None, math.nan,
                             f"{method}: only one path ({fast['path']}), nothing to compare"))  # fmt: skip
            continue
        if not part["target"].iloc[0] > 0:
            rows.append(
                _row(
                    "unlearning_speed",
                    str(method),
                    None,
                    math.nan,
                    f"{method}: no path lowered the forget-label log-likelihood",
                )
            )
            continue
        target = _fmt(float(fast["target"]), digits)
        rows.append(_row(
            "unlearning_speed", str(method), None, float(fast["steps_to_target"]),
            f"{method}: fastest {fast['path']} (p={fast['position']}, reached a drop of "
            f"{target} nats at {when(fast)}), slowest {slow['path']} (p={slow['position']}, "
            f"{when(slow)}; final drop {_fmt(float(slow['final_drop']), digits)})",
        ))  # fmt: skip
    return rows


def path_dependence(
    scores: pd.DataFrame, metrics: Sequence[str] = TABLE1_METRICS, ratio: float = 2.0
) -> pd.DataFrame:
    """Spread of each score across paths against its seed-to-seed spread.

    Args:
        scores: ``evaluation_scores``.
        metrics: Metrics to judge.
        ratio: Path spread / seed spread above which a score is path dependent.

    Returns:
        Columns ``method, metric, n_paths, n_seeds, path_std, path_min,
        path_max, seed_std, ratio, holds`` (``holds`` NA with one seed).
    """
    require_columns(scores, SCORE_COLUMNS, "evaluation_scores")
    kept = scores[scores["metric"].isin(list(metrics))]
    rows = []
    for (method, metric), part in kept.groupby(["method", "metric"], sort=False):
        per_path = part.groupby("path")["value"]
        means = per_path.mean()
        counts = per_path.count()
        variances = per_path.var(ddof=1).dropna()
        path_std = float(means.std(ddof=1)) if len(means) > 1 else math.nan
        if len(variances):
            dof = counts[variances.index] - 1
            seed_std = float(math.sqrt((variances * dof).sum() / dof.sum()))
        else:
            seed_std = math.nan
        if not math.isfinite(seed_std) or not math.isfinite(path_std):
            value, holds = math.nan, None
        elif seed_std == 0:
            value, holds = (math.inf if path_std > 0 else math.nan), path_std > 0
        else:
            value = path_std / seed_std
            holds = value > ratio
        rows.append({
            "method": method, "metric": metric, "n_paths": len(means),
            "n_seeds": int(counts.max()), "path_std": path_std,
            "path_min": float(means.min()), "path_max": float(means.max()),
            "seed_std": seed_std, "ratio": value, "holds": holds,
        })  # fmt: skip
    columns = ["method", "metric", "n_paths", "n_seeds", "path_std", "path_min", "path_max",
               "seed_std", "ratio", "holds"]  # fmt: skip
    out = pd.DataFrame(rows, columns=columns)
    out["holds"] = out["holds"].astype("boolean")
    rank = {m: i for i, m in enumerate(metrics)}
    out = out.assign(_m=out["metric"].map(rank))
    return sort_rows(out, ["method", "_m"]).drop(columns="_m")


def path_dependence_verdict(table: pd.DataFrame, ratio: float, digits: int = 3) -> list[dict]:
    """Summary rows, one per method x metric, for path dependence."""
    rows = []
    for rec in table.to_dict("records"):
        head = (
            f"{rec['method']} {rec['metric']}: across paths std {_fmt(rec['path_std'], digits)} "
            f"(range {_fmt(rec['path_min'], digits)} to {_fmt(rec['path_max'], digits)})"
        )
        if rec["n_paths"] < 2:
            detail = f"{rec['method']} {rec['metric']}: only one path, no spread across paths"
        elif rec["n_seeds"] < 2:
            detail = f"{head}; seed-to-seed spread unavailable (one seed), so it cannot be told from seed noise"
        elif pd.isna(rec["holds"]):
            detail = f"{head}; seed-to-seed std {_fmt(rec['seed_std'], digits)}: undecided"
        else:
            verdict = "path dependent" if rec["holds"] else "within seed noise"
            detail = (
                f"{head} vs seed-to-seed std {_fmt(rec['seed_std'], digits)} "
                f"(ratio {_fmt(rec['ratio'], 2)}, threshold {ratio:g}): {verdict}"
            )
        holds = None if pd.isna(rec["holds"]) else bool(rec["holds"])
        rows.append(_row("path_dependence", f"{rec['method']}/{rec['metric']}", holds,
                         rec["ratio"], detail))  # fmt: skip
    return rows


def divergence_verdict(fits: pd.DataFrame, min_r2: float = 0.8, digits: int = 3) -> list[dict]:
    """Summary rows, one per method: does the distance between paths grow exponentially?"""
    require_columns(fits, FIT_COLUMNS, "divergence_fits")
    rows = []
    for rec in fits.to_dict("records"):
        slope, r2, n = float(rec["slope"]), float(rec["r2"]), int(rec["n_points"])
        method = str(rec["method"])
        if not math.isfinite(slope):
            rows.append(_row("divergence_growth", method, None, slope,
                             f"{method}: no fit ({n} usable points)"))  # fmt: skip
            continue
        holds = slope > 0 and math.isfinite(r2) and r2 >= min_r2
        if holds:
            what = "grows exponentially"
        elif slope > 0:
            what = f"grows, but the exponential fit is loose (r2 < {min_r2:g})"
        else:
            what = "does not grow"
        rows.append(_row(
            "divergence_growth", method, holds, slope,
            f"{method}: log RE distance between paths changes by {_fmt(slope, digits)} per step "
            f"(r2 {_fmt(r2, 2)}, {n} points): divergence {what}",
        ))  # fmt: skip
    return rows


def utility_verdict(scores: pd.DataFrame, digits: int = 3) -> list[dict]:
    """Summary rows on how facts and math utility moved, per method."""
    require_columns(scores, SCORE_COLUMNS, "evaluation_scores")
    rows = []
    labels = {"facts_utility": "facts utility", "math_utility": "math accuracy change"}
    for metric, label in labels.items():
        kept = scores[scores["metric"] == metric]
        for method, part in kept.groupby("method", sort=False):
            per_path = part.groupby("path")["value"].mean()
            mean = float(part["value"].mean())
            lo, hi = per_path.idxmin(), per_path.idxmax()
            spread = float(per_path.max() - per_path.min())
            rows.append(_row(
                "utility", f"{method}/{metric}", None, mean,
                f"{method}: {label} {_fmt(mean, digits)} on average (lowest {lo} "
                f"{_fmt(float(per_path[lo]), digits)}, highest {hi} "
                f"{_fmt(float(per_path[hi]), digits)}; spread {_fmt(spread, digits)} across paths)",
            ))  # fmt: skip
    return rows


def starting_point_verdict(starts: pd.DataFrame, digits: int = 3) -> list[dict]:
    """Summary row on the starting-point confound."""
    by_pos = starts.groupby("position")["start_forget_label_ll"].mean()
    listing = ", ".join(f"p={p}: {_fmt(float(v), digits)}" for p, v in by_pos.items())
    x = starts["position"].astype(float).to_numpy()
    y = starts["start_forget_label_ll"].astype(float).to_numpy()
    ok = np.isfinite(y)
    if ok.sum() < 2 or np.ptp(x[ok]) == 0 or np.ptp(y[ok]) == 0:
        return [_row("starting_point", "all", None, math.nan,
                     f"starting forget-label log-likelihood by position: {listing}; "
                     "too few distinct positions to tell a trend")]  # fmt: skip
    corr = float(np.corrcoef(x[ok], y[ok])[0, 1])
    holds = corr > 0
    tail = (
        "paths with the forget stage early start lower, so part of their forget score "
        "differences may reflect the starting point (confound)"
        if holds
        else "paths with the forget stage early do not start lower"
    )
    return [_row("starting_point", "all", holds, corr,
                 f"starting forget-label log-likelihood by position: {listing} "
                 f"(correlation with position {corr:+.2f}): {tail}")]  # fmt: skip


def compute_verdicts(
    trajectories: pd.DataFrame,
    scores: pd.DataFrame,
    fits: pd.DataFrame,
    settings: VerdictSettings | None = None,
) -> Verdicts:
    """All verdicts of the report.

    Args:
        trajectories: Concatenated trajectories.
        scores: ``evaluation_scores``.
        fits: ``divergence_fits``.
        settings: Thresholds; defaults when ``None``.

    Returns:
        The summary table and its detail tables.
    """
    s = settings or VerdictSettings()
    forget = forget_scores(trajectories, scores, s.forget_score_source)
    cells = recency_cells(forget)
    speed = unlearning_speed(trajectories, s.speed_fraction)
    dependence = path_dependence(scores, s.metrics, s.path_dependence_ratio)
    starts = starting_points(trajectories)
    rows = [
        *recency_verdict(cells),
        *speed_verdict(speed, s.digits),
        *path_dependence_verdict(dependence, s.path_dependence_ratio, s.digits),
        *divergence_verdict(fits, s.min_r2, s.digits),
        *utility_verdict(scores, s.digits),
        *starting_point_verdict(starts, s.digits),
    ]
    return Verdicts(_summary(rows), cells, speed, dependence, starts)


__all__ = [
    "FORGET_SOURCES",
    "SUMMARY_COLUMNS",
    "VerdictSettings",
    "Verdicts",
    "compute_verdicts",
    "divergence_verdict",
    "forget_scores",
    "path_dependence",
    "path_dependence_verdict",
    "recency_cells",
    "recency_verdict",
    "speed_verdict",
    "starting_point_verdict",
    "unlearning_speed",
    "utility_verdict",
]
