"""Theorem 3.1 (Rayleigh and smallest-eigenvalue forms) and Corollary 1."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from path_unlearning.theory.bound import (
    BOUND_KINDS,
    bound_terms,
    forget_projector,
    rayleigh_quotient,
)
from path_unlearning.theory.config import TheoryConfig
from path_unlearning.theory.instance import make_instance
from path_unlearning.theory.solver import (
    gradient_ascent,
    prediction_distance,
    train_path,
    unlearning_matrix,
)

# Tiny instance by hand: X_U = [[1,0,0],[0,2,0]], eta = 0.5, k = 2 -> M_U = diag(0.5, 2, 0);
# Delta_0 = (1,1,1): P_U Delta_0 = (1,1,0), p^2 = 2, rho* = (0.5 + 2) / 2 = 1.25,
# lambda_min = 0.5; X_test = I_3 (m = 3): sigma_U = 1, C0 = 1 * ||(0,0,1)|| = 1.
X_U_TINY = np.array([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0]])
DELTA_TINY = np.array([1.0, 1.0, 1.0])


def test_hand_computed_terms() -> None:
    terms = bound_terms(X_U_TINY, np.eye(3), 0.5, DELTA_TINY)
    assert terms.rho_rayleigh == pytest.approx(1.25)
    assert terms.rho_min == pytest.approx(0.5)
    assert terms.rho_max == pytest.approx(2.0)
    assert terms.sigma_U == pytest.approx(1.0)
    assert terms.proj_norm == pytest.approx(math.sqrt(2.0))
    assert terms.c0 == pytest.approx(1.0) and terms.c0_tight == pytest.approx(1.0)
    # t0 = ceil(log(2 / sqrt 2) / log(2.25)) = ceil(0.427) = 1; eigen: ceil(0.855) = 1
    assert terms.t0("rayleigh") == 1 and terms.t0("eigen") == 1
    # bound = 1 * 2 * (1 + rho)^(2t) / 12
    np.testing.assert_allclose(terms.bound([0, 1, 2]), [1 / 6, 2.25**2 / 6, 2.25**4 / 6])
    np.testing.assert_allclose(terms.bound([1, 2], "eigen"), [1.5**2 / 6, 1.5**4 / 6])
    # Corollary 1: eps = 1 -> log(48 / 2) / (2 log 2.25) = 1.96 -> t* = 2 (bound 4.27 >= 4)
    assert terms.eps_term(1.0) == pytest.approx(math.log(24) / (2 * math.log(2.25)))
    assert terms.t_star(1.0) == 2
    assert terms.t_star(0.1) == 1  # eps term 0.54 < t0 = 1
    assert terms.t_star(1.0, "eigen") == 4  # log 24 / (2 log 1.5) = 3.92


def test_hand_computed_trajectory_meets_bound() -> None:
    # Delta_t = (1.5^t, 3^t, 1), so d(t) = (2.25^t + 9^t + 1) / 3 with X_test = I_3
    thetas = [
        gradient_ascent(start, X_U_TINY, np.array([1.0, -1.0]), eta=0.5, steps=3)
        for start in (DELTA_TINY, np.zeros(3))
    ]
    distance = prediction_distance(np.eye(3), thetas[0], thetas[1])
    t = np.arange(4)
    np.testing.assert_allclose(distance, (2.25**t + 9.0**t + 1) / 3)
    terms = bound_terms(X_U_TINY, np.eye(3), 0.5, DELTA_TINY)
    assert np.all(distance >= terms.bound(t))
    assert np.all(terms.bound(t, "rayleigh") >= terms.bound(t, "eigen"))


def test_definitions_match_paper_formulas(base: TheoryConfig) -> None:
    inst = make_instance(base, np.random.default_rng(1))
    delta0 = train_path(inst, "AB", base.mus) - train_path(inst, "BA", base.mus)
    X_U = inst.X["U"]
    terms = bound_terms(X_U, inst.X_test, base.eta, delta0)
    P_U = forget_projector(X_U)  # X_U^T (X_U X_U^T)^{-1} X_U
    M_U = unlearning_matrix(X_U, base.eta)
    v = P_U @ delta0
    assert terms.proj_norm == pytest.approx(np.linalg.norm(v), rel=1e-10)
    assert terms.rho_rayleigh == pytest.approx(rayleigh_quotient(M_U, v), rel=1e-8)
    eig = np.linalg.eigvalsh(M_U)
    positive = eig[eig > 1e-10 * eig.max()]
    assert len(positive) == base.k
    assert terms.rho_min == pytest.approx(positive.min(), rel=1e-8)
    assert terms.rho_min < terms.rho_rayleigh < terms.rho_max
    # sigma_U: the k-th (smallest nonzero) singular value of X_test P_U
    sv = np.linalg.svd(inst.X_test @ P_U, compute_uv=False)
    assert terms.sigma_U == pytest.approx(sv[base.k - 1], rel=1e-8)
    assert terms.sigma_U > 0
    off = (np.eye(base.d) - P_U) @ delta0
    assert terms.c0 == pytest.approx(np.linalg.norm(inst.X_test, 2) * np.linalg.norm(off))
    assert terms.c0_tight == pytest.approx(np.linalg.norm(inst.X_test @ off))


@settings(max_examples=200, deadline=None, database=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    d=st.integers(2, 12),
    rank=st.integers(1, 12),
    t=st.integers(0, 30),
    in_range=st.booleans(),
)
def test_jensen_step_on_random_psd(seed: int, d: int, rank: int, t: int, in_range: bool) -> None:
    """||(I+M)^t v||^2 >= ||v||^2 (1 + R(v))^(2t) >= ||v||^2 (1 + lambda_min)^(2t)."""
    rng = np.random.default_rng(seed)
    rank = min(rank, d)
    G = rng.standard_normal((rank, d)) * rng.uniform(0.05, 1.0)
    M = G.T @ G  # PSD, rank `rank`
    v = rng.standard_normal(d)
    if in_range:
        v = forget_projector(G) @ v
    assume(np.linalg.norm(v) > 1e-6)
    lhs = np.linalg.norm(np.linalg.matrix_power(np.eye(d) + M, t) @ v) ** 2
    R = rayleigh_quotient(M, v)
    rayleigh = (v @ v) * (1 + R) ** (2 * t)
    assert lhs >= rayleigh * (1 - 1e-9)
    if in_range:  # on the range, the Rayleigh quotient is >= the smallest positive eigenvalue
        lam = np.linalg.eigvalsh(G @ G.T).min()
        assert R >= lam * (1 - 1e-9)
        assert rayleigh >= (v @ v) * (1 + lam) ** (2 * t) * (1 - 1e-9)


PATH_PAIRS = [("AB", "BA"), ("ABU", "BAU"), ("UAB", "AUB"), ("AB", "ABU")]


@settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    seed=st.integers(0, 2**32 - 1),
    d=st.integers(25, 50),
    n_a=st.integers(1, 8),
    n_b=st.integers(1, 8),
    k=st.integers(1, 6),
    extra_m=st.integers(0, 10),
    mus=st.tuples(*[st.floats(0.05, 5.0)] * 3),
    eta=st.floats(0.1, 1.5),
    mean_shift=st.floats(0.0, 1.0),
    pair=st.sampled_from(PATH_PAIRS),
)
def test_theorem_3_1_holds_on_random_instances(
    *, seed, d, n_a, n_b, k, extra_m, mus, eta, mean_shift, pair
) -> None:
    assume(n_a + n_b + k < d)
    config = TheoryConfig(
        d=d, n_A=n_a, n_B=n_b, k=k, m=k + extra_m, mu_A=mus[0], mu_B=mus[1], mu_U=mus[2],
        eta=eta, steps=0, mean_shift=mean_shift,
    )  # fmt: skip
    inst = make_instance(config, np.random.default_rng(seed))
    X_U, y_U = inst.X["U"], inst.y["U"]
    starts = [train_path(inst, p, config.mus) for p in pair]
    terms = bound_terms(X_U, inst.X_test, eta, starts[0] - starts[1])
    assert terms.proj_norm > 0 and terms.sigma_U > 0  # Lemmas C.2 and C.4
    assert terms.rho_rayleigh >= terms.rho_min * (1 - 1e-12)
    start = max(terms.t0("eigen"), terms.t0("rayleigh"), 0)
    assume(start <= 150)
    steps = start + 20
    runs = [gradient_ascent(s, X_U, y_U, eta, steps) for s in starts]
    t = np.arange(steps + 1)
    distance = prediction_distance(inst.X_test, runs[0], runs[1])
    for kind in BOUND_KINDS:
        bound = terms.bound(t, kind)
        for tight in (False, True):
            regime = t >= max(terms.t0(kind, tight=tight), 0)
            assert np.all(distance[regime] >= bound[regime] * (1 - 1e-9))
    # the proof's first step holds at every t >= 0 (with either C0)
    growth = terms.sigma_U * (1 + terms.rho_rayleigh) ** t * terms.proj_norm
    assert np.all(np.sqrt(config.m * distance) >= (growth - terms.c0_tight) * (1 - 1e-9))
    assert terms.c0_tight <= terms.c0 * (1 + 1e-12)


def test_bound_is_not_vacuous_for_wrong_constants(base: TheoryConfig) -> None:
    """The largest eigenvalue and the largest test singular value break the bound."""
    inst = make_instance(base, np.random.default_rng(0))
    X_U, y_U = inst.X["U"], inst.y["U"]
    starts = [train_path(inst, p, base.mus) for p in ("AB", "BA")]
    runs = [gradient_ascent(s, X_U, y_U, base.eta, base.steps) for s in starts]
    distance = prediction_distance(inst.X_test, runs[0], runs[1])
    terms = bound_terms(X_U, inst.X_test, base.eta, starts[0] - starts[1])
    t = np.arange(base.steps + 1)
    wrong = dataclasses.replace(
        terms,
        sigma_U=float(np.linalg.svd(inst.X_test, compute_uv=False).max()),
        rho_rayleigh=terms.rho_max,
    )
    assert np.any(distance < wrong.bound(t))
    regime = t >= max(terms.t0(), 0)
    assert regime.any() and np.all(distance[regime] >= terms.bound(t)[regime])


@pytest.mark.parametrize("kind", BOUND_KINDS)
def test_corollary_1(base: TheoryConfig, kind: str) -> None:
    inst = make_instance(base, np.random.default_rng(5))
    X_U, y_U = inst.X["U"], inst.y["U"]
    starts = [train_path(inst, p, base.mus) for p in ("AB", "BA")]
    terms = bound_terms(X_U, inst.X_test, base.eta, starts[0] - starts[1])
    runs = [gradient_ascent(s, X_U, y_U, base.eta, 120) for s in starts]
    distance = prediction_distance(inst.X_test, runs[0], runs[1])
    for eps in (1e-3, 1e-2, 1e-1, 1.0, 100.0):
        ts = terms.t_star(eps, kind)
        assert ts is not None and ts >= max(terms.t0(kind), 1)
        assert ts >= terms.eps_term(eps, kind)
        assert float(terms.bound(ts, kind)) >= 4 * eps
        assert ts <= 120 and np.all(distance[ts:] > 4 * eps)
        # any shared reference: at most one run within eps of it (triangle inequality)
        reference = runs[0][ts]
        assert prediction_distance(inst.X_test, runs[1][ts], reference) > eps
    # with a gap g between two references, sqrt(bound) must exceed 2 sqrt(eps) + g
    ts = terms.t_star_gap(1e-2, 0.5, kind)
    assert math.sqrt(float(terms.bound(ts, kind))) > 2 * math.sqrt(1e-2) + 0.5
    if ts > max(terms.t0(kind), 0):
        assert math.sqrt(float(terms.bound(ts - 1, kind))) <= 2 * math.sqrt(1e-2) + 0.5


def test_degenerate_and_unknown_kind() -> None:
    terms = bound_terms(X_U_TINY, np.eye(3), 0.5, np.array([0.0, 0.0, 1.0]))
    assert terms.proj_norm == 0.0 and terms.t_star(0.1) is None and terms.t0() == 0
    assert np.all(terms.bound([0, 5]) == 0)
    with pytest.raises(ValueError, match="unknown bound kind 'max'"):
        terms.rho("max")
