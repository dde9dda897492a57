"""Sentences of the verdicts, from the tables of :mod:`path_unlearning.report.statistics`.

Each function returns summary rows (``verdict, scope, holds, value, p_value,
detail``). The row with scope ``all`` is the headline the report leads with;
the other rows break it down by method, measure or metric.
"""

from __future__ import annotations

import math
from fractions import Fraction

import pandas as pd

from path_unlearning import schemas as sc
from path_unlearning.report.statistics import FORGET_SCORE

RECENCY, POSITION, DEPENDENCE = "recency", "position_effect", "path_dependence"
STARTING, DIVERGENCE = "starting_point", "divergence_growth"
VERDICT_ORDER = (RECENCY, POSITION, DEPENDENCE, STARTING, DIVERGENCE)
SUMMARY_COLUMNS = sc.SUMMARY.names


def row(
    verdict: str,
    scope: str,
    holds: bool | None,
    value: float,
    p_value: float,
    detail: str,
) -> dict:
    """One summary row."""
    return {"verdict": verdict, "scope": scope, "holds": holds, "value": value,
            "p_value": p_value, "detail": detail}  # fmt: skip


def summary_table(rows: list[dict]) -> pd.DataFrame:
    """The summary rows as a table (``holds`` nullable boolean)."""
    out = pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
    out["holds"] = out["holds"].astype("boolean")
    out[["value", "p_value"]] = out[["value", "p_value"]].astype(float)
    return out


def fmt(x: float, digits: int = 3) -> str:
    """A number with ``digits`` decimals, or ``nan``/``inf`` as is."""
    return f"{x:.{digits}f}" if math.isfinite(x) else str(x)


def fmt_p(p: float) -> str:
    """A p-value: two significant digits, ``< 1e-4`` below that."""
    if not math.isfinite(p):
        return "p n/a"
    return "p < 1e-4" if p < 1e-4 else f"p = {p:.2g}"


def _chance(low: float, high: float) -> str:
    if not math.isfinite(low):
        return "n/a"
    if math.isclose(low, high):
        return str(Fraction(low).limit_denominator(10**6))
    return f"{low:.3g} to {high:.3g}"


def _measure_label(measure: str) -> str:
    if measure == FORGET_SCORE:
        return "forget score"
    count = measure.rsplit("_", 1)[-1]
    return f"drop after {count} update{'s' if count != '1' else ''} (lr > 0)"


NO_CELL = "no method x seed cell compares a path with the forget stage last against one without"


def recency_rows(counts: pd.DataFrame, alpha: float = 0.05) -> list[dict]:
    """Headline (first measure, with the others in brief), then per measure and method.

    Args:
        counts: :func:`~path_unlearning.report.statistics.recency_counts`.
        alpha: A scope holds when its count is unlikely by chance (tail p below it).
    """
    rows = []
    for rec in counts.to_dict("records"):
        k, n, p = rec["n_holds"], rec["n_cells"], float(rec["p_value"])
        scope = rec["measure"] if rec["scope"] == "all" else f"{rec['scope']}/{rec['measure']}"
        if n == 0:
            rows.append(row(RECENCY, scope, None, math.nan, math.nan, f"{scope}: {NO_CELL}"))
            continue
        chance = _chance(rec["chance_low"], rec["chance_high"])
        rows.append(row(
            RECENCY, scope, p < alpha, k / n, p,
            f"{scope}: {k} of {n} cells strictly ordered (chance per cell {chance}; {fmt_p(p)})",
        ))  # fmt: skip
    overall = counts[counts["scope"] == "all"].to_dict("records")
    if not overall or overall[0]["n_cells"] == 0:
        return [row(RECENCY, "all", None, math.nan, math.nan, NO_CELL), *rows]
    head, *others = overall
    k, n, p = head["n_holds"], head["n_cells"], float(head["p_value"])
    rest = "; ".join(
        f"{_measure_label(o['measure'])}: {o['n_holds']} of {o['n_cells']} "
        f"({fmt_p(float(o['p_value']))})"
        for o in others
        if o["n_cells"]
    )
    holds = p < alpha
    detail = (
        f"forget-stage-last paths below every other path (strict, ties fail) in {k} of {n} "
        f"method x seed cells by {_measure_label(head['measure'])} (chance per cell "
        f"{_chance(head['chance_low'], head['chance_high'])}, {fmt_p(p)})"
        + (f"; {rest}" if rest else "")
        + (": recency effect" if holds else ": no recency effect beyond chance")
    )
    return [row(RECENCY, "all", holds, k / n, p, detail), *rows]


def position_rows(table: pd.DataFrame, alpha: float = 0.05) -> list[dict]:
    """One row per scope of the position permutation test."""
    rows = []
    for rec in table.to_dict("records"):
        scope, rho, p = rec["scope"], float(rec["rho"]), float(rec["p_value"])
        if rec["n_cells"] == 0:
            rows.append(row(POSITION, scope, None, math.nan, math.nan,
                            f"{scope}: no cell with paths at different positions"))  # fmt: skip
            continue
        how = "exact" if rec["exact"] else f"{rec['n_permutations']} permutations"
        direction = "later forget stage, smaller forget score" if rho < 0 else (
            "later forget stage, larger forget score")  # fmt: skip
        holds = p < alpha
        rows.append(row(
            POSITION, scope, holds, rho, p,
            ("" if scope == "all" else f"{scope}: ")
            + f"Spearman rho of forget score with position {rho:+.2f} (mean over "
            f"{rec['n_cells']} method x seed cells), permutation {fmt_p(p)} ({how}, positions "
            f"permuted within each cell)" + (f": {direction}" if holds else ": no position effect"),
        ))  # fmt: skip
    return rows


def _interval(rec: dict, digits: int) -> str:
    return f"[{fmt(rec['ratio_low'], 2)}, {fmt(rec['ratio_high'], 2)}]"


def path_dependence_rows(
    table: pd.DataFrame, metric: str, threshold: float, level: float = 0.95, digits: int = 3
) -> list[dict]:
    """Headline on ``metric`` across methods, then one row per method x metric."""
    rows = []
    for rec in table.to_dict("records"):
        scope = f"{rec[sc.METHOD]}/{rec[sc.METRIC]}"
        head = f"{scope}: std across paths {fmt(rec['path_std'], digits)}"
        if rec["n_paths"] < 2:
            detail = f"{scope}: only one path, no spread across paths"
        elif rec["n_seeds"] < 2:
            detail = f"{head}; ratio undefined with one seed (no seed-to-seed spread)"
        else:
            verdict = "path dependent" if rec["holds"] is True else "not beyond seed noise"
            detail = (
                f"{head} vs seed-to-seed std {fmt(rec['seed_std'], digits)}: ratio "
                f"{fmt(rec['ratio'], 2)}, {level:.0%} bootstrap interval {_interval(rec, digits)} "
                f"(threshold {threshold:g}): {verdict}"
            )
        holds = None if pd.isna(rec["holds"]) else bool(rec["holds"])
        rows.append(row(DEPENDENCE, scope, holds, rec["ratio"], math.nan, detail))
    head = table[table[sc.METRIC] == metric]
    told = head[head["holds"].notna()]
    if head.empty:
        text, holds, value = f"no {metric} scores", None, math.nan
    elif told.empty:
        text = f"{metric}: only one path, no spread across paths" if (
            head["n_paths"].max() < 2
        ) else f"{metric}: ratio undefined with one seed (no seed-to-seed spread)"  # fmt: skip
        holds, value = None, math.nan
    else:
        k, n = int(told["holds"].astype(bool).sum()), len(told)
        listing = ", ".join(
            f"{r[sc.METHOD]} {fmt(r['ratio'], 2)} {_interval(r, digits)}"
            for r in told.to_dict("records")
        )
        holds, value = k == n, float(told["ratio"].median())
        text = (
            f"{metric} spread across paths / across seeds: {listing} ({level:.0%} bootstrap "
            f"over seeds); lower bound above {threshold:g} in {k} of {n} methods"
            + (": path dependent" if holds else "")
        )
    return [row(DEPENDENCE, "all", holds, value, math.nan, text), *rows]


def starting_rows(table: pd.DataFrame, alpha: float = 0.05, digits: int = 3) -> list[dict]:
    """Headline and per-method rows of the starting-point control."""
    rows = []
    fitted = []
    for rec in table.to_dict("records"):
        method, p = str(rec[sc.METHOD]), float(rec["p_position"])
        corr = rec["corr_position_start"]
        if not math.isfinite(p):
            why = (
                f"position and starting log-likelihood are collinear (r = {corr:+.2f})"
                if math.isfinite(corr) and abs(corr) > 0.999
                else f"too few runs or positions ({rec['n']} runs)"
            )
            rows.append(row(STARTING, method, None, math.nan, math.nan,
                            f"{method}: regression not identifiable: {why}"))  # fmt: skip
            continue
        holds = p < alpha
        fitted.append((method, rec, holds))
        rows.append(row(
            STARTING, method, holds, float(rec["coef_position"]), p,
            f"{method}: forget ~ position + starting forget-label log-lik over {rec['n']} runs: "
            f"position {fmt(rec['coef_position'], digits)} ± {fmt(rec['se_position'], digits)} "
            f"per position ({fmt_p(p)}), start {fmt(rec['coef_start'], digits)} "
            f"({fmt_p(float(rec['p_start']))}); corr(position, start) {corr:+.2f}",
        ))  # fmt: skip
    if not fitted:
        reason = rows[0]["detail"].split(": ", 1)[1] if rows else "no runs"
        return [row(STARTING, "all", None, math.nan, math.nan,
                    f"cannot separate position from the starting point: {reason}"), *rows]  # fmt: skip
    k = sum(h for *_, h in fitted)
    listing = ", ".join(
        f"{m} {fmt(r['coef_position'], digits)} ({fmt_p(float(r['p_position']))})"
        for m, r, _ in fitted
    )
    holds = k == len(fitted)
    text = (
        f"with the starting forget-label log-likelihood as covariate, the position coefficient "
        f"is {listing}; position still explains the forget score in {k} of {len(fitted)} methods"
        + ("" if holds else " (not in all: part of the position effect may be the starting point)")
    )
    p_max = max(float(r["p_position"]) for _, r, _ in fitted)
    return [row(STARTING, "all", holds, math.nan, p_max, text), *rows]


def divergence_rows(fits: pd.DataFrame, min_r2: float = 0.8, digits: int = 3) -> list[dict]:
    """Headline and per-method rows: does the distance between paths grow exponentially?"""
    rows, grows = [], []
    for rec in fits.to_dict("records"):
        slope, r2, n = float(rec[sc.SLOPE]), float(rec[sc.R2]), int(rec[sc.N_POINTS])
        method = str(rec[sc.METHOD])
        if not math.isfinite(slope):
            rows.append(row(DIVERGENCE, method, None, slope, math.nan,
                            f"{method}: no fit ({n} usable points)"))  # fmt: skip
            continue
        holds = slope > 0 and math.isfinite(r2) and r2 >= min_r2
        grows.append((method, slope, r2, holds))
        if holds:
            what = "grows exponentially"
        elif slope > 0:
            what = f"grows, but the exponential fit is loose (r2 < {min_r2:g})"
        else:
            what = "does not grow"
        rows.append(row(
            DIVERGENCE, method, holds, slope, math.nan,
            f"{method}: log RE distance between paths changes by {fmt(slope, digits)} per step "
            f"(r2 {fmt(r2, 2)}, {n} points): divergence {what}",
        ))  # fmt: skip
    if not grows:
        return [row(DIVERGENCE, "all", None, math.nan, math.nan,
                    "no divergence fit (no pair of paths over the same stages)"), *rows]  # fmt: skip
    k = sum(h for *_, h in grows)
    listing = ", ".join(f"{m} {fmt(s, digits)}/step (r2 {fmt(r, 2)})" for m, s, r, _ in grows)
    text = (f"RE distance between paths grows exponentially (slope > 0, r2 >= {min_r2:g}) for "
            f"{k} of {len(grows)} methods: {listing}")  # fmt: skip
    return [row(DIVERGENCE, "all", k == len(grows), k / len(grows), math.nan, text), *rows]


__all__ = [
    "DEPENDENCE",
    "DIVERGENCE",
    "POSITION",
    "RECENCY",
    "STARTING",
    "SUMMARY_COLUMNS",
    "VERDICT_ORDER",
    "divergence_rows",
    "fmt",
    "fmt_p",
    "path_dependence_rows",
    "position_rows",
    "recency_rows",
    "row",
    "starting_rows",
    "summary_table",
]
