"""Training, GA, Lemma 3.2, the RE distance and the i.i.d. control."""

from __future__ import annotations

import numpy as np
import pytest

from path_unlearning.theory.config import TheoryConfig
from path_unlearning.theory.instance import make_instance
from path_unlearning.theory.solver import (
    gradient_ascent,
    iid_control,
    lemma_prediction,
    prediction_distance,
    train_path,
    unlearning_matrix,
)

PATH_PAIRS = [("AB", "BA"), ("ABU", "BAU"), ("AUB", "BUA"), ("UAB", "AUB"), ("AB", "ABU")]


@pytest.mark.parametrize(("path_1", "path_2"), PATH_PAIRS)
def test_lemma_3_2_exact(base: TheoryConfig, path_1: str, path_2: str) -> None:
    inst = make_instance(base, np.random.default_rng(3))
    X_U, y_U = inst.X["U"], inst.y["U"]
    runs = [
        gradient_ascent(train_path(inst, p, base.mus), X_U, y_U, base.eta, 40)
        for p in (path_1, path_2)
    ]
    delta = runs[0] - runs[1]
    M_U = unlearning_matrix(X_U, base.eta)
    predicted = lemma_prediction(M_U, delta[0], 40)
    rel = np.linalg.norm(delta - predicted, axis=1) / np.linalg.norm(predicted, axis=1)
    assert rel.max() < 1e-8
    direct = np.linalg.matrix_power(np.eye(base.d) + M_U, 40) @ delta[0]
    assert np.linalg.norm(delta[-1] - direct) <= 1e-8 * np.linalg.norm(direct)


def test_train_path_matches_paper_equation_1(base: TheoryConfig) -> None:
    inst = make_instance(base, np.random.default_rng(0))
    eye = np.eye(base.d)
    XA, yA, XB, yB = inst.X["A"], inst.y["A"], inst.X["B"], inst.y["B"]
    theta_a = np.linalg.solve(XA.T @ XA + base.mu_A * eye, XA.T @ yA)
    theta_b = np.linalg.solve(XB.T @ XB + base.mu_B * eye, XB.T @ yB)
    theta_ab = np.linalg.solve(XB.T @ XB + base.mu_B * eye, XB.T @ yB + base.mu_B * theta_a)
    theta_ba = np.linalg.solve(XA.T @ XA + base.mu_A * eye, XA.T @ yA + base.mu_A * theta_b)
    np.testing.assert_allclose(train_path(inst, "AB", base.mus), theta_ab, rtol=1e-10)
    np.testing.assert_allclose(train_path(inst, "BA", base.mus), theta_ba, rtol=1e-10)
    assert np.all(train_path(inst, "", base.mus) == 0)
    # Lemma C.1: the two orders differ
    assert np.linalg.norm(theta_ab - theta_ba) > 1e-6


def test_gradient_ascent_hand_computed() -> None:
    # L(theta) = (1/1) (2 theta_1 - 1)^2, grad = 4 (2 theta_1 - 1) e_1; eta = 0.25
    X_U, y_U = np.array([[2.0, 0.0]]), np.array([1.0])
    out = gradient_ascent(np.array([1.0, 5.0]), X_U, y_U, eta=0.25, steps=2)
    # theta_1: 1 -> 1 + 0.25 * 4 * 1 = 2 -> 2 + 0.25 * 4 * 3 = 5; theta_2 untouched
    np.testing.assert_allclose(out, [[1.0, 5.0], [2.0, 5.0], [5.0, 5.0]])


def test_prediction_distance() -> None:
    X_test = np.array([[1.0, 0.0], [1.0, 1.0]])
    # predictions differ by (1, 3) -> (1 + 9) / 2
    assert prediction_distance(X_test, np.array([1.0, 2.0]), np.zeros(2)) == 5.0
    rows = prediction_distance(X_test, np.array([[1.0, 2.0], [0.0, 0.0]]), np.zeros(2))
    np.testing.assert_allclose(rows, [5.0, 0.0])


def test_iid_control_is_order_free(base: TheoryConfig) -> None:
    inst = make_instance(base, np.random.default_rng(7))
    X_U, y_U = inst.X["U"], inst.y["U"]
    control = iid_control(inst, "AB", "BA", base.mu_iid, base.eta, base.steps)
    staged = [
        gradient_ascent(train_path(inst, p, base.mus), X_U, y_U, base.eta, base.steps)
        for p in ("AB", "BA")
    ]
    distance = prediction_distance(inst.X_test, staged[0], staged[1])
    assert control[0] < 1e-20
    assert distance[0] > 1e-6
    # only rounding: far below the staged divergence at every step
    assert np.all(control <= 1e-12 * distance)
