"""Statistics behind the verdicts, on hand-made tables with known answers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

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


def test_count_tail_against_the_binomial() -> None:
    holds = pd.Series([True, True, False, pd.NA], dtype="boolean")
    chance = pd.Series([1 / 3, 1 / 3, 1 / 3, math.nan])
    k, n, p = st.count_tail(holds, chance)
    assert (k, n) == (2, 3)
    assert p == pytest.approx(3 * (1 / 3) ** 2 * (2 / 3) + (1 / 3) ** 3)  # P(X >= 2), X~B(3,1/3)
    _, _, p_all = st.count_tail(pd.Series([True] * 3, dtype="boolean"), pd.Series([0.5, 0.2, 0.1]))
    assert p_all == pytest.approx(0.5 * 0.2 * 0.1)  # unequal chances: product


def test_recency_counts_per_scope() -> None:
    runs = _runs([("ga", s, p, syn.position(p), v) for s in (0, 1)
                  for p, v in (("ABC", 1.0), ("CAB", 2.0), ("ACB", 3.0))])  # fmt: skip
    counts = st.recency_counts(st.strict_recency(runs, "forget_score"))
    row = counts[counts["scope"] == "all"].iloc[0]
    assert (row["n_holds"], row["n_cells"]) == (2, 2)
    assert row["p_value"] == pytest.approx(1 / 9) and row["chance_low"] == pytest.approx(1 / 3)


def _ordered(n_cells: int) -> pd.DataFrame:
    """Cells of three paths whose forget score falls with position exactly."""
    rows = [("ga", seed, path, syn.position(path), 10.0 - syn.position(path))
            for seed in range(n_cells) for path in ("CAB", "ACB", "ABC")]  # fmt: skip
    return _runs(rows)


def test_permutation_test_exact_on_perfect_order() -> None:
    one = st.position_permutation_test(_ordered(1))
    # 3! equally likely orderings, two of them reach |rho| = 1
    assert one == {"n_cells": 1, "rho": pytest.approx(-1.0), "p_value": pytest.approx(1 / 3),
                   "n_permutations": 6, "exact": True}  # fmt: skip
    two = st.position_permutation_test(_ordered(2))
    # 36 pairs of orderings; |mean rho| = 1 only when both are +1 or both -1
    assert two["exact"] and two["p_value"] == pytest.approx(2 / 36)


def test_permutation_test_sampled_is_seeded_and_close_to_exact() -> None:
    runs = _ordered(2)
    a = st.position_permutation_test(runs, n_permutations=4000, seed=3, exact_limit=0)
    b = st.position_permutation_test(runs, n_permutations=4000, seed=3, exact_limit=0)
    assert a == b and not a["exact"]
    assert a["p_value"] == pytest.approx(2 / 36, abs=0.015)


def test_permutation_test_without_signal_and_without_spread() -> None:
    rng = np.random.default_rng(0)
    rows = [("ga", seed, path, syn.position(path), float(rng.normal()))
            for seed in range(4) for path in syn.PATHS]  # fmt: skip
    assert st.position_permutation_test(_runs(rows), seed=1)["p_value"] > 0.05
    flat = _runs([("ga", 0, "ABC", 3, 1.0), ("ga", 0, "CAB", 1, 1.0)])
    assert st.position_permutation_test(flat)["n_cells"] == 0
    table = st.position_effect(_ordered(2))
    assert list(table["scope"]) == ["all", "ga"] and list(table.columns) == list(
        schemas.POSITION_EFFECT.names
    )


def _scores(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["path", "method", "seed", "position", "metric", "value"])


def test_path_dependence_ratio_on_a_constructed_table() -> None:
    rows = []
    for path, base in (("ABC", 1.0), ("CAB", 5.0)):
        for seed, noise in ((0, -0.1), (1, 0.1), (2, 0.0)):
            rows.append((path, "ga", seed, 1, "forget_score_label", base + noise))
            rows.append((path, "ga", seed, 1, "facts_utility", 0.5 + 2 * noise))  # noise only
    table = st.path_dependence(_scores(rows), ["forget_score_label", "facts_utility"], 2.0)
    assert list(table.columns) == list(schemas.PATH_DEPENDENCE.names)
    forget = table[table["metric"] == "forget_score_label"].iloc[0]
    assert forget["path_std"] == pytest.approx(math.sqrt(8.0))  # means 1 and 5
    assert forget["seed_std"] == pytest.approx(0.1)  # pooled: (0.02 + 0.02) / (2 + 2)
    assert forget["ratio"] == pytest.approx(math.sqrt(8.0) / 0.1)
    assert forget["ratio_low"] <= forget["ratio"] <= forget["ratio_high"]
    assert bool(forget["holds"])
    facts = table[table["metric"] == "facts_utility"].iloc[0]
    assert facts["ratio"] == pytest.approx(0.0) and not bool(facts["holds"])
    again = st.path_dependence(_scores(rows), ["forget_score_label"], 2.0)
    assert again["ratio_low"].item() == forget["ratio_low"]  # seeded bootstrap


def test_path_dependence_with_one_seed_is_undefined() -> None:
    rows = [(p, "ga", 0, 1, "forget_score_label", v) for p, v in (("ABC", 1.0), ("CAB", 5.0))]
    table = st.path_dependence(_scores(rows), ["forget_score_label"])
    assert math.isnan(table["ratio"].item()) and math.isnan(table["ratio_low"].item())
    assert table["holds"].isna().all()


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
    # the synthetic forget score is rate(p) x 5 steps: -5 per position, start irrelevant
    assert control["coef_position"].to_numpy() == pytest.approx(-5.0, abs=0.3)
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
    assert cab["ll_drop_1"].to_numpy() == pytest.approx(3.0, abs=0.5)  # 3 nats/step + noise
    assert cab["ll_drop_5"].to_numpy() == pytest.approx(15.0, abs=0.5)
    assert drops["ll_drop_99"].isna().all()  # no such step


def test_ll_drops_count_only_updates_with_a_learning_rate() -> None:
    # Warm-up: step 1 has lr 0 and leaves the model as it was; the first update is step 2.
    traj = tables.concat_trajectories(list(syn.trajectories().values()))
    warm = traj.copy()
    warm.loc[warm["step"] == 1, "lr"] = 0.0
    warm.loc[warm["step"] == 1, "forget_label_ll"] = warm.loc[
        warm["step"] == 1, "forget_label_ll_start"
    ]
    plain, counted = st.ll_drops(traj, [1, 3]), st.ll_drops(warm, [1, 3])
    at_step = st.ll_drops(traj.drop(columns="lr"), [2, 4])
    assert (counted["ll_drop_1"] > 0).all()  # read at step 2, not at the inert step 1
    assert counted["ll_drop_1"].to_numpy() == pytest.approx(at_step["ll_drop_2"].to_numpy())
    assert counted["ll_drop_3"].to_numpy() == pytest.approx(at_step["ll_drop_4"].to_numpy())
    assert not plain["ll_drop_1"].to_numpy() == pytest.approx(counted["ll_drop_1"].to_numpy())
