"""Tests of the Section 3 core: Lemma 3.2, Theorem 3.1, Corollary 1, i.i.d. control."""

from __future__ import annotations

import dataclasses
import math
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from path_unlearning.theory.linear import (
    TheoryConfig,
    bound_terms,
    gradient_ascent,
    lemma_prediction,
    make_instance,
    re_distance,
    retrain_path,
    run_experiment,
    simulate_instance,
    summarise_instance,
    t_star,
    train_path,
    unlearning_matrix,
    validate_path,
)

BASE = TheoryConfig(d=40, n_A=8, n_B=8, k=4, m=10, mu_A=1.0, mu_B=0.5, mu_U=1.0, eta=0.5, steps=40)
PATH_PAIRS = [
    ("ABU", "BAU"),
    ("AUB", "BUA"),
    ("UAB", "AUB"),
    ("UAB", "UBA"),
    ("AB", "BA"),
    ("ABU", "UAB"),
    ("AUB", "ABU"),
]


def _unlearn_pair(config: TheoryConfig, path_1: str, path_2: str, seed: int, steps: int):
    rng = np.random.default_rng(seed)
    inst = make_instance(config, rng)
    X_U, y_U = inst.X["U"], inst.y["U"]
    runs = [
        gradient_ascent(train_path(inst, p, config.mus), X_U, y_U, config.eta, steps)
        for p in (path_1, path_2)
    ]
    return inst, runs


@pytest.mark.parametrize(("path_1", "path_2"), PATH_PAIRS)
def test_lemma_3_2_exact(path_1: str, path_2: str) -> None:
    inst, runs = _unlearn_pair(BASE, path_1, path_2, seed=3, steps=40)
    delta = runs[0] - runs[1]
    predicted = lemma_prediction(unlearning_matrix(inst.X["U"], BASE.eta), delta[0], 40)
    rel = np.linalg.norm(delta - predicted, axis=1) / np.linalg.norm(predicted, axis=1)
    assert rel.max() < 1e-8
    # same statement with an explicit matrix power at the last step
    power = np.linalg.matrix_power(np.eye(BASE.d) + unlearning_matrix(inst.X["U"], BASE.eta), 40)
    direct = power @ delta[0]
    assert np.linalg.norm(delta[-1] - direct) <= 1e-8 * np.linalg.norm(direct)


def test_projection_nonzero_and_definitions() -> None:
    inst, runs = _unlearn_pair(BASE, "ABU", "BAU", seed=1, steps=0)
    delta0 = runs[0][0] - runs[1][0]
    terms = bound_terms(inst.X["U"], inst.X_test, BASE.eta, delta0)
    assert terms.proj_norm > 1e-6 * np.linalg.norm(delta0)
    # rho* is the smallest nonzero eigenvalue of M_U; M_U has exactly k nonzero ones
    eig = np.linalg.eigvalsh(unlearning_matrix(inst.X["U"], BASE.eta))
    nonzero = eig[eig > 1e-10 * eig.max()]
    assert len(nonzero) == BASE.k
    assert math.isclose(terms.rho_star, nonzero.min(), rel_tol=1e-8)
    # sigma_U^2 = min over unit v in rowspace(X_U) of ||X_test v||^2
    _, _, vt = np.linalg.svd(inst.X["U"], full_matrices=False)
    gram = vt @ inst.X_test.T @ inst.X_test @ vt.T
    assert math.isclose(terms.sigma_U**2, np.linalg.eigvalsh(gram).min(), rel_tol=1e-8)
    assert terms.sigma_U > 0


@settings(
    max_examples=120,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    seed=st.integers(0, 2**32 - 1),
    d=st.integers(30, 60),
    n_a=st.integers(1, 10),
    n_b=st.integers(1, 10),
    k=st.integers(1, 6),
    extra_m=st.integers(0, 10),
    mus=st.tuples(*[st.floats(0.05, 5.0)] * 3),
    eta=st.floats(0.1, 1.5),
    mean_shift=st.floats(0.0, 1.0),
    noise=st.floats(0.0, 0.5),
    pair=st.sampled_from(PATH_PAIRS),
)
def test_theorem_3_1_bound_holds(
    *, seed, d, n_a, n_b, k, extra_m, mus, eta, mean_shift, noise, pair
) -> None:
    assume(n_a + n_b + k < d)
    config = TheoryConfig(
        d=d, n_A=n_a, n_B=n_b, k=k, m=k + extra_m, mu_A=mus[0], mu_B=mus[1], mu_U=mus[2],
        eta=eta, steps=0, noise=noise, mean_shift=mean_shift,
    )  # fmt: skip
    inst, runs = _unlearn_pair(config, *pair, seed=seed, steps=0)
    delta0 = runs[0][0] - runs[1][0]
    terms = bound_terms(inst.X["U"], inst.X_test, eta, delta0)
    assert terms.proj_norm > 0  # P_U Delta_0 is non-zero
    start = max(terms.t0, 0)
    assume(start <= 150)
    steps = start + 25
    _, runs = _unlearn_pair(config, *pair, seed=seed, steps=steps)
    t = np.arange(steps + 1)
    distance = re_distance(inst.X_test, runs[0], runs[1])
    bound = terms.bound(t)
    regime = t >= start
    assert np.all(distance[regime] >= bound[regime] * (1 - 1e-9))
    # the proof's first step holds at every t >= 0:
    # ||X_test Delta_t|| >= sigma_U (1 + rho*)^t ||P_U Delta_0|| - ||X_test (I - P_U) Delta_0||
    chain = terms.sigma_U * (1 + terms.rho_star) ** t * terms.proj_norm - terms.resid_norm
    assert np.all(np.sqrt(config.m * distance) >= chain - 1e-9 * np.abs(chain))
    # the inequality that defines t0 holds from max(t0, 0) on
    grow = terms.sigma_U * (1 + terms.rho_star) ** t[regime] * terms.proj_norm
    assert np.all(grow >= 2 * terms.resid_norm * (1 - 1e-12))


def test_bound_is_not_vacuous_for_wrong_sigma() -> None:
    """A too-large sigma (full test second moment instead of the row-space one) fails."""
    config = dataclasses.replace(BASE, steps=120)
    inst, runs = _unlearn_pair(config, "ABU", "BAU", seed=0, steps=120)
    delta0 = runs[0][0] - runs[1][0]
    terms = bound_terms(inst.X["U"], inst.X_test, config.eta, delta0)
    wrong = dataclasses.replace(
        terms,
        sigma_U=float(np.linalg.svd(inst.X_test, compute_uv=False).max()),
        rho_star=terms.rho_max,
    )
    distance = re_distance(inst.X_test, runs[0], runs[1])
    assert np.any(distance < wrong.bound(np.arange(121)))
    assert np.all(distance[max(terms.t0, 0) :] >= terms.bound(np.arange(121))[max(terms.t0, 0) :])


def test_corollary_t_star() -> None:
    config = dataclasses.replace(BASE, steps=80)
    res = simulate_instance(config, "ABU", "BAU", np.random.default_rng(5))
    for eps in (1e-3, 1e-2, 1e-1, 1.0):
        ts = t_star(res.terms, eps, res.ref_gap)
        assert ts is not None and ts >= max(res.terms.t0, 0)
        after = res.steps >= ts
        assert np.all(np.maximum(res.dist_ref_1, res.dist_ref_2)[after] > eps)
        assert math.sqrt(res.terms.bound(ts)) > 2 * math.sqrt(eps) + res.ref_gap
        if ts > max(res.terms.t0, 0):
            assert math.sqrt(res.terms.bound(ts - 1)) <= 2 * math.sqrt(eps) + res.ref_gap


def test_shared_reference_gap_is_zero() -> None:
    res = simulate_instance(BASE, "UAB", "AUB", np.random.default_rng(2))
    assert res.ref_gap == 0.0
    assert retrain_path("UAB") == retrain_path("AUB") == "AB"


def test_iid_control_is_order_free() -> None:
    res = simulate_instance(BASE, "ABU", "BAU", np.random.default_rng(7))
    assert np.all(res.control_distance <= 1e-12 * res.distance)
    assert res.control_distance[0] < 1e-20
    assert res.distance[0] > 1e-8


def test_run_experiment_summary() -> None:
    columns, summaries = run_experiment(BASE, "ABU", "BAU", seed=0, n_instances=3)
    assert len(columns["step"]) == 3 * (BASE.steps + 1)
    assert len(summaries) == 3
    for s in summaries:
        assert s["bound_held"] and s["corollary_held"]
        assert s["lemma_max_rel_error"] < 1e-8
        assert s["bound_log_rate"] <= s["max_log_rate"]
    again, _ = run_experiment(BASE, "ABU", "BAU", seed=0, n_instances=3)
    np.testing.assert_array_equal(columns["distance"], again["distance"])


def test_summary_detects_violation() -> None:
    res = simulate_instance(BASE, "ABU", "BAU", np.random.default_rng(0))
    res.distance = res.distance * 0.0
    assert not summarise_instance(res, BASE.epsilon)["bound_held"]


def test_train_path_matches_closed_form() -> None:
    inst = make_instance(BASE, np.random.default_rng(0))
    theta = train_path(inst, "AB", BASE.mus)
    X, y = inst.X["A"], inst.y["A"]
    theta_a = np.linalg.solve(X.T @ X + BASE.mu_A * np.eye(BASE.d), X.T @ y)
    X, y = inst.X["B"], inst.y["B"]
    expected = np.linalg.solve(X.T @ X + BASE.mu_B * np.eye(BASE.d), X.T @ y + BASE.mu_B * theta_a)
    np.testing.assert_allclose(theta, expected, rtol=1e-10)
    assert np.all(train_path(inst, "", BASE.mus) == 0)


def _kwargs(**override):
    base = dataclasses.asdict(BASE)
    base.update(override)
    return base


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"k": 50}, "k=50 must be <= d=40"),
        ({"m": 3}, "m=3 must be >= k=4"),
        ({"mu_A": 0.0}, "mu_A=0.0 must be a finite number > 0"),
        ({"mu_U": -1.0}, "mu_U=-1.0 must be a finite number > 0"),
        ({"eta": 0.0}, "eta=0.0 must be a finite number > 0"),
        ({"d": 20}, "d=20 must exceed n_A + n_B + k = 20"),
        ({"steps": -1}, "steps=-1 must be >= 0"),
        ({"n_A": 2.5}, "n_A must be an integer"),
    ],
)
def test_invalid_config(override, message) -> None:
    with pytest.raises(ValueError, match=re.escape(message)) as info:
        TheoryConfig(**_kwargs(**override))
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("ABX", "unknown stage letter 'X'"),
        ("", "non-empty"),
        ("AAB", "repeats a stage"),
        ("abU", "unknown stage letter 'a'"),
    ],
)
def test_invalid_path(path, message) -> None:
    with pytest.raises(ValueError, match=message) as info:
        validate_path(path)
    assert "\n" not in str(info.value)


def test_invalid_experiment() -> None:
    with pytest.raises(ValueError, match="must differ"):
        run_experiment(BASE, "ABU", "ABU", 0, 1)
    with pytest.raises(ValueError, match="n_instances=0"):
        run_experiment(BASE, "ABU", "BAU", 0, 0)
    with pytest.raises(ValueError, match="unknown stage letter 'C'"):
        run_experiment(BASE, "ACU", "BAU", 0, 1)
