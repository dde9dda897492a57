"""Sentences of the verdicts, from the tables of :mod:`path_unlearning.report.statistics`.

Each function returns summary rows (``verdict, scope, holds, value, p_value,
detail``). The row with scope ``all`` is the headline the report leads with;
the other rows break it down by method, measure or metric.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from path_unlearning import schemas as sc
from path_unlearning.report.statistics import FORGET_SCORE, MATCHED

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


def _measure_label(measure: str) -> str:
    if measure == FORGET_SCORE:
        return "forget score"
    if measure == MATCHED:
        return "steps from a matched start"
    count = measure.rsplit("_", 1)[-1]
    return f"drop after {count} update{'s' if count != '1' else ''} (lr > 0)"


NO_CELL = "no replicate compares a path with the forget stage last against one without"


def _agree(rec: dict, what: str) -> str:
    return f"{rec['replicates_agree']} of {rec['n_replicates']} replicates {what}"


def recency_rows(tests: pd.DataFrame, alpha: float = 0.05) -> list[dict]:
    """Headline (first measure, with the others in brief), then per measure and method.

    Args:
        tests: :func:`~path_unlearning.report.statistics.recency_tests`.
        alpha: A scope holds when its count is unlikely under the joint
            permutation null (p below it).
    """
    rows = []
    for rec in tests.to_dict("records"):
        k, n, p = rec["n_holds"], rec["n_cells"], float(rec["p_value"])
        scope = rec["measure"] if rec["scope"] == "all" else f"{rec['scope']}/{rec['measure']}"
        if rec["n_replicates"] == 0:
            rows.append(row(RECENCY, scope, None, math.nan, math.nan, f"{scope}: {NO_CELL}"))
            continue
        rows.append(row(
            RECENCY, scope, p < alpha, k / n, p,
            f"{scope}: {k} of {n} method x replicate cells strictly ordered; "
            f"{_agree(rec, 'above chance')} (joint permutation {fmt_p(p)})",
        ))  # fmt: skip
    overall = tests[tests["scope"] == "all"].to_dict("records")
    if not overall or overall[0]["n_replicates"] == 0:
        return [row(RECENCY, "all", None, math.nan, math.nan, NO_CELL), *rows]
    head, *others = overall
    k, n, p = head["n_holds"], head["n_cells"], float(head["p_value"])
    rest = "; ".join(
        f"{_measure_label(o['measure'])}: {o['n_holds']} of {o['n_cells']} cells, "
        f"{_agree(o, 'above chance')} ({fmt_p(float(o['p_value']))})"
        for o in others
        if o["n_replicates"]
    )
    holds = p < alpha
    detail = (
        f"forget-stage-last paths below every other path (strict, ties fail) in {k} of {n} "
        f"method x replicate cells by {_measure_label(head['measure'])}, "
        f"{_agree(head, 'above chance')} (path labels permuted jointly within each of "
        f"{head['n_replicates']} replicates, {fmt_p(p)})"
        + (f"; {rest}" if rest else "")
        + (": recency effect" if holds else ": no recency effect beyond chance")
    )
    return [row(RECENCY, "all", holds, k / n, p, detail), *rows]


def position_rows(table: pd.DataFrame, alpha: float = 0.05) -> list[dict]:
    """One row per scope of the joint position permutation test."""
    rows = []
    for rec in table.to_dict("records"):
        scope, rho, p = rec["scope"], float(rec["rho"]), float(rec["p_value"])
        if rec["n_replicates"] == 0:
            rows.append(row(POSITION, scope, None, math.nan, math.nan,
                            f"{scope}: no replicate with paths at different positions"))  # fmt: skip
            continue
        how = "exact" if rec["exact"] else f"{rec['n_permutations']} draws"
        direction = "later forget stage, smaller forget score" if rho < 0 else (
            "later forget stage, larger forget score")  # fmt: skip
        holds = p < alpha
        rows.append(row(
            POSITION, scope, holds, rho, p,
            ("" if scope == "all" else f"{scope}: ")
            + f"Spearman rho of forget score with position {rho:+.2f} (mean over "
            f"{rec['n_cells']} method x replicate cells; {_agree(rec, 'share its sign')}), "
            f"joint permutation {fmt_p(p)} ({how})"
            + (f": {direction}" if holds else ": no position effect"),
        ))  # fmt: skip
    return rows


def _interval(rec: dict) -> str:
    return f"[{fmt(rec['ratio_low'], 2)}, {fmt(rec['ratio_high'], 2)}]"


def path_dependence_rows(
    table: pd.DataFrame, metric: str, alpha: float = 0.05, level: float = 0.95, digits: int = 3
) -> list[dict]:
    """Headline on ``metric`` across methods, then one row per method x metric."""
    rows = []
    for rec in table.to_dict("records"):
        scope = f"{rec[sc.METHOD]}/{rec[sc.METRIC]}"
        if rec["n_paths"] < 2:
            detail = f"{scope}: only one path, no spread across paths"
        elif rec["n_seeds"] < 2:
            detail = f"{scope}: one replicate, no replicate noise to compare with"
        else:
            verdict = "path dependent" if rec["holds"] is True else "not beyond replicate noise"
            detail = (
                f"{scope}: path effect F = {fmt(rec['f'], 2)} ({fmt_p(rec['p_value'])}), "
                f"sigma_path / sigma_residual {fmt(rec['ratio'], 2)}, {level:.0%} interval "
                f"{_interval(rec)}: {verdict}"
            )
        holds = None if pd.isna(rec["holds"]) else bool(rec["holds"])
        rows.append(row(DEPENDENCE, scope, holds, rec["ratio"], rec["p_value"], detail))
    head = table[table[sc.METRIC] == metric]
    told = head[head["holds"].notna()]
    if head.empty:
        text, holds, value = f"no {metric} scores", None, math.nan
    elif told.empty:
        text = f"{metric}: only one path, no spread across paths" if (
            head["n_paths"].max() < 2
        ) else f"{metric}: one replicate, no replicate noise to compare with"  # fmt: skip
        holds, value = None, math.nan
    else:
        k, n = int(told["holds"].astype(bool).sum()), len(told)
        listing = ", ".join(
            f"{r[sc.METHOD]} {fmt(r['ratio'], 2)} {_interval(r)} ({fmt_p(r['p_value'])})"
            for r in told.to_dict("records")
        )
        holds, value = k == n, float(told["ratio"].median())
        text = (
            f"{metric}, paths x {int(told['n_seeds'].max())} replicates two-way ANOVA: "
            f"sigma_path / sigma_residual {listing} ({level:.0%} intervals); path effect "
            f"beyond replicate noise (F test, alpha {alpha:g}) in {k} of {n} methods"
            + (": path dependent" if holds else "")
        )
    return [row(DEPENDENCE, "all", holds, value, math.nan, text), *rows]


def starting_rows(
    matched: pd.DataFrame,
    control: pd.DataFrame,
    position: pd.DataFrame,
    alpha: float = 0.05,
    collinearity_limit: float = 0.9,
    digits: int = 3,
) -> list[dict]:
    """Does the position effect survive a matched start? Headline, then the details.

    The headline is the position test of the steps each run takes from a common
    level (:func:`~path_unlearning.report.statistics.matched_start`); the
    regression on the starting log-likelihood is a detail, undetermined when
    position and start correlate beyond ``collinearity_limit``.
    """
    rows = []
    raw = position[position["scope"] == "all"].to_dict("records")
    raw_rho = float(raw[0]["rho"]) if raw else math.nan
    for rec in matched.to_dict("records"):
        scope, rho, p = rec["scope"], float(rec["rho"]), float(rec["p_value"])
        label = "all" if scope == "all" else f"{scope}/matched start"
        if rec["n_replicates"] == 0 or not math.isfinite(rho):
            rows.append(row(STARTING, label, None, math.nan, math.nan,
                            f"{label}: no replicate with paths timed from a common level"))  # fmt: skip
            continue
        same = math.isfinite(raw_rho) and np.sign(rho) == np.sign(raw_rho)
        holds = p < alpha and same
        what = (
            "the position effect persists from a matched start" if holds else
            "from a matched start the position effect has the opposite sign" if p < alpha else
            "no position effect from a matched start"
        )  # fmt: skip
        rows.append(row(
            STARTING, label, holds, rho, p,
            ("" if scope == "all" else f"{scope}: ")
            + f"Spearman rho of -(steps from L0 to L1) with position {rho:+.2f} "
            f"({_agree(rec, 'share its sign')}; joint permutation {fmt_p(p)}; raw forget score "
            f"rho {raw_rho:+.2f}): {what}",
        ))  # fmt: skip
    for rec in control.to_dict("records"):
        method, p = str(rec[sc.METHOD]), float(rec["p_position"])
        corr = float(rec["corr_position_start"])
        if math.isfinite(corr) and abs(corr) >= collinearity_limit:
            rows.append(row(STARTING, f"{method}/regression", None, math.nan, math.nan,
                            f"{method}: forget ~ position + start: undetermined, position and "
                            f"start correlate {corr:+.2f} (|r| >= {collinearity_limit:g})"))  # fmt: skip
            continue
        if not math.isfinite(p):
            rows.append(row(STARTING, f"{method}/regression", None, math.nan, math.nan,
                            f"{method}: regression not identifiable ({rec['n']} runs)"))  # fmt: skip
            continue
        rows.append(row(
            STARTING, f"{method}/regression", p < alpha, float(rec["coef_position"]), p,
            f"{method}: forget ~ position + starting forget-label log-lik over {rec['n']} runs: "
            f"position {fmt(rec['coef_position'], digits)} ± {fmt(rec['se_position'], digits)} "
            f"per position ({fmt_p(p)}), start {fmt(rec['coef_start'], digits)} "
            f"({fmt_p(float(rec['p_start']))}); corr(position, start) {corr:+.2f}",
        ))  # fmt: skip
    return rows


def divergence_rows(fits: pd.DataFrame, digits: int = 3) -> list[dict]:
    """Headline and per-method rows: does the distance between paths grow exponentially?"""
    rows, grows = [], []
    for rec in fits.to_dict("records"):
        slope, n = float(rec[sc.SLOPE]), int(rec[sc.N_POINTS])
        method, best = str(rec[sc.METHOD]), rec.get("best_model")
        if not isinstance(best, str) or not math.isfinite(slope):
            rows.append(row(DIVERGENCE, method, None, slope, math.nan,
                            f"{method}: no fit ({n} constant-lr steps)"))  # fmt: skip
            continue
        holds = best == "exponential" and slope > 0
        grows.append((method, slope, best, holds))
        aics = ", ".join(
            f"{m} {fmt(float(rec[f'aic_{m}']), 1)}" for m in ("exponential", "linear", "saturating")
        )
        rows.append(row(
            DIVERGENCE, method, holds, slope, math.nan,
            f"{method}: over {n} constant-lr steps the RE distance between paths fits best as "
            f"{best} (AIC {aics}; log slope {fmt(slope, digits)}/step)",
        ))  # fmt: skip
    if not grows:
        return [row(DIVERGENCE, "all", None, math.nan, math.nan,
                    "no divergence fit (no pair of paths over the same stages)"), *rows]  # fmt: skip
    k = sum(h for *_, h in grows)
    listing = ", ".join(f"{m} {b}" for m, _, b, _ in grows)
    text = (f"exponential growth of the RE distance between paths is the best fit (AIC, against "
            f"linear and saturating) for {k} of {len(grows)} methods: {listing}")  # fmt: skip
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
