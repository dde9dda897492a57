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
    assert head["holds"].all()
    recency = head.loc["recency"]
    assert "in 4 of 4 method x seed cells" in recency["detail"]
    assert "chance per cell 1/15" in recency["detail"]  # 2 of 6 paths have C last
    assert recency["p_value"] == pytest.approx((1 / 15) ** 4)
    assert "drop after 1 update (lr > 0): 4 of 4" in recency["detail"]
    assert "drop after 5 updates (lr > 0): 4 of 4" in recency["detail"]
    assert head.loc["position_effect", "value"] < -0.9
    assert "position still explains the forget score in 2 of 2" in head.loc[
        "starting_point", "detail"]  # fmt: skip


def test_no_recency_when_rates_reverse() -> None:
    traj, scores = _inputs(recency=False)
    v = verdicts.compute_verdicts(traj, scores, syn.divergence_fits())
    assert not v.recency["holds"].any()
    recency = _headline(v).loc["recency"]
    assert not recency["holds"] and recency["value"] == 0.0
    assert "no recency effect beyond chance" in recency["detail"]
    position = _headline(v).loc["position_effect"]
    assert position["holds"] and "larger forget score" in position["detail"]


def test_one_seed_leaves_path_dependence_undefined() -> None:
    traj, scores = _inputs(seeds=(0,))
    v = verdicts.compute_verdicts(traj, scores, syn.divergence_fits())
    dependence = v.summary[v.summary["verdict"] == "path_dependence"]
    assert dependence["holds"].isna().all()
    assert dependence["detail"].str.contains("ratio undefined with one seed").all()
    # one seed, 6 paths: the strict test has chance 1/15 per cell, 2 cells
    assert _headline(v).loc["recency", "p_value"] == pytest.approx(1 / 225)


def test_collinear_start_is_stated() -> None:
    traj, scores = _inputs(noise=0.0)
    v = verdicts.compute_verdicts(traj, scores, syn.divergence_fits())
    start = _headline(v).loc["starting_point"]
    assert pd.isna(start["holds"]) and "collinear" in start["detail"]


def test_settings_from_parameters() -> None:
    s = verdicts.VerdictSettings.from_parameters({"drop_steps": [2], "alpha": 0.01})
    assert s.drop_steps == (2,) and s.alpha == 0.01 and s.min_r2 == 0.8
    with pytest.raises(ValueError, match="unknown report.verdicts parameters"):
        verdicts.VerdictSettings.from_parameters({"speed_fraction": 0.5})


@pytest.mark.parametrize(
    ("slope", "r2", "holds", "phrase"),
    [
        (0.3, 0.95, True, "grows exponentially"),
        (0.3, 0.2, False, "fit is loose"),
        (-0.1, 0.99, False, "does not grow"),
        (math.nan, math.nan, None, "no fit"),
    ],
)
def test_divergence_rows(slope: float, r2: float, holds, phrase: str) -> None:
    fits = pd.DataFrame([{"method": "ga", "slope": slope, "intercept": 0.0, "r2": r2,
                          "n_points": 4}])  # fmt: skip
    head, row = wording.divergence_rows(fits, min_r2=0.8)
    assert row["holds"] is holds and phrase in row["detail"]
    assert head["scope"] == "all" and head["holds"] == (holds if holds is not None else None)


def test_single_path_run_says_there_is_nothing_to_compare() -> None:
    trajs = syn.trajectories(paths=("BCA",), methods=("npo",), seeds=(0,))
    traj = tables.concat_trajectories(list(trajs.values()))
    fits = pd.DataFrame([{"method": "npo", "slope": math.nan, "intercept": math.nan,
                          "r2": math.nan, "n_points": 0}])  # fmt: skip
    v = verdicts.compute_verdicts(traj, syn.evaluation_scores(trajs), fits)
    head = _headline(v)
    assert head["holds"].isna().all()
    assert "no method x seed cell compares" in head.loc["recency", "detail"]
    assert "no cell with paths at different positions" in head.loc["position_effect", "detail"]
    assert "only one path" in head.loc["path_dependence", "detail"]
    assert "cannot separate position" in head.loc["starting_point", "detail"]
    assert "no divergence fit" in head.loc["divergence_growth", "detail"]
