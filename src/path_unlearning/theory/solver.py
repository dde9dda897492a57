"""Training and unlearning dynamics of Section 3.

* Training walks a path from ``theta_0 = 0`` with one proximal ridge step per stage::

      theta_s = argmin ||X_s theta - y_s||^2 + mu_s ||theta - theta_{s-1}||^2
              = (X_s^T X_s + mu_s I)^{-1} (X_s^T y_s + mu_s theta_{s-1}).

* Unlearning is gradient ascent on ``L_U(theta) = (1/k) ||X_U theta - y_U||^2``::

      theta_t = theta_{t-1} + eta grad L_U(theta_{t-1})
              = (I + M_U) theta_{t-1} - (2 eta / k) X_U^T y_U,   M_U = (2 eta / k) X_U^T X_U.

* Lemma 3.2: the affine GA map is the same for every start, so the difference of two
  runs obeys ``Delta_t = (I + M_U)^t Delta_0`` exactly.
* Definition 2.1 with ``Pred(theta, x) = x^T theta``:
  ``d(theta, theta') = (1/m) ||X_test (theta - theta')||^2``.
"""

from __future__ import annotations

import numpy as np

from path_unlearning.theory.config import check_path
from path_unlearning.theory.instance import Instance


def proximal_ridge_stage(
    X: np.ndarray, y: np.ndarray, mu: float, theta_prev: np.ndarray
) -> np.ndarray:
    """One stage: ``(X^T X + mu I)^{-1} (X^T y + mu theta_prev)``."""
    d = X.shape[1]
    return np.linalg.solve(X.T @ X + mu * np.eye(d), X.T @ y + mu * theta_prev)


def train_path(instance: Instance, path: str, mus: dict[str, float]) -> np.ndarray:
    """Train through the stages of ``path`` from ``theta_0 = 0``.

    Args:
        instance: The datasets.
        path: Stage letters in training order (``""`` gives ``theta_0``).
        mus: Per-stage proximal ridge strength.

    Returns:
        The trained parameter.
    """
    if path:
        check_path(path)
    theta = np.zeros(instance.d)
    for stage in path:
        theta = proximal_ridge_stage(instance.X[stage], instance.y[stage], mus[stage], theta)
    return theta


def unlearning_matrix(X_U: np.ndarray, eta: float) -> np.ndarray:
    """``M_U = (2 eta / k) X_U^T X_U``."""
    return (2.0 * eta / X_U.shape[0]) * (X_U.T @ X_U)


def gradient_ascent(
    theta0: np.ndarray, X_U: np.ndarray, y_U: np.ndarray, eta: float, steps: int
) -> np.ndarray:
    """Run GA on ``(1/k) ||X_U theta - y_U||^2``.

    Args:
        theta0: Starting parameter.
        X_U: Forget-set design.
        y_U: Forget-set targets.
        eta: Step size.
        steps: Number of steps.

    Returns:
        Array of shape ``(steps + 1, d)``; row ``t`` is ``theta_t``.
    """
    scale = 2.0 * eta / X_U.shape[0]
    out = np.empty((steps + 1, theta0.shape[0]))
    out[0] = theta0
    for t in range(1, steps + 1):
        prev = out[t - 1]
        out[t] = prev + scale * (X_U.T @ (X_U @ prev - y_U))
    return out


def prediction_distance(
    X_test: np.ndarray, theta_1: np.ndarray, theta_2: np.ndarray
) -> np.ndarray | float:
    """Def. 2.1 for linear models: ``(1/m) ||X_test (theta_1 - theta_2)||^2``.

    Args:
        X_test: Test design (``m x d``).
        theta_1: Parameter, or one parameter per row.
        theta_2: Parameter, or one parameter per row (broadcast against ``theta_1``).

    Returns:
        A float for two vectors, else one distance per row.
    """
    diff = np.atleast_2d(theta_1 - theta_2)
    preds = diff @ X_test.T
    out = np.sum(preds**2, axis=1) / X_test.shape[0]
    return out if np.ndim(theta_1) > 1 or np.ndim(theta_2) > 1 else float(out[0])


def lemma_prediction(M_U: np.ndarray, delta0: np.ndarray, steps: int) -> np.ndarray:
    """Lemma 3.2: ``Delta_t = (I + M_U)^t Delta_0`` for ``t = 0..steps``."""
    out = np.empty((steps + 1, delta0.shape[0]))
    out[0] = delta0
    for t in range(1, steps + 1):
        out[t] = out[t - 1] + M_U @ out[t - 1]
    return out


def iid_control(
    instance: Instance, path_1: str, path_2: str, mu: float, eta: float, steps: int
) -> np.ndarray:
    """The same training data in one ridge stage, rows stacked in two orders, then GA.

    Both starts solve the same problem (the one-stage solution does not depend on row
    order), so the distance between the two unlearning runs only reflects rounding: the
    divergence of the staged runs comes from the order of the stages, not from the data.

    Args:
        instance: The datasets.
        path_1: Its letters give the first row order.
        path_2: Its letters give the second row order (same letters as ``path_1``).
        mu: Ridge strength of the single stage.
        eta: GA step size.
        steps: GA steps.

    Returns:
        The RE distance between the two runs per step.
    """
    X_U, y_U = instance.X["U"], instance.y["U"]
    zero = np.zeros(instance.d)
    runs = []
    for order in (path_1, path_2):
        X = np.vstack([instance.X[s] for s in order])
        y = np.concatenate([instance.y[s] for s in order])
        theta0 = proximal_ridge_stage(X, y, mu, zero)
        runs.append(gradient_ascent(theta0, X_U, y_U, eta, steps))
    return prediction_distance(instance.X_test, runs[0], runs[1])
