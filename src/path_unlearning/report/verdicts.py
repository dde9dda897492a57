"""The verdicts of the report: statistics from the tables, then their sentences.

:mod:`~path_unlearning.report.statistics` computes the numbers and
:mod:`~path_unlearning.report.wording` states them; this module holds the
thresholds (``report.verdicts`` parameters) and runs both.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

import pandas as pd

from path_unlearning import schemas as sc
from path_unlearning.metrics import registry
from path_unlearning.report import statistics as st
from path_unlearning.report import wording
from path_unlearning.report.tables import FIT_COLUMNS, require_columns


@dataclass(frozen=True)
class VerdictSettings:
    """Thresholds and test settings of the verdicts (``report.verdicts`` parameters)."""

    forget_score_source: str = "evaluation_scores"
    drop_steps: tuple[int, ...] = (1, 5)
    alpha: float = 0.05
    n_permutations: int = 9999
    exact_limit: int = 100_000
    path_dependence_metric: str = sc.FORGET_SCORE_LABEL
    confidence_level: float = 0.95
    matched_drop: float = 0.5
    collinearity_limit: float = 0.9
    metrics: tuple[str, ...] = field(default_factory=registry.table1_metrics)
    seed: int = 0
    digits: int = 3

    @classmethod
    def from_parameters(cls, params: Mapping[str, Any] | None) -> VerdictSettings:
        """Settings from a parameters mapping; absent keys keep their defaults."""
        params = dict(params or {})
        unknown = set(params) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown report.verdicts parameters: {sorted(unknown)}")
        for key in ("drop_steps", "metrics"):
            if key in params:
                params[key] = tuple(params[key])
        return cls(**params)


@dataclass(frozen=True)
class Verdicts:
    """The summary table and the detail tables behind it."""

    summary: pd.DataFrame
    recency: pd.DataFrame
    recency_tests: pd.DataFrame
    position_effect: pd.DataFrame
    path_dependence: pd.DataFrame
    starting_control: pd.DataFrame


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
        The summary table (headline rows have scope ``all``) and its detail tables.
    """
    s = settings or VerdictSettings()
    require_columns(fits, FIT_COLUMNS, "divergence_fits")
    runs = st.forget_runs(trajectories, scores, s.forget_score_source)
    drops = st.ll_drops(trajectories, s.drop_steps)
    matched = st.matched_start(trajectories, s.matched_drop)
    measures = [
        (st.FORGET_SCORE, runs),
        *((st.drop_measure(t), drops) for t in s.drop_steps),
        (st.MATCHED, matched),
    ]
    cells = pd.concat(
        [st.strict_recency(table, measure) for measure, table in measures], ignore_index=True
    )
    perm = {"n_permutations": s.n_permutations, "exact_limit": s.exact_limit, "seed": s.seed}
    recency = st.recency_tests(measures, **perm)
    position = st.position_effect(runs, **perm)
    matched_position = st.position_effect(matched, st.MATCHED, **perm)
    dependence = st.path_dependence(scores, s.metrics, s.alpha, s.confidence_level)
    control = st.starting_control(runs)
    rows = [
        *wording.recency_rows(recency, s.alpha),
        *wording.position_rows(position, s.alpha),
        *wording.path_dependence_rows(
            dependence, s.path_dependence_metric, s.alpha, s.confidence_level, s.digits
        ),
        *wording.starting_rows(
            matched_position, control, position, s.alpha, s.collinearity_limit, s.digits
        ),
        *wording.divergence_rows(fits, s.digits),
    ]
    return Verdicts(wording.summary_table(rows), cells, recency, position, dependence, control)


__all__ = ["VerdictSettings", "Verdicts", "compute_verdicts"]
