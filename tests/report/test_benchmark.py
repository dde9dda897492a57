"""The report's "Benchmark metrics by path" section on synthetic tables."""

from __future__ import annotations

import pandas as pd
import pytest

from path_unlearning.report.benchmark import (
    MATCHED_POSITION,
    MATCHED_RECENCY,
    RELEARN_MATCHED,
    RELEARN_POSITION,
    RELEARN_RECENCY,
    BenchmarkVerdictSettings,
    benchmark_table,
    benchmark_verdicts,
    relearn_matched,
)
from path_unlearning.report.wording import DEPENDENCE
from tests.report import synthetic as syn


def _headline(verdicts: pd.DataFrame, verdict: str, scope: str) -> pd.Series:
    rows = verdicts[(verdicts["verdict"] == verdict) & (verdicts["scope"] == scope)]
    assert len(rows) == 1, (verdict, scope)
    return rows.iloc[0]


def test_a_path_effect_is_found_in_every_tested_metric() -> None:
    scores = syn.benchmark_scores(path_effect=True)
    verdicts, dependence = benchmark_verdicts(scores, syn.relearning_curves(path_effect=True))
    for metric in BenchmarkVerdictSettings().tested:
        assert bool(_headline(verdicts, DEPENDENCE, metric)["holds"]) is True
    assert set(dependence["metric"]) == set(BenchmarkVerdictSettings().tested)
    assert dependence["holds"].all()
    # relearn_half_steps falls with position: forget-last (position 3) relearns fastest
    recency = _headline(verdicts, RELEARN_RECENCY, "all")
    assert bool(recency["holds"]) is True
    assert recency["value"] == 1.0  # every method x replicate cell strictly ordered
    position = _headline(verdicts, RELEARN_POSITION, "all")
    assert bool(position["holds"]) is True and position["value"] < 0
    # From a common level too: the synthetic forget-last paths climb fastest everywhere.
    assert bool(_headline(verdicts, MATCHED_RECENCY, "all")["holds"]) is True
    assert _headline(verdicts, MATCHED_POSITION, "all")["value"] < 0


def test_no_path_effect_gives_no_verdict() -> None:
    scores = syn.benchmark_scores(path_effect=False)
    verdicts, dependence = benchmark_verdicts(scores, syn.relearning_curves(path_effect=False))
    for metric in BenchmarkVerdictSettings().tested:
        assert bool(_headline(verdicts, DEPENDENCE, metric)["holds"]) is False
    assert bool(_headline(verdicts, RELEARN_RECENCY, "all")["holds"]) is False
    assert bool(_headline(verdicts, RELEARN_POSITION, "all")["holds"]) is False
    assert bool(_headline(verdicts, MATCHED_RECENCY, "all")["holds"]) is False


def test_recency_p_value_counts_replicates_not_cells() -> None:
    # 3 replicates, 2 methods sharing one permutation per replicate: with 2 of 6
    # paths forget-last, a replicate's chance to order all methods is 1/15, so
    # "every cell holds" has p = 15^-3 at best, whatever the number of methods.
    verdicts, _ = benchmark_verdicts(
        syn.benchmark_scores(path_effect=True), syn.relearning_curves(path_effect=True)
    )
    assert _headline(verdicts, RELEARN_RECENCY, "all")["p_value"] == pytest.approx(15.0**-3)


def test_table_rows_by_metric_position_and_path_with_a_column_per_method() -> None:
    scores = syn.benchmark_scores(methods=("ga", "npo"), seeds=(0, 1, 2))
    settings = BenchmarkVerdictSettings()
    table = benchmark_table(scores, settings)
    assert list(table.columns) == ["position", "path", "metric", "n_seeds", "ga", "npo"]
    assert list(pd.unique(table["metric"])) == list(settings.shown)
    assert (table["n_seeds"] == 3).all()
    first = table.iloc[0]
    values = scores[(scores["metric"] == first["metric"]) & (scores["path"] == first["path"])
                    & (scores["method"] == "ga")]["value"]  # fmt: skip
    assert first["ga"] == f"{values.mean():.3f} ± {values.std(ddof=1):.3f}"


def test_unknown_benchmark_parameter_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown report.benchmark parameters"):
        BenchmarkVerdictSettings.from_parameters({"testd": []}, {}, 3)


def test_settings_take_shared_test_settings_from_the_verdicts() -> None:
    s = BenchmarkVerdictSettings.from_parameters(
        {"tested": ["privleak_after"]}, {"alpha": 0.01, "drop_steps": [1]}, 2
    )
    assert s.tested == ("privleak_after",) and s.alpha == 0.01 and s.digits == 2


def test_censored_relearning_is_undetermined_not_no() -> None:
    # No run back half-way within the steps: every relearn_half_steps is inf.
    scores = syn.benchmark_scores(path_effect=True)
    scores.loc[scores["metric"] == "relearn_half_steps", "value"] = float("inf")
    verdicts, _ = benchmark_verdicts(scores, syn.relearning_curves(path_effect=True))
    for verdict, scope in (
        (DEPENDENCE, "relearn_half_steps"), (RELEARN_RECENCY, "all"), (RELEARN_POSITION, "all"),
    ):  # fmt: skip
        row = _headline(verdicts, verdict, scope)
        assert pd.isna(row["holds"]) and "no finite value" in row["detail"]
    # A few censored runs: the rest is still tested, and the detail says how many.
    scores = syn.benchmark_scores(path_effect=True)
    first = scores.index[scores["metric"] == "relearn_half_steps"][0]
    scores.loc[first, "value"] = float("inf")
    curves = syn.relearning_curves()
    head = _headline(benchmark_verdicts(scores, curves)[0], DEPENDENCE, "relearn_half_steps")
    assert "1 of 36 runs not finite" in head["detail"]


def test_matched_relearning_times_every_path_over_one_stretch() -> None:
    # One cell: ABC starts relearning at -3 and climbs 1 nat per token a step; CAB,
    # unlearned less, starts at -2 and climbs 0.5 a step. The common stretch is -2 (the
    # highest start) to -1.5: ABC crosses -2 at step 1 and -1.5 at step 1.5 (0.5
    # steps), CAB needs 1 step from its start.
    rows = []
    for path, position, start, rate in (("ABC", 3, -3.0, 1.0), ("CAB", 1, -2.0, 0.5)):
        for step in range(4):
            rows.append({"path": path, "method": "ga", "seed": 0, "position": position,
                         "step": step, "forget_label_ll_tok": min(start + rate * step, -0.5)})  # fmt: skip
    matched = relearn_matched(pd.DataFrame(rows), 0.5).set_index("path")[RELEARN_MATCHED]
    assert matched["ABC"] == pytest.approx(0.5) and matched["CAB"] == pytest.approx(1.0)
