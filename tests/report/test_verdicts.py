"""Verdicts: counted on constructed cases where each effect holds and where it does not."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from path_unlearning.report import tables, verdicts
from tests.report import synthetic as syn


def _forget(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["method", "seed", "path", "position", "forget_score"])


def _inputs(recency: bool = True, seeds=(0, 1)) -> tuple[pd.DataFrame, pd.DataFrame]:
    trajs = syn.trajectories(seeds=seeds, recency=recency)
    return tables.concat_trajectories(list(trajs.values())), syn.evaluation_scores(trajs)


def test_recency_cells_constructed() -> None:
    forget = _forget([
        # ga/0: the path with C last (ABC) scores lowest -> holds
        ("ga", 0, "ABC", 3, 1.0), ("ga", 0, "ACB", 2, 2.0), ("ga", 0, "CAB", 1, 3.0),
        # ga/1: a path with C first scores lowest -> does not hold
        ("ga", 1, "ABC", 3, 2.0), ("ga", 1, "ACB", 2, 1.5), ("ga", 1, "CAB", 1, 0.5),
        # npo/0: tie between a last and a non-last path -> does not hold
        ("npo", 0, "ABC", 3, 1.0), ("npo", 0, "CAB", 1, 1.0),
        # npo/1: every path has C last -> tells nothing
        ("npo", 1, "ABC", 3, 1.0), ("npo", 1, "BAC", 3, 2.0),
        # npo/2: both last paths tie at the minimum -> holds
        ("npo", 2, "ABC", 3, 1.0), ("npo", 2, "BAC", 3, 1.0), ("npo", 2, "CAB", 1, 4.0),
    ])  # fmt: skip
    cells = verdicts.recency_cells(forget)
    got = {(r.method, r.seed): (None if r.holds is pd.NA else bool(r.holds))
           for r in cells.itertuples()}  # fmt: skip
    assert got == {("ga", 0): True, ("ga", 1): False, ("npo", 0): False, ("npo", 1): None,
                   ("npo", 2): True}  # fmt: skip
    npo2 = cells[(cells["method"] == "npo") & (cells["seed"] == 2)].iloc[0]
    assert npo2["smallest"] == "ABC,BAC" and npo2["last_paths"] == "ABC,BAC"
    summary = {r["scope"]: r for r in verdicts.recency_verdict(cells)}
    assert summary["all"]["value"] == pytest.approx(2 / 4)
    assert summary["all"]["holds"] is False  # 2 of 4 is not a majority
    assert "in 2 of 4 method x seed cells" in summary["all"]["detail"]
    assert summary["ga"]["value"] == pytest.approx(0.5)
    assert summary["npo"]["value"] == pytest.approx(0.5)


def test_recency_holds_on_synthetic_runs() -> None:
    traj, scores = _inputs(recency=True)
    v = verdicts.compute_verdicts(traj, scores, syn.divergence_fits())
    assert v.recency["holds"].all() and len(v.recency) == 4  # 2 methods x 2 seeds
    row = v.summary[(v.summary["verdict"] == "recency_effect") & (v.summary["scope"] == "all")]
    assert bool(row["holds"].item()) and row["value"].item() == 1.0
    assert "in 4 of 4 method x seed cells" in row["detail"].item()


def test_recency_fails_when_rates_reverse() -> None:
    traj, scores = _inputs(recency=False)
    v = verdicts.compute_verdicts(traj, scores, syn.divergence_fits())
    assert not v.recency["holds"].any()
    row = v.summary[(v.summary["verdict"] == "recency_effect") & (v.summary["scope"] == "all")]
    assert not bool(row["holds"].item()) and row["value"].item() == 0.0
    assert "no recency effect" in row["detail"].item()


def test_forget_scores_from_trajectory_match_evaluation() -> None:
    traj, scores = _inputs()
    a = verdicts.forget_scores(traj, scores, "evaluation_scores")
    b = verdicts.forget_scores(traj, scores, "trajectory")
    merged = a.merge(b, on=["method", "seed", "path", "position"])
    assert len(merged) == len(a) == 24
    assert merged["forget_score_x"].to_numpy() == pytest.approx(merged["forget_score_y"])
    with pytest.raises(ValueError, match="forget_score_source"):
        verdicts.forget_scores(traj, scores, "guess")


def test_unlearning_speed_fastest_and_slowest() -> None:
    traj, _ = _inputs(recency=True)
    speed = verdicts.unlearning_speed(traj, fraction=0.5)
    ga = speed[speed["method"] == "ga"]
    # C first drops 3 nats/step, C last 1 nat/step: target = 0.5 * ~15 = 7.5
    assert (
        set(ga.iloc[:2]["path"]) == {"CAB", "CBA"} and (ga.iloc[:2]["steps_to_target"] == 3).all()
    )
    assert (
        set(ga.iloc[-2:]["path"]) == {"ABC", "BAC"} and ga.iloc[-2:]["steps_to_target"].isna().all()
    )
    assert list(ga["rank"]) == [1, 2, 3, 4, 5, 6]
    rows = verdicts.speed_verdict(speed)
    assert (
        rows[0]["scope"] == "ga" and "slowest" in rows[0]["detail"] and "never" in rows[0]["detail"]
    )
    traj_rev, _ = _inputs(recency=False)
    rev = verdicts.unlearning_speed(traj_rev, fraction=0.5)
    assert rev[rev["method"] == "ga"].iloc[0]["position"] == 3  # now C last is fastest
    with pytest.raises(ValueError, match="speed_fraction"):
        verdicts.unlearning_speed(traj, fraction=0.0)


def test_path_dependence_with_and_without_seed_spread() -> None:
    rows = []
    for path, base in (("ABC", 1.0), ("CAB", 5.0)):
        for seed, noise in ((0, -0.1), (1, 0.1)):
            rows.append((path, "ga", seed, 1, "forget_score_label", base + noise))
            rows.append((path, "ga", seed, 1, "facts_utility", 0.5 + 2 * noise))  # noise only
    scores = pd.DataFrame(rows, columns=["path", "method", "seed", "position", "metric", "value"])
    table = verdicts.path_dependence(scores, ["forget_score_label", "facts_utility"], ratio=2.0)
    forget = table[table["metric"] == "forget_score_label"].iloc[0]
    assert forget["path_std"] == pytest.approx(math.sqrt(8.0))  # means 1 and 5
    assert forget["seed_std"] == pytest.approx(math.sqrt(0.02))  # pooled, ddof=1
    assert bool(forget["holds"])
    facts = table[table["metric"] == "facts_utility"].iloc[0]
    assert facts["path_std"] == pytest.approx(0.0) and not bool(facts["holds"])
    one_seed = verdicts.path_dependence(scores[scores["seed"] == 0], ["forget_score_label"])
    assert one_seed["holds"].isna().all() and math.isnan(one_seed["seed_std"].item())
    detail = verdicts.path_dependence_verdict(one_seed, 2.0)[0]["detail"]
    assert "seed-to-seed spread unavailable (one seed)" in detail


@pytest.mark.parametrize(
    ("slope", "r2", "holds", "phrase"),
    [
        (0.3, 0.95, True, "grows exponentially"),
        (0.3, 0.2, False, "fit is loose"),
        (-0.1, 0.99, False, "does not grow"),
        (math.nan, math.nan, None, "no fit"),
    ],
)
def test_divergence_verdict(slope: float, r2: float, holds, phrase: str) -> None:
    fits = pd.DataFrame([{"method": "ga", "slope": slope, "intercept": 0.0, "r2": r2,
                          "n_points": 4}])  # fmt: skip
    row = verdicts.divergence_verdict(fits, min_r2=0.8)[0]
    assert row["holds"] is holds and phrase in row["detail"]


def test_utility_and_starting_point() -> None:
    traj, scores = _inputs()
    rows = verdicts.utility_verdict(scores)
    math_ga = next(r for r in rows if r["scope"] == "ga/math_utility")
    assert math_ga["value"] == pytest.approx(-0.1)  # -0.05 * mean position 2
    assert "lowest ABC" in math_ga["detail"] or "lowest BAC" in math_ga["detail"]
    start = verdicts.starting_point_verdict(tables.starting_points(traj))[0]
    assert start["holds"] is True and start["value"] == pytest.approx(1.0)
    assert "p=1: -20.000" in start["detail"] and "start lower" in start["detail"]
    flat = tables.starting_points(traj).assign(start_forget_label_ll=-5.0)
    assert verdicts.starting_point_verdict(flat)[0]["holds"] is None


def test_summary_table_shape_one_seed() -> None:
    traj, scores = _inputs(seeds=(0,))
    v = verdicts.compute_verdicts(traj, scores, syn.divergence_fits())
    assert list(v.summary.columns) == list(verdicts.SUMMARY_COLUMNS)
    assert str(v.summary["holds"].dtype) == "boolean"
    kinds = set(v.summary["verdict"])
    assert kinds == {"recency_effect", "unlearning_speed", "path_dependence", "divergence_growth",
                     "utility", "starting_point"}  # fmt: skip
    dependence = v.summary[v.summary["verdict"] == "path_dependence"]
    assert dependence["holds"].isna().all()
    assert dependence["detail"].str.contains("unavailable").all()


def test_single_path_run_says_there_is_nothing_to_compare() -> None:
    trajs = syn.trajectories(paths=("BCA",), methods=("npo",), seeds=(0,))
    traj = tables.concat_trajectories(list(trajs.values()))
    fits = pd.DataFrame([{"method": "npo", "slope": math.nan, "intercept": math.nan,
                          "r2": math.nan, "n_points": 0}])  # fmt: skip
    v = verdicts.compute_verdicts(traj, syn.evaluation_scores(trajs), fits)
    assert v.summary["holds"].isna().all()
    details = dict(zip(v.summary["verdict"], v.summary["detail"]))
    assert "no method x seed cell compares" in details["recency_effect"]
    assert "only one path (BCA)" in details["unlearning_speed"]
    assert "only one path, no spread" in details["path_dependence"]
    assert "no fit" in details["divergence_growth"]
    assert "too few distinct positions" in details["starting_point"]
