"""Report tables: golden Table 1 values, confidence-band math, concatenation."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from path_unlearning import schemas
from path_unlearning.report import tables
from tests.report import synthetic as syn


def _scores(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["path", "method", "seed", "position", "metric", "value"])


@pytest.fixture
def scores() -> pd.DataFrame:
    rows = []
    for seed, value in enumerate([1.0, 2.0, 3.0]):  # mean 2, std 1
        rows.append(("ABC", "ga", seed, 3, "forget_score_label", value))
        rows.append(("ABC", "ga", seed, 3, "facts_utility", 0.5 + 0.1 * seed))
        rows.append(("CAB", "ga", seed, 1, "forget_score_label", 10.0 + 2 * seed))
    rows.append(("ABC", "npo", 0, 3, "forget_score_label", 4.0))  # one seed: no std
    rows.append(("ABC", "ga", 0, 3, "kl_after", 9.0))  # not a Table 1 metric
    return _scores(rows)


def test_summarise_scores_golden(scores: pd.DataFrame) -> None:
    summary = tables.summarise_scores(scores)
    assert list(summary.columns) == ["position", "path", "metric", "method", "mean", "std",
                                     "n_seeds"]  # fmt: skip
    # rows sorted by position, path, metric order of TABLE1_METRICS, method
    assert list(zip(summary["path"], summary["metric"], summary["method"])) == [
        ("CAB", "forget_score_label", "ga"),
        ("ABC", "forget_score_label", "ga"),
        ("ABC", "forget_score_label", "npo"),
        ("ABC", "facts_utility", "ga"),
    ]
    got = summary.set_index(["path", "metric", "method"])
    assert got.loc[("ABC", "forget_score_label", "ga"), "mean"] == pytest.approx(2.0)
    assert got.loc[("ABC", "forget_score_label", "ga"), "std"] == pytest.approx(1.0)
    assert got.loc[("CAB", "forget_score_label", "ga"), "std"] == pytest.approx(2.0)
    assert got.loc[("ABC", "facts_utility", "ga"), "mean"] == pytest.approx(0.6)
    assert got.loc[("ABC", "facts_utility", "ga"), "std"] == pytest.approx(0.1)
    assert math.isnan(got.loc[("ABC", "forget_score_label", "npo"), "std"])
    assert got.loc[("ABC", "forget_score_label", "npo"), "n_seeds"] == 1
    assert "kl_after" not in set(summary["metric"])


def test_table1_display(scores: pd.DataFrame) -> None:
    display = tables.table1_display(tables.summarise_scores(scores), digits=2)
    assert list(display.columns) == ["position", "path", "metric", "n_seeds", "ga", "npo"]
    row = display[(display["path"] == "ABC") & (display["metric"] == "forget_score_label")]
    assert row["ga"].item() == "2.00 ± 1.00"
    assert row["npo"].item() == "4.00"  # one seed: mean only
    facts = display[display["metric"] == "facts_utility"]
    assert facts["npo"].item() == ""  # npo lacks the metric
    assert list(display["position"]) == sorted(display["position"])


def test_format_mean_std() -> None:
    assert tables.format_mean_std(1.23456, 0.1, 3) == "1.235 ± 0.100"
    assert tables.format_mean_std(1.0, math.nan, 1) == "1.0"
    assert tables.format_mean_std(math.inf, 1.0) == "inf"


@pytest.mark.parametrize(
    ("n", "kind", "expected"),
    [
        (2, "t", 12.706204736174707),  # t_{0.975, 1}
        (3, "t", 4.302652729749464),  # t_{0.975, 2}
        (11, "t", 2.2281388519649385),  # t_{0.975, 10}
        (3, "normal", 1.959963984540054),
    ],
)
def test_band_quantile(n: int, kind: str, expected: float) -> None:
    assert tables.band_quantile(n, 0.95, kind) == pytest.approx(expected, rel=1e-9)


def test_band_quantile_edge_cases() -> None:
    assert math.isnan(tables.band_quantile(1))
    assert tables.band_quantile(3, 0.9, "normal") == pytest.approx(1.6448536269514722)
    with pytest.raises(ValueError, match="confidence level"):
        tables.band_quantile(3, 1.5)
    with pytest.raises(ValueError, match="band kind"):
        tables.band_quantile(3, 0.95, "bootstrap")


def test_mean_band_t_interval() -> None:
    band = tables.mean_band([1.0, 2.0, 3.0, math.nan, math.inf], 0.95, "t")
    half = 4.302652729749464 / math.sqrt(3)  # t_{0.975,2} * s / sqrt(n), s = 1
    assert band["n"] == 3
    assert band["mean"] == pytest.approx(2.0)
    assert band["std"] == pytest.approx(1.0)
    assert band["lower"] == pytest.approx(2.0 - half)
    assert band["upper"] == pytest.approx(2.0 + half)


def test_mean_band_normal_and_one_seed() -> None:
    band = tables.mean_band([0.0, 2.0], 0.95, "normal")
    half = 1.959963984540054 * math.sqrt(2.0) / math.sqrt(2)
    assert (band["lower"], band["upper"]) == (pytest.approx(1 - half), pytest.approx(1 + half))
    one = tables.mean_band([5.0])
    assert one["mean"] == 5.0 and one["n"] == 1
    assert math.isnan(one["lower"]) and math.isnan(one["upper"]) and math.isnan(one["std"])
    empty = tables.mean_band([math.nan])
    assert empty["n"] == 0 and math.isnan(empty["mean"])


def test_trajectory_bands_match_mean_band() -> None:
    traj = tables.concat_trajectories(list(syn.trajectories(methods=("ga",), seeds=(0, 1, 2))
                                           .values()))  # fmt: skip
    bands = tables.trajectory_bands(traj, "forget_label_ll")
    assert len(bands) == 6 * 6  # paths x steps
    assert (bands["n"] == 3).all()
    row = bands[(bands["path"] == "BCA") & (bands["step"] == 3)].iloc[0]
    values = traj[(traj["path"] == "BCA") & (traj["step"] == 3)]["forget_label_ll"]
    expected = tables.mean_band(values)
    assert row["mean"] == pytest.approx(expected["mean"])
    assert row["upper"] - row["lower"] == pytest.approx(expected["upper"] - expected["lower"])
    # step 0 has no noise: a zero-width band
    start = bands[bands["step"] == 0]
    assert np.allclose(start["upper"], start["lower"])
    # paths ordered by forget position within each method
    assert list(dict.fromkeys(bands["path"])) == ["CAB", "CBA", "ACB", "BCA", "ABC", "BAC"]


def test_trajectory_bands_skip_diverged_values() -> None:
    traj = syn.trajectory("ABC", "ga", seeds=(0, 1), steps=2)
    traj.loc[(traj["seed"] == 1) & (traj["step"] == 2), "forget_label_ll"] = -math.inf
    bands = tables.trajectory_bands(traj, "forget_label_ll")
    last = bands[bands["step"] == 2].iloc[0]
    assert last["n"] == 1 and math.isnan(last["lower"])


def test_concat_trajectories_orders_and_validates() -> None:
    trajs = syn.trajectories(methods=("npo", "ga"), seeds=(0,), steps=2)
    table = tables.concat_trajectories(list(trajs.values()))
    assert list(dict.fromkeys(table["method"])) == ["npo", "ga"]  # order of appearance
    assert len(table) == 2 * 6 * 3
    with pytest.raises(ValueError, match="no trajectories"):
        tables.concat_trajectories([])
    broken = next(iter(trajs.values())).drop(columns="facts_ll")
    with pytest.raises(ValueError, match=r"lacks columns \['facts_ll'\]"):
        tables.concat_trajectories([broken])
    one = next(iter(trajs.values()))
    with pytest.raises(ValueError, match="duplicated trajectory row"):
        tables.concat_trajectories([one, one])


def test_starting_points() -> None:
    trajs = syn.trajectories()
    traj = tables.concat_trajectories(list(trajs.values()))
    starts = tables.starting_points(traj, syn.evaluation_scores(trajs))
    assert list(starts.columns) == list(schemas.STARTING_POINTS.names)
    assert list(starts["path"]) == ["CAB", "CBA", "ACB", "BCA", "ABC", "BAC"]
    assert list(starts["forget_label_ll_start"]) == [-20.0, -20.0, -10.0, -10.0, 0.0, 0.0]
    assert list(starts["forget_label_ll_before"]) == [-20.0, -20.0, -10.0, -10.0, 0.0, 0.0]
    assert (starts["facts_ll_before"] == -12.0).all() and (starts["math_acc_before"] == 0.5).all()
    assert (starts["n_runs"] == 4).all()  # 2 methods x 2 seeds
    alone = tables.starting_points(traj)  # without evaluation_scores: NaN before-columns
    assert alone["math_acc_before"].isna().all() and len(alone) == 6


def test_table1_blocks_are_shaped_like_the_paper() -> None:
    summary = tables.summarise_scores(syn.evaluation_scores(syn.trajectories()))
    blocks = {"forget_score_label": "Forget", "math_utility": "Math"}
    table = tables.table1_blocks(summary, blocks, digits=2)
    assert list(table.columns) == ["block", "position", "path", "ga", "npo"]
    assert list(table["block"]) == ["Forget"] * 6 + ["Math"] * 6
    assert list(table["position"][:6]) == [1, 1, 2, 2, 3, 3]
    assert table.loc[6, "ga"] == "-0.05 ± 0.00"  # CAB, math utility -0.05 x position 1


def test_divergence_curve_and_references() -> None:
    div = pd.DataFrame({
        "method": ["ga"] * 4, "seed": [0, 0, 1, 1], "step": [0, 1, 0, 1],
        "path_a": ["ABC"] * 4, "path_b": ["BAC"] * 4,
        "re_distance": [1.0, 2.0, 3.0, math.inf], "kl": [0.0] * 4,
    })  # fmt: skip
    curve = tables.divergence_curve(div)
    assert list(curve["re_distance"]) == [2.0, 2.0] and list(curve["n"]) == [2, 1]
    scores = _scores([
        ("ABC", "ga", 0, 3, "re_distance_before", 0.1),
        ("ABC", "ga", 1, 3, "re_distance_before", 0.3),
        ("ABC", "ga", 0, 3, "re_distance_after", 1.0),
    ])  # fmt: skip
    refs = tables.reference_distances(scores)
    assert refs.iloc[0][["before", "after"]].tolist() == [pytest.approx(0.2), 1.0]
    assert tables.reference_distances(scores.iloc[0:0]).empty
