"""Verdicts end to end: statistics worded into the summary, on synthetic runs."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from path_unlearning import schemas
from path_unlearning.report import tables, verdicts, wording
from tests.report import synthetic as syn


def _inputs(recency: bool = True, seeds=(0, 1), noise: float = 2.0) -> tuple[pd.DataFrame, ...]:
    trajs = syn.trajectories(seeds=seeds, recency=recency, start_noise=noise)
    return tables.concat_trajectories(list(trajs.values())), syn.evaluation_scores(trajs)


def _headline(v: verdicts.Verdicts) -> pd.DataFrame:
    return v.summary[v.summary["scope"] == "all"].set_index("verdict")


def test_summary_leads_with_one_line_per_verdict() -> None:
    traj, scores = _inputs()
    v = verdicts.compute_verdicts(traj, scores, syn.divergence_fits())
    assert list(v.summary.columns) == list(schemas.SUMMARY.names)
    assert str(v.summary["holds"].dtype) == "boolean"
    head = _headline(v)
    assert list(head.index) == list(wording.VERDICT_ORDER)
    recency = head.loc["recency"]
    assert recency["holds"]
    assert "in 4 of 4 method x replicate cells" in recency["detail"]
    assert "2 of 2 replicates above chance" in recency["detail"]
    # 2 replicates, their 2 methods ordered alike: (1/15)^2, not (1/15)^4
    assert recency["p_value"] == pytest.approx((1 / 15) ** 2)
    assert "drop after 1 update (lr > 0): 4 of 4 cells" in recency["detail"]
    assert "drop after 5 updates (lr > 0): 4 of 4 cells" in recency["detail"]
    assert head.loc["position_effect", "value"] < -0.9
    assert head.loc["divergence_growth", "holds"]


def test_no_recency_when_rates_reverse() -> None:
    traj, scores = _inputs(recency=False)
    v = verdicts.compute_verdicts(traj, scores, syn.divergence_fits())
    assert not v.recency["holds"].any()
    recency = _headline(v).loc["recency"]
    assert not recency["holds"] and recency["value"] == 0.0
    assert "no recency effect beyond chance" in recency["detail"]
    position = _headline(v).loc["position_effect"]
    assert "larger forget score" in position["detail"] or not position["holds"]
    assert position["value"] > 0.9


def test_one_seed_leaves_path_dependence_undefined() -> None:
    traj, scores = _inputs(seeds=(0,))
    v = verdicts.compute_verdicts(traj, scores, syn.divergence_fits())
    dependence = v.summary[v.summary["verdict"] == "path_dependence"]
    assert dependence["holds"].isna().all()
    assert dependence["detail"].str.contains("one replicate, no replicate noise").all()
    # one replicate: its 2 methods share one relabelling, so the chance is 1/15
    assert _headline(v).loc["recency", "p_value"] == pytest.approx(1 / 15)
    assert not _headline(v).loc["recency", "holds"]


def test_collinear_start_is_undetermined() -> None:
    traj, scores = _inputs(noise=0.0)
    v = verdicts.compute_verdicts(traj, scores, syn.divergence_fits())
    rows = v.summary[v.summary["scope"].str.endswith("/regression")]
    assert rows["holds"].isna().all() and rows["detail"].str.contains("undetermined").all()


def test_matched_start_decides_the_starting_point_headline() -> None:
    # Synthetic curves fall at 0.3, 0.2 and 0.1 nats/token per step by position; from a
    # common level the forget-last paths are still the slowest.
    traj, scores = _inputs()
    start = _headline(verdicts.compute_verdicts(traj, scores, syn.divergence_fits())).loc[
        "starting_point"
    ]
    assert "matched start" in start["detail"] and start["value"] < 0


def test_settings_from_parameters() -> None:
    s = verdicts.VerdictSettings.from_parameters({"drop_steps": [2], "alpha": 0.01})
    assert s.drop_steps == (2,) and s.alpha == 0.01 and s.matched_drop == 0.5
    with pytest.raises(ValueError, match="unknown report.verdicts parameters"):
        verdicts.VerdictSettings.from_parameters({"speed_fraction": 0.5})


def _fit(slope: float, best) -> pd.DataFrame:
    return pd.DataFrame([{"method": "ga", "slope": slope, "intercept": 0.0, "r2": 0.9,
                          "n_points": 12, "aic_exponential": -90.0, "aic_linear": -80.0,
                          "aic_saturating": -85.0, "best_model": best}])  # fmt: skip


@pytest.mark.parametrize(
    ("slope", "best", "holds", "phrase"),
    [
        (0.3, "exponential", True, "fits best as exponential"),
        (0.3, "saturating", False, "fits best as saturating"),
        (0.3, "linear", False, "fits best as linear"),
        (math.nan, None, None, "no fit"),
    ],
)
def test_divergence_rows(slope: float, best, holds, phrase: str) -> None:
    head, row = wording.divergence_rows(_fit(slope, best))
    assert row["holds"] is holds and phrase in row["detail"]
    assert head["scope"] == "all" and head["holds"] == (holds if holds is not None else None)


def test_single_path_run_says_there_is_nothing_to_compare() -> None:
    trajs = syn.trajectories(paths=("BCA",), methods=("npo",), seeds=(0,))
    traj = tables.concat_trajectories(list(trajs.values()))
    v = verdicts.compute_verdicts(traj, syn.evaluation_scores(trajs), _fit(math.nan, None))
    head = _headline(v)
    assert head["holds"].isna().all()
    assert "no replicate compares" in head.loc["recency", "detail"]
    assert "no replicate with paths at different positions" in head.loc["position_effect", "detail"]
    assert "only one path" in head.loc["path_dependence", "detail"]
    assert "no replicate with paths timed" in head.loc["starting_point", "detail"]
    assert "no divergence fit" in head.loc["divergence_growth", "detail"]
