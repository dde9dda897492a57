"""Statistics behind the verdicts, on hand-made tables with known answers."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from path_unlearning import schemas
from path_unlearning.report import statistics as st
from path_unlearning.report import tables
from tests.report import synthetic as syn


def _runs(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["method", "seed", "path", "position", "forget_score"])


def _cell(cells: pd.DataFrame, method: str, seed: int) -> pd.Series:
    return cells[(cells["method"] == method) & (cells["seed"] == seed)].iloc[0]


def test_strict_recency_holds_fails_and_ties() -> None:
    runs = _runs([
        # ga/0: both C-last paths (ABC, BAC) below both others -> holds
        ("ga", 0, "ABC", 3, 1.0), ("ga", 0, "BAC", 3, 1.5),
        ("ga", 0, "ACB", 2, 2.0), ("ga", 0, "CAB", 1, 3.0),
        # ga/1: one C-last path is below, the other is not -> fails (the old test passed it)
        ("ga", 1, "ABC", 3, 1.0), ("ga", 1, "BAC", 3, 2.5),
        ("ga", 1, "ACB", 2, 2.0), ("ga", 1, "CAB", 1, 3.0),
        # npo/0: a C-last path ties with a non-last one -> fails
        ("npo", 0, "ABC", 3, 1.0), ("npo", 0, "CAB", 1, 1.0), ("npo", 0, "ACB", 2, 5.0),
        # npo/1: every path has C last -> moot
        ("npo", 1, "ABC", 3, 1.0), ("npo", 1, "BAC", 3, 2.0),
    ])  # fmt: skip
    cells = st.strict_recency(runs, "forget_score")
    assert list(cells.columns) == list(schemas.RECENCY.names)
    got = {(r.method, r.seed): (None if r.holds is pd.NA else bool(r.holds))
           for r in cells.itertuples()}  # fmt: skip
    assert got == {("ga", 0): True, ("ga", 1): False, ("npo", 0): False, ("npo", 1): None}
    ga0 = _cell(cells, "ga", 0)
    assert (ga0["n_paths"], ga0["n_last"]) == (4, 2)
    assert ga0["chance"] == pytest.approx(1 / 6)  # 2! 2! / 4!
    assert ga0["margin"] == pytest.approx(0.5)  # min other 2.0 - max last 1.5
    assert _cell(cells, "npo", 0)["margin"] == 0.0  # the tie
    assert math.isnan(_cell(cells, "npo", 1)["chance"])


def test_strict_chance_is_one_over_binomial() -> None:
    assert st.strict_chance(6, 2) == pytest.approx(2 * 24 / 720)  # 2! 4! / 6!
    assert st.strict_chance(4, 1) == pytest.approx(1 / 4)
    assert st.strict_chance(4, 1) == pytest.approx(1 / math.comb(4, 1))


def _joint(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["method", "seed", "path", "position", "forget_score"])


# Three replicates x two methods x three paths (C last in ABC only). Hand-made so
# that by enumeration of the 3! relabellings of each replicate:
#   replicate 0: ga and npo both put ABC lowest  -> strict holds in 2 methods
#   replicate 1: ga puts ABC lowest, npo does not -> 1 method
#   replicate 2: neither                          -> 0 methods
HAND = {
    0: {"ga": (1.0, 2.0, 3.0), "npo": (1.0, 3.0, 2.0)},
    1: {"ga": (1.0, 2.0, 3.0), "npo": (2.5, 2.0, 3.0)},
    2: {"ga": (3.0, 2.0, 1.0), "npo": (3.0, 1.0, 2.0)},
}  # values of (ABC, ACB, CAB)


def _hand_runs() -> pd.DataFrame:
    return _joint([(m, seed, path, syn.position(path), v)
                   for seed, methods in HAND.items() for m, values in methods.items()
                   for path, v in zip(("ABC", "ACB", "CAB"), values, strict=True)])  # fmt: skip


def _hand_enumerated_recency_p() -> tuple[int, float]:
    """P(total cells holding >= observed), every relabelling of every replicate listed."""
    paths = ("ABC", "ACB", "CAB")

    def count(seed: int, last_path: str) -> int:
        # the relabelling makes ``last_path`` the forget-last one: holds where it is lowest
        return sum(
            min(v) == v[paths.index(last_path)] and sorted(v)[0] < sorted(v)[1]
            for v in HAND[seed].values()
        )

    observed = sum(count(seed, "ABC") for seed in HAND)
    # each of the 3! relabellings puts one of the 3 paths last, each twice
    totals = [sum(c) for c in itertools.product(*[[count(s, p) for p in paths for _ in (0, 1)]
                                                   for s in HAND])]  # fmt: skip
    return observed, sum(t >= observed for t in totals) / len(totals)


def test_joint_recency_test_against_hand_enumeration() -> None:
    observed, p_hand = _hand_enumerated_recency_p()
    table = st.recency_tests([("forget_score", _hand_runs())])
    assert list(table.columns) == list(schemas.RECENCY_TESTS.names)
    head = table[table["scope"] == "all"].iloc[0]
    assert (head["n_holds"], head["n_cells"], head["n_replicates"]) == (observed, 6, 3)
    assert observed == 3 and head["exact"]
    assert head["p_value"] == pytest.approx(p_hand)
    # The cells of a replicate move together: treating the 6 cells as independent
    # (chance 1/3 each) would give P(Binomial(6, 1/3) >= 3), a different number.
    independent = sum(math.comb(6, k) * (1 / 3) ** k * (2 / 3) ** (6 - k) for k in range(3, 7))
    assert head["p_value"] != pytest.approx(independent)
    assert head["replicates_agree"] == 2  # replicates 0 and 1 beat their null mean (2/3)
    ga = table[table["scope"] == "ga"].iloc[0]
    assert ga["n_holds"] == 2 and ga["p_value"] == pytest.approx(7 / 27)  # P(B(3,1/3) >= 2)


def test_joint_recency_exact_by_convolution_and_by_enumeration_agree() -> None:
    runs = _hand_runs()
    enumerated = st.recency_tests([("forget_score", runs)], exact_limit=10**6)
    convolved = st.recency_tests([("forget_score", runs)], exact_limit=0)
    assert enumerated["p_value"].to_numpy() == pytest.approx(convolved["p_value"].to_numpy())
    assert convolved["exact"].all()


def test_the_smallest_p_value_is_chance_to_the_number_of_replicates() -> None:
    # Three replicates, every method strictly ordered: the joint p is (1/15)^3 whatever
    # the number of methods, since the methods of a replicate share its relabelling.
    rows = [(m, seed, path, syn.position(path), float(syn.position(path)) * -1.0)
            for seed in range(3) for m in ("ga", "npo", "simnpo") for path in syn.PATHS]  # fmt: skip
    head = st.recency_tests([("forget_score", _joint(rows))]).iloc[0]
    assert head["n_holds"] == 9 and head["p_value"] == pytest.approx((1 / 15) ** 3)


def _ordered(n_replicates: int, methods=("ga",)) -> pd.DataFrame:
    """Replicates of three paths whose forget score falls with position exactly."""
    rows = [(m, seed, path, syn.position(path), 10.0 - syn.position(path))
            for seed in range(n_replicates) for m in methods
            for path in ("CAB", "ACB", "ABC")]  # fmt: skip
    return _joint(rows)


def test_position_test_exact_on_perfect_order() -> None:
    one = st.position_effect(_ordered(1)).iloc[0]
    # 3! equally likely relabellings, two of them reach |rho| = 1
    assert one["rho"] == pytest.approx(-1.0) and one["p_value"] == pytest.approx(1 / 3)
    assert one["exact"] and one["n_permutations"] == 6 and one["replicates_agree"] == 1
    two = st.position_effect(_ordered(2)).iloc[0]
    # 36 pairs of relabellings; |mean rho| = 1 only when both are +1 or both -1
    assert two["exact"] and two["p_value"] == pytest.approx(2 / 36)
    # two methods of one replicate are one piece of evidence, not two
    joint = st.position_effect(_ordered(1, ("ga", "npo"))).iloc[0]
    assert joint["n_cells"] == 2 and joint["p_value"] == pytest.approx(1 / 3)


def test_position_test_sampled_is_seeded_and_close_to_exact() -> None:
    runs = _ordered(2)
    a = st.position_effect(runs, n_permutations=4000, seed=3, exact_limit=0)
    b = st.position_effect(runs, n_permutations=4000, seed=3, exact_limit=0)
    assert a.equals(b) and not a["exact"].any()
    assert a["p_value"].iloc[0] == pytest.approx(2 / 36, abs=0.015)


def test_position_test_without_signal_and_without_spread() -> None:
    rng = np.random.default_rng(0)
    rows = [("ga", seed, path, syn.position(path), float(rng.normal()))
            for seed in range(4) for path in syn.PATHS]  # fmt: skip
    assert st.position_effect(_joint(rows), seed=1)["p_value"].iloc[0] > 0.05
    flat = _joint([("ga", 0, "ABC", 3, 1.0), ("ga", 0, "CAB", 1, 1.0)])
    assert st.position_effect(flat)["n_replicates"].iloc[0] == 1
    same_position = _joint([("ga", 0, "ABC", 3, 1.0), ("ga", 0, "BAC", 3, 2.0)])
    assert st.position_effect(same_position)["n_replicates"].iloc[0] == 0


def test_position_effect_per_scope() -> None:
    table = st.position_effect(_ordered(2, ("ga", "npo")))
    assert list(table["scope"]) == ["all", "ga", "npo"]
    assert list(table.columns) == list(schemas.POSITION_EFFECT.names)


def _scores(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["path", "method", "seed", "position", "metric", "value"])


def test_path_dependence_two_way_recovers_known_variance_components() -> None:
    # value = path effect (sd 2) + replicate effect (sd 5, a block: removed) + noise (sd 1)
    rng = np.random.default_rng(0)
    n_paths, n_reps = 6, 400
    path_effect = rng.normal(0, 2.0, n_paths)
    rows = []
    for seed in range(n_reps):
        block = rng.normal(0, 5.0)
        for i, path in enumerate(syn.PATHS):
            value = path_effect[i] + block + rng.normal(0, 1.0)
            rows.append((path, "ga", seed, syn.position(path), "forget_score_label", value))
    table = st.path_dependence(_scores(rows), ["forget_score_label"])
    assert list(table.columns) == list(schemas.PATH_DEPENDENCE.names)
    rec = table.iloc[0]
    assert rec["ms_residual"] == pytest.approx(1.0, rel=0.05)  # sigma_res^2
    # sigma_path is that of these six draws (ddof 1), not the population's 2
    assert rec["ratio"] == pytest.approx(np.std(path_effect, ddof=1), rel=0.05)
    assert rec["ratio_low"] < rec["ratio"] < rec["ratio_high"] < math.inf
    assert bool(rec["holds"]) and rec["p_value"] < 1e-10


def test_path_dependence_without_a_path_effect_and_by_hand() -> None:
    rng = np.random.default_rng(1)
    rows = [(p, "ga", s, syn.position(p), "facts_utility", float(rng.normal()))
            for s in range(5) for p in syn.PATHS]  # fmt: skip
    null = st.path_dependence(_scores(rows), ["facts_utility"]).iloc[0]
    assert not bool(null["holds"]) and null["ratio_low"] == 0.0 and null["ratio_high"] < math.inf
    # 2 paths x 3 replicates by hand: path means 1 and 5, residuals +-0.1, 0
    hand = [(path, "ga", seed, 1, "forget_score_label", base + noise)
            for path, base, sign in (("ABC", 1.0, 1), ("CAB", 5.0, -1))
            for seed, noise in ((0, -0.1 * sign), (1, 0.1 * sign), (2, 0.0))]  # fmt: skip
    rec = st.path_dependence(_scores(hand), ["forget_score_label"]).iloc[0]
    # MS_path = 3 * (2^2 + 2^2) / 1 = 24; residual SS = 4 * 0.01 = 0.04 on 2 df
    assert rec["ms_path"] == pytest.approx(24.0) and rec["ms_residual"] == pytest.approx(0.02)
    assert rec["f"] == pytest.approx(1200.0)
    assert rec["p_value"] == pytest.approx(stats.f.sf(1200.0, 1, 2))


def test_path_dependence_with_one_seed_is_undefined() -> None:
    rows = [(p, "ga", 0, 1, "forget_score_label", v) for p, v in (("ABC", 1.0), ("CAB", 5.0))]
    table = st.path_dependence(_scores(rows), ["forget_score_label"])
    assert math.isnan(table["ratio"].item()) and math.isnan(table["ratio_low"].item())
    assert table["holds"].isna().all()


def test_matched_start_times_each_path_from_a_common_level() -> None:
    steps = np.arange(5, dtype=float)
    curves = {
        "CAB": [-0.2, -0.6, -1.0, -1.4, -1.8],  # starts lowest: L0 = -0.2, falls 0.4/step
        "ABC": [0.0, -0.1, -0.2, -0.3, -0.4],  # starts higher, slow: never reaches L1 = -0.7
        "ACB": [0.2, -0.2, -0.6, -1.0, -1.4],  # crosses L0 at step 1, L1 at step 2.25
    }
    rows = [{"path": p, "method": "ga", "seed": 0, "position": syn.position(p), "step": s,
             "forget_label_ll_tok": v}
            for p, values in curves.items() for s, v in zip(steps, values, strict=True)]  # fmt: skip
    traj = pd.DataFrame(rows)
    for column in tables.TRAJECTORY_COLUMNS:
        if column not in traj:
            traj[column] = 0.0
    out = st.matched_start(traj, drop=0.5).set_index("path")
    assert out.loc["CAB", "l0"] == pytest.approx(-0.2) and out.loc["CAB", "l1"] == -0.7
    assert out.loc["CAB", "steps"] == pytest.approx(1.25)  # -0.2 -> -0.7 at 0.4/step
    assert out.loc["ACB", "steps"] == pytest.approx(1.25)  # same speed, a later start
    assert out.loc["ABC", "steps"] == math.inf and out.loc["ABC", "matched_speed"] == -math.inf


def test_ols_recovers_coefficients_and_refuses_collinear_designs() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 2))
    y = 1.0 + 2.0 * x[:, 0] - 0.5 * x[:, 1] + rng.normal(scale=0.1, size=200)
    coef, se, p = st.ols(y, x)
    assert coef == pytest.approx([1.0, 2.0, -0.5], abs=0.05)
    assert (p[1:] < 1e-6).all() and (se > 0).all()
    assert st.ols(y, np.column_stack([x[:, 0], 2 * x[:, 0]])) is None


def test_starting_control_separates_position_from_start_or_says_it_cannot() -> None:
    trajs = syn.trajectories(seeds=(0, 1, 2))
    traj = tables.concat_trajectories(list(trajs.values()))
    runs = st.forget_runs(traj, syn.evaluation_scores(trajs))
    collinear = st.starting_control(runs)  # start = -30 + 10 p exactly
    assert collinear["coef_position"].isna().all()
    assert collinear["corr_position_start"].to_numpy() == pytest.approx(1.0)
    trajs = syn.trajectories(seeds=(0, 1, 2), start_noise=2.0)
    traj = tables.concat_trajectories(list(trajs.values()))
    control = st.starting_control(st.forget_runs(traj, syn.evaluation_scores(trajs)))
    assert list(control.columns) == list(schemas.STARTING_CONTROL.names)
    # the synthetic per-token forget score is rate(p) x 5 steps / 10: -0.5 per position
    assert control["coef_position"].to_numpy() == pytest.approx(-0.5, abs=0.03)
    assert (control["p_position"] < 1e-4).all() and (control["p_start"] > 0.01).all()


def test_forget_runs_and_drops_from_trajectories() -> None:
    trajs = syn.trajectories()
    traj = tables.concat_trajectories(list(trajs.values()))
    scores = syn.evaluation_scores(trajs)
    a = st.forget_runs(traj, scores, "evaluation_scores")
    b = st.forget_runs(traj, scores, "trajectory")
    merged = a.merge(b, on=["method", "seed", "path", "position"])
    assert len(merged) == len(a) == 24
    assert merged["forget_score_x"].to_numpy() == pytest.approx(merged["forget_score_y"])
    assert merged["start_x"].to_numpy() == pytest.approx(merged["start_y"])
    with pytest.raises(ValueError, match="forget_score_source"):
        st.forget_runs(traj, scores, "guess")
    drops = st.ll_drops(traj, [1, 5, 99])
    cab = drops[(drops["path"] == "CAB") & (drops["method"] == "ga")]
    # per token (the synthetic per-token ll is the summed one / 10): 0.3 nats/step + noise
    assert cab["ll_drop_1"].to_numpy() == pytest.approx(0.3, abs=0.05)
    assert cab["ll_drop_5"].to_numpy() == pytest.approx(1.5, abs=0.05)
    assert drops["ll_drop_99"].isna().all()  # no such step


def test_ll_drops_count_only_updates_with_a_learning_rate() -> None:
    # Warm-up: step 1 has lr 0 and leaves the model as it was; the first update is step 2.
    traj = tables.concat_trajectories(list(syn.trajectories().values()))
    warm = traj.copy()
    warm.loc[warm["step"] == 1, "lr"] = 0.0
    warm.loc[warm["step"] == 1, "forget_label_ll_tok"] = warm.loc[
        warm["step"] == 1, "forget_label_ll_tok_start"
    ]
    plain, counted = st.ll_drops(traj, [1, 3]), st.ll_drops(warm, [1, 3])
    at_step = st.ll_drops(traj.drop(columns="lr"), [2, 4])
    assert (counted["ll_drop_1"] > 0).all()  # read at step 2, not at the inert step 1
    assert counted["ll_drop_1"].to_numpy() == pytest.approx(at_step["ll_drop_2"].to_numpy())
    assert counted["ll_drop_3"].to_numpy() == pytest.approx(at_step["ll_drop_4"].to_numpy())
    assert not plain["ll_drop_1"].to_numpy() == pytest.approx(counted["ll_drop_1"].to_numpy())
