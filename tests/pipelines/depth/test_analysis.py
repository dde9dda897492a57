"""Depth classification, verdict, tidy table and figure on hand-made curves."""

from __future__ import annotations

import pandas as pd
import pytest

from path_unlearning.pipelines.depth import analysis
from path_unlearning.pipelines.depth.analysis import DepthRule

RULE = DepthRule(deep_drop=5.0, forget_drop=5.0)


def _curves(order: str, start: dict[str, float], end: dict[str, float]) -> pd.DataFrame:
    rows = [
        {"order": order, "theta": "θ", "epoch": e, "step": e, "response": k,
         "logp": v[k], "logp_tok": v[k] / 10}
        for e, v in ((0, start), (20, end))
        for k in "RCU"
    ]  # fmt: skip
    return pd.DataFrame(rows)


START = {"R": -10.0, "C": -10.0, "U": -10.0}


@pytest.mark.parametrize(
    ("end", "expected"),
    [
        ({"R": -11.0, "C": -16.0, "U": -40.0}, "deep"),  # C fell 6, both below R
        ({"R": -11.0, "C": -14.0, "U": -40.0}, "superficial"),  # C fell only 4
        ({"R": -30.0, "C": -16.0, "U": -40.0}, "neither"),  # C fell 6 but stays above R
        ({"R": -10.0, "C": -10.0, "U": -12.0}, "neither"),  # U barely moved
        ({"R": -10.0, "C": float("nan"), "U": -40.0}, "neither"),
    ],
)
def test_classes(end, expected):
    table = analysis.classify(_curves("RCU", START, end), RULE)
    row = table.iloc[0]
    assert row["depth_class"] == expected
    assert row["U_drop"] == pytest.approx(START["U"] - end["U"])


def test_thresholds_are_inclusive():
    end = {"R": -10.0, "C": -15.0, "U": -15.0}  # both fell exactly 5 nats, below R
    assert analysis.classify(_curves("RCU", START, end), RULE)["depth_class"].item() == "deep"


def test_verdict_counts_and_depth_differs():
    curves = pd.concat([
        _curves("UCR", START, {"R": -11.0, "C": -16.0, "U": -40.0}),
        _curves("URC", START, {"R": -11.0, "C": -17.0, "U": -40.0}),
        _curves("RCU", START, {"R": -11.0, "C": -12.0, "U": -40.0}),
    ])  # fmt: skip
    verdict = analysis.verdict(analysis.classify(curves, RULE), RULE, ["URC", "UCR"]).iloc[0]
    assert (verdict["n_deep"], verdict["n_superficial"], verdict["n_neither"]) == (2, 1, 0)
    assert verdict["deep_orders"] == "UCR URC"
    assert verdict["depth_differs"] and verdict["matches_paper"]
    same = analysis.verdict(analysis.classify(curves.iloc[:6], RULE), RULE).iloc[0]
    assert not same["depth_differs"] and same["matches_paper"] is None


def test_epoch_rows_and_labels():
    trajectory = pd.DataFrame(
        {"step": range(5), **{f"{k}_ll": [-1.0 * s for s in range(5)] for k in "RCU"},
         **{f"{k}_ll_tok": [0.0] * 5 for k in "RCU"}}
    )  # fmt: skip
    table = analysis.epoch_logprobs(trajectory, "CUR", "θ6", ["R", "C", "U"], steps_per_epoch=2)
    assert table["epoch"].unique().tolist() == [0, 1, 2]
    assert table[table["response"] == "U"]["logp"].tolist() == [0.0, -2.0, -4.0]
    assert analysis.theta_labels(["RCU", "CRU"]) == {"RCU": "θ1", "CRU": "θ2"}


def test_figure_has_a_panel_per_order():
    curves = pd.concat(
        [_curves(o, START, {"R": -11.0, "C": -12.0, "U": -40.0}) for o in ("RCU", "CRU", "UCR")]
    )
    fig = analysis.plot_depth(
        curves, analysis.classify(curves, RULE), {"R": "r", "C": "c", "U": "u"}
    )
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 3 and "superficial" in visible[0].get_title()
