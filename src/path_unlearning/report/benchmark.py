"""The report's "Benchmark metrics by path" section: its table and its verdicts.

The benchmark metrics of ``metrics/registry.py`` (``BENCHMARK_METRICS``) are
tested with the statistics of the headline verdicts
(:mod:`~path_unlearning.report.statistics`), so they count replicates too:

* does a metric differ across paths beyond replicate noise: the paths x
  replicates two-way test, per method;
* does the forget-last position relearn faster: the strict recency test on the
  steps to recover half the forgotten log-likelihood (fewer steps: faster),
  and its Spearman correlation with position, both under the joint permutation
  of path labels within each replicate;
* the same from a matched level: a path unlearned less starts relearning higher
  and gets half-way back sooner for that reason alone, so the steps are also
  counted over one common stretch of every cell (as the headline's matched
  start), which separates the position from where relearning starts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import pandas as pd

from path_unlearning import schemas as sc
from path_unlearning.metrics import registry
from path_unlearning.report import replicates as rp
from path_unlearning.report import statistics as st
from path_unlearning.report import wording
from path_unlearning.report.tables import summarise_scores, table1_display
from path_unlearning.report.wording import DEPENDENCE

RELEARN_RECENCY, RELEARN_POSITION = "relearn_recency", "relearn_position"
MATCHED_RECENCY, MATCHED_POSITION = "relearn_matched_recency", "relearn_matched_position"
RELEARN_MATCHED = "relearn_matched_steps"


@dataclass(frozen=True)
class BenchmarkVerdictSettings:
    """``report.benchmark`` parameters; test settings are those of ``report.verdicts``."""

    shown: tuple[str, ...] = registry.BENCHMARK_SHOWN
    tested: tuple[str, ...] = registry.BENCHMARK_TESTED
    relearn_metric: str = registry.RELEARN_HALF_STEPS
    alpha: float = 0.05
    confidence_level: float = 0.95
    matched_drop: float = 0.5  # the matched start's stretch, here risen instead of fallen
    n_permutations: int = 9999
    exact_limit: int = 100_000
    seed: int = 0
    digits: int = 3

    @classmethod
    def from_parameters(
        cls, benchmark: Mapping[str, Any] | None, verdicts: Mapping[str, Any] | None, digits: int
    ) -> BenchmarkVerdictSettings:
        """Settings from ``report.benchmark`` and the shared keys of ``report.verdicts``."""
        names = {f.name for f in fields(cls)}
        own = dict(benchmark or {})
        unknown = set(own) - {"shown", "tested", "relearn_metric"}
        if unknown:
            raise ValueError(f"unknown report.benchmark parameters: {sorted(unknown)}")
        shared = {k: v for k, v in (verdicts or {}).items() if k in names}
        for key in ("shown", "tested"):
            if key in own:
                own[key] = tuple(own[key])
        return cls(**shared, **own, digits=digits)


def benchmark_table(scores: pd.DataFrame, settings: BenchmarkVerdictSettings) -> pd.DataFrame:
    """Rows by metric, position and path, one ``mean ± std`` column per method (over replicates)."""
    display = table1_display(summarise_scores(scores, settings.shown), settings.digits)
    rank = {m: i for i, m in enumerate(settings.shown)}
    display = display.assign(_m=display[sc.METRIC].map(rank)).sort_values(
        ["_m", sc.POSITION, sc.PATH], kind="stable"
    )
    return display.drop(columns="_m").reset_index(drop=True)


def _runs(scores: pd.DataFrame, metric: str) -> pd.DataFrame:
    """One row per method x seed x path with the metric as a column."""
    kept = scores[scores[sc.METRIC] == metric]
    return kept.rename(columns={sc.VALUE: metric})[[*st.RUN_KEYS, metric]]


def _censored(values: pd.Series) -> tuple[int, int]:
    """Runs without a finite value (``inf``: not back within the relearning steps), and all."""
    return int((~np.isfinite(values.astype(float))).sum()), len(values)


def _all_censored(verdict: str, metric: str, n: int) -> dict:
    return wording.row(
        verdict, "all" if verdict != DEPENDENCE else metric, None, math.nan, math.nan,
        f"{metric}: no finite value in {n} runs (inf: not back within the relearning "
        "steps): the data cannot tell",
    )  # fmt: skip


def relearn_matched(curves: pd.DataFrame, rise: float) -> pd.DataFrame:
    """Relearning steps from a common level L0 to ``L0 + rise`` (per-token label ll).

    Per method x seed cell, L0 is the highest level its paths start relearning from
    (after unlearning), so every path is timed over the same stretch: a path that
    was unlearned less starts higher and would otherwise need fewer steps to get
    half-way back. ``inf``: not there within the steps (censored).

    Returns:
        Columns ``method, seed, path, position`` and ``relearn_matched_steps``.
    """
    rows = []
    for (method, seed), cell in curves.groupby([sc.METHOD, sc.SEED], sort=False):
        runs = list(cell.sort_values(sc.STEP).groupby([sc.PATH, sc.POSITION], sort=False))
        # matched_start_steps times falling curves: relearning rises, so negate it.
        falling = [(g[sc.STEP].to_numpy(float), -g[sc.FORGET_LABEL_TOK].to_numpy(float))
                   for _, g in runs]  # fmt: skip
        _, _, steps = rp.matched_start_steps(falling, rise)
        rows += [{sc.METHOD: method, sc.SEED: seed, sc.PATH: path, sc.POSITION: position,
                  RELEARN_MATCHED: t} for ((path, position), _), t in zip(runs, steps)]  # fmt: skip
    return pd.DataFrame(rows, columns=[*st.RUN_KEYS, RELEARN_MATCHED])


def _relearn_rows(
    runs: pd.DataFrame, metric: str, names: tuple[str, str], what: str,
    s: BenchmarkVerdictSettings,
) -> list[dict]:  # fmt: skip
    """Strict recency and position rows of one relearning-speed column (fewer: faster)."""
    recency_name, position_name = names
    censored, n = _censored(runs[metric])
    if n and censored == n:
        return [_all_censored(v, metric, n) for v in names]
    perm = {"n_permutations": s.n_permutations, "exact_limit": s.exact_limit, "seed": s.seed}
    tests = st.recency_tests([(metric, runs)], **perm)
    head = tests[tests["scope"] == "all"].iloc[0] if len(tests) else None
    if head is None or head["n_replicates"] == 0:
        recency = wording.row(recency_name, "all", None, math.nan, math.nan, wording.NO_CELL)
    else:
        k, n, p = int(head["n_holds"]), int(head["n_cells"]), float(head["p_value"])
        holds = p < s.alpha
        recency = wording.row(
            recency_name, "all", holds, k / n, p,
            f"forget-stage-last paths need strictly fewer relearning steps {what} ({metric}) "
            f"than every other path in {k} of {n} method x replicate cells, "
            f"{head['replicates_agree']} of {head['n_replicates']} replicates above chance "
            f"(joint permutation {wording.fmt_p(p)})"
            + (": the forget-last position relearns faster" if holds
               else ": no faster relearning of the forget-last position beyond chance"),
        )  # fmt: skip
    position = st.position_effect(runs, metric, **perm)
    rows = [recency]
    for rec in position.to_dict("records"):
        if rec["n_replicates"] == 0:
            continue
        rho, p = float(rec["rho"]), float(rec["p_value"])
        holds = p < s.alpha
        direction = "later forget stage, faster relearning" if rho < 0 else (
            "later forget stage, slower relearning")  # fmt: skip
        rows.append(wording.row(
            position_name, rec["scope"], holds, rho, p,
            ("" if rec["scope"] == "all" else f"{rec['scope']}: ")
            + f"Spearman rho of {metric} with position {rho:+.2f} "
            f"({rec['replicates_agree']} of {rec['n_replicates']} replicates share its sign), "
            f"joint permutation {wording.fmt_p(p)}" + (f": {direction}" if holds else ": no effect"),
        ))  # fmt: skip
    return rows


def benchmark_verdicts(
    scores: pd.DataFrame,
    curves: pd.DataFrame,
    settings: BenchmarkVerdictSettings | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The section's verdicts and the two-way tests behind the path-dependence ones.

    Returns:
        Summary rows (``report_verdicts`` schema: one headline per tested metric
        with scope the metric, then per method; then the relearning rows), and the
        ``report_path_dependence`` table of the tested metrics.
    """
    s = settings or BenchmarkVerdictSettings()
    dependence = st.path_dependence(scores, s.tested, s.alpha, s.confidence_level)
    rows = []
    for metric in s.tested:
        censored, n = _censored(scores.loc[scores[sc.METRIC] == metric, sc.VALUE])
        if n and censored == n:
            rows.append(_all_censored(DEPENDENCE, metric, n))
            continue
        part = dependence[dependence[sc.METRIC] == metric]
        head, *per_method = wording.path_dependence_rows(
            part, metric, s.alpha, s.confidence_level, s.digits
        )
        if censored:
            head = {**head, "detail": f"{head['detail']} ({censored} of {n} runs not finite: "
                    "a path with one is left out of its method's F test)"}  # fmt: skip
        rows += [{**head, "scope": metric}, *per_method]
    relearn = s.relearn_metric
    rows += _relearn_rows(_runs(scores, relearn), relearn, (RELEARN_RECENCY, RELEARN_POSITION),
                          "to get half-way back", s)  # fmt: skip
    rows += _relearn_rows(
        relearn_matched(curves, s.matched_drop), RELEARN_MATCHED,
        (MATCHED_RECENCY, MATCHED_POSITION),
        f"from a common level (the cell's highest level after unlearning, up "
        f"{s.matched_drop:g} nats per token)", s,
    )  # fmt: skip
    return wording.summary_table(rows), dependence
