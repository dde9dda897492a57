"""Depth classification, verdict, summary, tidy table and figure on hand-made curves."""

from __future__ import annotations

import pandas as pd
import pytest

from path_unlearning.pipelines.depth import analysis
from path_unlearning.pipelines.depth.analysis import DepthRule

RULE = DepthRule(read_epoch=10, min_forget_drop=1.0, collapse_ratio=0.5, deep_ratio=0.5,
                 superficial_ratio=0.2)  # fmt: skip
START = {"R": -1.0, "C": -1.0, "U": -1.0}


def _curves(
    order: str, at_read: dict[str, float], seed: int = 0, after: float = -50.0
) -> pd.DataFrame:
    """Per-token curves at epochs 0, 10 (the read epoch) and 20; epoch 20 is far
    below everything, so a rule that read the last epoch would class otherwise."""
    rows = [
        {"seed": seed, "order": order, "theta": "θ", "epoch": e, "step": 5 * e, "response": k,
         "logp": 10 * v[k], "logp_tok": v[k]}
        for e, v in ((0, START), (10, at_read), (20, dict.fromkeys("RCU", after)))
        for k in "RCU"
    ]  # fmt: skip
    return pd.DataFrame(rows)


@pytest.mark.parametrize(
    ("at_read", "expected"),
    [
        ({"R": -1.2, "C": -2.0, "U": -3.0}, "deep"),  # dC/dU = 0.5, dR/dU = 0.1
        ({"R": -1.2, "C": -1.2, "U": -3.0}, "superficial"),  # dC/dU = 0.1
        ({"R": -3.0, "C": -3.0, "U": -3.0}, "collapsed"),  # dR/dU = 1: everything fell
        ({"R": -2.2, "C": -1.0, "U": -3.0}, "collapsed"),  # dR/dU = 0.6 > 0.5
        ({"R": -1.2, "C": -1.6, "U": -3.0}, "neither"),  # dC/dU = 0.3: in between
        ({"R": -1.0, "C": -1.0, "U": -1.5}, "neither"),  # U fell 0.5 < 1 nat per token
        ({"R": -1.0, "C": float("nan"), "U": -3.0}, "collapsed"),  # a probe went non-finite
    ],
)
def test_classes_at_the_read_epoch(at_read, expected):
    row = analysis.classify(_curves("RCU", at_read), RULE).iloc[0]
    assert row["depth_class"] == expected
    assert row["U_drop"] == pytest.approx(START["U"] - at_read["U"])
    assert row["U_read"] == at_read["U"]


def test_ratios_and_inclusive_deep_threshold():
    row = analysis.classify(_curves("RCU", {"R": -1.0, "C": -2.0, "U": -3.0}), RULE).iloc[0]
    assert (row["C_over_U"], row["R_over_U"]) == (pytest.approx(0.5), pytest.approx(0.0))
    assert row["depth_class"] == "deep"


def test_a_run_stopped_before_the_read_epoch_is_collapsed():
    curves = _curves("RCU", {"R": -1.2, "C": -2.0, "U": -3.0})
    stopped = curves[curves["epoch"] == 0]  # the loop stopped the diverged run
    assert analysis.classify(stopped, RULE)["depth_class"].item() == "collapsed"


def test_rule_rejects_crossed_thresholds():
    with pytest.raises(ValueError, match="superficial_ratio"):
        DepthRule(deep_ratio=0.2, superficial_ratio=0.5)


def _three_replicates(order: str, classes: list[dict[str, float]]) -> pd.DataFrame:
    return pd.concat([_curves(order, c, seed) for seed, c in enumerate(classes)])


DEEP = {"R": -1.2, "C": -2.0, "U": -3.0}
SUPERFICIAL = {"R": -1.2, "C": -1.2, "U": -3.0}
COLLAPSED = {"R": -3.0, "C": -3.0, "U": -3.0}


def test_verdict_counts_replicates_and_takes_the_majority():
    curves = pd.concat([
        _three_replicates("UCR", [DEEP, DEEP, COLLAPSED]),
        _three_replicates("URC", [DEEP, SUPERFICIAL, COLLAPSED]),
        _three_replicates("RCU", [SUPERFICIAL, SUPERFICIAL, SUPERFICIAL]),
    ])  # fmt: skip
    per_order = analysis.verdict(analysis.classify(curves, RULE), ["UCR", "URC"])
    by_order = per_order.set_index("order")
    assert by_order.loc["UCR", ["n_deep", "n_collapsed", "n_replicates"]].tolist() == [2, 1, 3]
    assert by_order["majority"].to_dict() == {"UCR": "deep", "URC": "mixed", "RCU": "superficial"}
    assert by_order["paper_class"].to_dict() == {
        "UCR": "deep", "URC": "deep", "RCU": "superficial"
    }  # fmt: skip
    row = analysis.summary(per_order, RULE).iloc[0]
    assert row["deep_orders"] == "UCR" and row["paper_deep_orders"] == "UCR URC"
    assert row["depth_differs"] and not row["matches_paper"]
    assert (row["n_majority_deep"], row["n_majority_mixed"]) == (1, 1)
    assert "URC deep 1, superficial 1, collapsed 1" in row["verdict"]


def test_summary_when_every_order_collapses():
    curves = pd.concat([_three_replicates(o, [COLLAPSED] * 3) for o in ("UCR", "RCU")])
    per_order = analysis.verdict(analysis.classify(curves, RULE), ["UCR"])
    row = analysis.summary(per_order, RULE).iloc[0]
    assert row["n_majority_collapsed"] == 2 and row["deep_orders"] == ""
    assert not row["depth_differs"] and not row["matches_paper"]
    assert "every order gets the same class" in row["verdict"]
    assert (
        analysis.summary(analysis.verdict(analysis.classify(curves, RULE)), RULE).iloc[0][
            "matches_paper"
        ]
        is None
    )  # no paper orders given: nothing to compare


def test_epoch_rows_and_labels():
    trajectory = pd.DataFrame(
        {"step": range(5), **{f"{k}_ll": [-1.0 * s for s in range(5)] for k in "RCU"},
         **{f"{k}_ll_tok": [-0.5 * s for s in range(5)] for k in "RCU"}}
    )  # fmt: skip
    table = analysis.epoch_logprobs(trajectory, 2, "CUR", "θ6", ["R", "C", "U"], steps_per_epoch=2)
    assert table["epoch"].unique().tolist() == [0, 1, 2]
    assert table[table["response"] == "U"]["logp_tok"].tolist() == [0.0, -1.0, -2.0]
    assert set(table["seed"]) == {2}
    assert analysis.theta_labels(["RCU", "CRU"]) == {"RCU": "θ1", "CRU": "θ2"}


def test_figure_has_a_panel_per_order():
    curves = pd.concat([_three_replicates(o, [SUPERFICIAL] * 2) for o in ("RCU", "CRU", "UCR")])
    per_order = analysis.verdict(analysis.classify(curves, RULE))
    fig = analysis.plot_depth(curves, per_order, {"R": "r", "C": "c", "U": "u"}, read_epoch=10)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 3 and "superficial" in visible[0].get_title()
    assert len(visible[0].get_lines()) == 3 * 2 + 1  # responses x replicates + read line
