"""Is the run in the paper's regime? Targets checked on every cell of ``evaluation_scores``.

The paper's models stay usable after unlearning (Table 1: forget scores 0.05 to
15 nats per token, utilities no worse than -2.4 and -0.55), and before
unlearning every stage's skill coexists on every path. A run whose unlearning
drives the forget label below the uniform per-token level measures collapse,
not forgetting; its verdicts then change with the processor's rounding. Each
target is one row: the worst cell, where it is, and whether it holds.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from path_unlearning import schemas as sc

REGIME_COLUMNS = ["target", "threshold", "worst", "where", "n_cells", "holds"]


def _wide(scores: pd.DataFrame) -> pd.DataFrame:
    keys = [sc.METHOD, sc.SEED, sc.PATH, sc.POSITION]
    return scores.pivot_table(index=keys, columns=sc.METRIC, values=sc.VALUE).reset_index()


def _where(row: pd.Series, with_method: bool = True) -> str:
    method = f"{row[sc.METHOD]} " if with_method else ""
    return f"{method}{row[sc.PATH]} s{int(row[sc.SEED])}"


def _extreme(
    wide: pd.DataFrame, column: str, lowest: bool, with_method: bool = True
) -> tuple[float, str, int]:
    values = wide[column].dropna() if column in wide else pd.Series(dtype=float)
    if values.empty:
        return math.nan, "", 0
    i = values.idxmin() if lowest else values.idxmax()
    return float(values[i]), _where(wide.loc[i], with_method), len(values)


def _spread(wide: pd.DataFrame, column: str) -> tuple[float, str, int]:
    if column not in wide:
        return math.nan, "", 0
    before = wide.drop_duplicates([sc.SEED, sc.PATH])
    spreads = before.groupby(sc.SEED)[column].agg(lambda v: v.max() - v.min())
    if spreads.empty:
        return math.nan, "", 0
    return float(spreads.max()), f"s{int(spreads.idxmax())}", len(spreads)


def regime_targets(
    scores: pd.DataFrame, vocab_size: int, targets: Mapping[str, Any]
) -> pd.DataFrame:
    """Every target of ``report.regime`` against the worst cell of the run.

    Args:
        scores: ``evaluation_scores``.
        vocab_size: The tokenizer's vocabulary size (``uniform`` = ``-log(V)``).
        targets: The ``report.regime`` parameters.

    Returns:
        :data:`REGIME_COLUMNS`; ``holds`` is NA where the run has no such cell.
    """
    wide = _wide(scores)
    uniform = -math.log(vocab_size)
    floor = targets.get("min_label_ll_tok_after", "uniform")
    floor = uniform if floor == "uniform" else float(floor)
    first_ga = wide[(wide[sc.METHOD] == "ga") & (wide[sc.POSITION] == 1)]
    checks = [
        (f"forget label per token after unlearning >= {floor:.2f} (-log {vocab_size})",
         floor, _extreme(wide, sc.after(sc.FORGET_LABEL_TOK), True), True),
        ("GA forget score per token, forget stage first >=",
         targets["min_ga_forget_first"], _extreme(first_ga, sc.FORGET_SCORE_LABEL, True), True),
        ("facts utility per token >=", targets["min_facts_utility"],
         _extreme(wide, sc.FACTS_UTILITY, True), True),
        ("math utility >=", targets["min_math_utility"],
         _extreme(wide, sc.MATH_UTILITY, True), True),
        ("before: forget label ll (summed) >=", targets["min_label_ll_before"],
         _extreme(wide, sc.before(sc.FORGET_LABEL_LL), True, False), True),
        ("before: label ll spread across paths <=", targets["max_label_spread"],
         _spread(wide, sc.before(sc.FORGET_LABEL_LL)), False),
        ("before: facts ll spread across paths <=", targets["max_facts_spread"],
         _spread(wide, sc.before(sc.FACTS_LL)), False),
        ("before: math accuracy >=", targets["min_math_before"],
         _extreme(wide, sc.before(sc.MATH_ACC), True, False), True),
    ]  # fmt: skip
    rows = []
    for target, limit, (worst, where, n), at_least in checks:
        threshold = float(limit)
        holds = None if n == 0 else (worst >= threshold if at_least else worst <= threshold)
        rows.append({"target": target, "threshold": threshold, "worst": worst,
                     "where": where, "n_cells": n, "holds": holds})  # fmt: skip
    out = pd.DataFrame(rows, columns=REGIME_COLUMNS)
    out["holds"] = out["holds"].astype("boolean")
    return out


__all__ = ["REGIME_COLUMNS", "regime_targets"]
