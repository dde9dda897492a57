"""Section 3 of Yu, He, Goyal, Arora (2025): staged ridge regression and GA unlearning.

Setting (overparameterised linear regression, ``d`` > number of training rows):

* Stage datasets ``S_A`` and ``S_B`` and a forget set ``S_U`` (``k`` rows) are drawn from
  three different Gaussians (different means and diagonal covariances); a test set of
  ``m >= k`` rows from a fourth one. Targets are ``y = X theta_star + noise``.
* A *path* is a string of distinct stage letters (``"ABU"``, ``"UAB"``, ``"BA"``...).
  Training walks the path from ``theta_0 = 0`` with one proximal ridge step per stage::

      theta_s = argmin ||X_s theta - y_s||^2 + mu_s ||theta - theta_{s-1}||^2
              = (X_s^T X_s + mu_s I)^{-1} (X_s^T y_s + mu_s theta_{s-1}).

* The retrain reference of a path is the same path with ``U`` removed (``theta_0`` if
  nothing is left).
* Unlearning is gradient ascent on ``L_U(theta) = (1/k) ||X_U theta - y_U||^2``::

      theta_t = theta_{t-1} + eta grad L_U(theta_{t-1})
              = (I + M_U) theta_{t-1} - (2 eta / k) X_U^T y_U,   M_U = (2 eta / k) X_U^T X_U.

* RE distance on the test set: ``d(theta, theta') = (1/m) ||X_test (theta - theta')||^2``.

Lemma 3.2. The affine GA map is the same for every starting point, so the difference of
two unlearning runs obeys ``Delta_t = (I + M_U)^t Delta_0`` exactly.

Theorem 3.1 (the definitions used here, with a self-contained proof):

* ``P_U`` is the orthogonal projector onto the row space of ``X_U`` (dimension ``k``,
  ``X_U`` has full row rank). Write ``V_U`` (``d x k``) for an orthonormal basis of it.
* ``M_U`` acts as zero on the null space of ``X_U`` and has exactly ``k`` positive
  eigenvalues ``rho_i = (2 eta / k) s_i(X_U)^2`` on the row space. ``rho*`` is the
  smallest of them, so ``1 + rho*`` is the slowest growth factor inside the row space:
  ``||(I + M_U)^t P_U v|| >= (1 + rho*)^t ||P_U v||``.
* ``sigma_U`` is the smallest singular value of ``X_test`` restricted to the row space,
  ``sigma_U = s_min(X_test V_U)``; ``sigma_U^2`` is the smallest eigenvalue of the
  (unnormalised) test second moment ``X_test^T X_test`` compressed to the row space,
  ``V_U^T X_test^T X_test V_U``. It is positive for generic test sets exactly when
  ``m >= k``, hence that requirement. For every ``v`` in the row space
  ``||X_test v|| >= sigma_U ||v||``.
* Split ``Delta_0 = P_U Delta_0 + (I - P_U) Delta_0``. The second part is fixed by
  ``I + M_U``, so ``Delta_t = (I + M_U)^t P_U Delta_0 + (I - P_U) Delta_0`` and, with
  ``r = ||X_test (I - P_U) Delta_0||`` and ``p = ||P_U Delta_0||``::

      ||X_test Delta_t|| >= sigma_U (1 + rho*)^t p - r.

  ``t0`` is the smallest integer ``t`` with ``sigma_U (1 + rho*)^t p >= 2 r``, i.e.
  ``t0 = ceil(log(2 r / (sigma_U p)) / log(1 + rho*))`` (may be negative; ``0`` in the
  degenerate cases ``r = 0`` or ``p = 0``). For ``t >= max(t0, 0)`` the right-hand side
  is at least ``sigma_U (1 + rho*)^t p / 2``; squaring and dividing by ``m`` gives::

      d(theta^1_t, theta^2_t) >= sigma_U^2 p^2 (1 + rho*)^{2t} / (4 m).

Corollary 1. ``sqrt(d)`` is a pseudometric. If both unlearned models were within ``eps``
of their retrain references ``r^1``, ``r^2`` (in ``d``), then
``sqrt(d(theta^1_t, theta^2_t)) <= 2 sqrt(eps) + g`` with ``g = sqrt(d(r^1, r^2))``.
``t*`` is the smallest ``t >= max(t0, 0)`` with ``sqrt(bound_t) > 2 sqrt(eps) + g``;
from then on at most one of the two models is within ``eps`` of its reference. When the
two paths share their reference (``g = 0``) this is the paper's ``bound_t > 4 eps``.

This module only needs numpy; the Kedro pipeline ``theory`` wraps it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

STAGES: tuple[str, ...] = ("A", "B", "U")
FORGET_STAGE = "U"


@dataclass(frozen=True)
class TheoryConfig:
    """Sizes and hyper-parameters of one simulated instance.

    Attributes:
        d: Dimension; must exceed ``n_A + n_B + k`` (overparameterised).
        n_A: Rows of stage ``A``.
        n_B: Rows of stage ``B``.
        k: Rows of the forget set ``U`` (``k <= d``).
        m: Rows of the test set (``m >= k``).
        mu_A: Proximal ridge strength of stage ``A`` (> 0).
        mu_B: Proximal ridge strength of stage ``B`` (> 0).
        mu_U: Proximal ridge strength of stage ``U`` (> 0).
        eta: Gradient-ascent learning rate (> 0).
        steps: Number of unlearning steps (>= 0).
        noise: Standard deviation of the target noise (>= 0).
        mean_shift: Scale of the per-distribution mean vectors (>= 0).
        epsilon: Tolerance of Corollary 1 (> 0).
        mu_iid: Ridge strength of the one-stage i.i.d. control (> 0).
    """

    d: int
    n_A: int
    n_B: int
    k: int
    m: int
    mu_A: float
    mu_B: float
    mu_U: float
    eta: float
    steps: int
    noise: float = 0.1
    mean_shift: float = 1.0
    epsilon: float = 1e-2
    mu_iid: float = 1.0

    def __post_init__(self) -> None:
        for name in ("d", "n_A", "n_B", "k", "m"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer):
                raise ValueError(f"theory: {name} must be an integer, got {value!r}")
            if value < 1:
                raise ValueError(f"theory: {name}={value} must be >= 1")
        if self.k > self.d:
            raise ValueError(f"theory: k={self.k} must be <= d={self.d}")
        if self.m < self.k:
            raise ValueError(f"theory: m={self.m} must be >= k={self.k}")
        total = self.n_A + self.n_B + self.k
        if self.d <= total:
            raise ValueError(
                f"theory: d={self.d} must exceed n_A + n_B + k = {total} (overparameterised)"
            )
        for name in ("mu_A", "mu_B", "mu_U", "mu_iid", "eta", "epsilon"):
            value = getattr(self, name)
            if not value > 0 or not math.isfinite(value):
                raise ValueError(f"theory: {name}={value} must be a finite number > 0")
        for name in ("noise", "mean_shift"):
            value = getattr(self, name)
            if not value >= 0 or not math.isfinite(value):
                raise ValueError(f"theory: {name}={value} must be a finite number >= 0")
        if isinstance(self.steps, bool) or not isinstance(self.steps, int | np.integer):
            raise ValueError(f"theory: steps must be an integer, got {self.steps!r}")
        if self.steps < 0:
            raise ValueError(f"theory: steps={self.steps} must be >= 0")

    @property
    def mus(self) -> dict[str, float]:
        """Per-stage proximal ridge strengths."""
        return {"A": self.mu_A, "B": self.mu_B, "U": self.mu_U}

    @property
    def sizes(self) -> dict[str, int]:
        """Per-stage number of rows."""
        return {"A": self.n_A, "B": self.n_B, "U": self.k}


@dataclass(frozen=True)
class Instance:
    """One draw of the stage datasets, the test set and the ground truth.

    Attributes:
        X: Stage letter -> design matrix.
        y: Stage letter -> targets.
        X_test: Test design matrix (``m x d``).
        theta_star: Ground-truth parameter.
    """

    X: dict[str, np.ndarray]
    y: dict[str, np.ndarray]
    X_test: np.ndarray
    theta_star: np.ndarray


@dataclass(frozen=True)
class BoundTerms:
    """Quantities of Theorem 3.1 for one pair of unlearning starts.

    Attributes:
        rho_star: Smallest nonzero eigenvalue of ``M_U``.
        rho_max: Largest eigenvalue of ``M_U``.
        sigma_U: Smallest singular value of ``X_test`` on the row space of ``X_U``.
        proj_norm: ``||P_U Delta_0||``.
        resid_norm: ``||X_test (I - P_U) Delta_0||``.
        t0: Step from which the bound holds (may be negative).
        m: Number of test rows.
    """

    rho_star: float
    rho_max: float
    sigma_U: float
    proj_norm: float
    resid_norm: float
    t0: int
    m: int

    def bound(self, steps: np.ndarray | int) -> np.ndarray:
        """Lower bound ``sigma_U^2 p^2 (1 + rho*)^{2t} / (4m)`` at the given steps."""
        t = np.asarray(steps, dtype=float)
        return (
            self.sigma_U**2
            * self.proj_norm**2
            * np.power(1.0 + self.rho_star, 2.0 * t)
            / (4.0 * self.m)
        )


@dataclass
class InstanceResult:
    """Per-step trajectories and per-instance constants of one simulated instance."""

    steps: np.ndarray
    distance: np.ndarray
    bound: np.ndarray
    dist_ref_1: np.ndarray
    dist_ref_2: np.ndarray
    control_distance: np.ndarray
    lemma_rel_error: np.ndarray
    terms: BoundTerms
    t_star: int
    ref_gap: float


def validate_path(path: str) -> str:
    """Check a path string over the stage letters.

    Args:
        path: E.g. ``"ABU"``.

    Returns:
        The path, unchanged.

    Raises:
        ValueError: Empty path, unknown letter or repeated letter.
    """
    if not isinstance(path, str) or not path:
        raise ValueError(f"theory: path must be a non-empty string of {STAGES}, got {path!r}")
    for letter in path:
        if letter not in STAGES:
            raise ValueError(
                f"theory: unknown stage letter {letter!r} in path {path!r} (known: {STAGES})"
            )
    if len(set(path)) != len(path):
        raise ValueError(f"theory: path {path!r} repeats a stage")
    return path


def retrain_path(path: str) -> str:
    """Return the retrain reference of a path: the path without the forget stage."""
    return validate_path(path).replace(FORGET_STAGE, "")


def _gaussian_rows(rng: np.random.Generator, n: int, d: int, mean_shift: float) -> np.ndarray:
    """Rows from ``N(mean, diag(scale^2)) / sqrt(d)`` with a random mean and scales."""
    mean = mean_shift * rng.standard_normal(d)
    scale = np.exp(rng.uniform(-0.5, 0.5, size=d))
    return (mean + scale * rng.standard_normal((n, d))) / math.sqrt(d)


def make_instance(config: TheoryConfig, rng: np.random.Generator) -> Instance:
    """Draw ``S_A``, ``S_B``, ``S_U``, the test set and ``theta_star``.

    Each set comes from its own Gaussian (own mean and diagonal covariance), so the
    stages are not exchangeable. Rows are scaled by ``1/sqrt(d)`` to have norm O(1).

    Args:
        config: Sizes and noise level.
        rng: Random generator.

    Returns:
        The instance.

    Raises:
        ValueError: The forget set is (numerically) not of full row rank.
    """
    d = config.d
    X = {s: _gaussian_rows(rng, n, d, config.mean_shift) for s, n in config.sizes.items()}
    X_test = _gaussian_rows(rng, config.m, d, config.mean_shift)
    theta_star = rng.standard_normal(d)
    y = {s: X[s] @ theta_star + config.noise * rng.standard_normal(len(X[s])) for s in X}
    sv = np.linalg.svd(X["U"], compute_uv=False)
    if sv[-1] <= 1e-10 * sv[0]:
        raise ValueError("theory: forget set X_U is not of full row rank")
    return Instance(X=X, y=y, X_test=X_test, theta_star=theta_star)


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
        path: Stage letters in training order (may be empty for ``theta_0``).
        mus: Per-stage proximal ridge strength.

    Returns:
        The trained parameter.
    """
    if path:
        validate_path(path)
    theta = np.zeros(instance.X_test.shape[1])
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
        eta: Learning rate.
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


def re_distance(X_test: np.ndarray, theta_1: np.ndarray, theta_2: np.ndarray) -> np.ndarray:
    """RE distance ``(1/m) ||X_test (theta_1 - theta_2)||^2`` (row-wise for 2-D inputs)."""
    diff = np.atleast_2d(theta_1 - theta_2)
    preds = diff @ X_test.T
    out = np.sum(preds**2, axis=1) / X_test.shape[0]
    return out if np.ndim(theta_1) > 1 or np.ndim(theta_2) > 1 else out[0]


def lemma_prediction(M_U: np.ndarray, delta0: np.ndarray, steps: int) -> np.ndarray:
    """Lemma 3.2: ``Delta_t = (I + M_U)^t Delta_0`` for ``t = 0..steps``."""
    out = np.empty((steps + 1, delta0.shape[0]))
    out[0] = delta0
    for t in range(1, steps + 1):
        out[t] = out[t - 1] + M_U @ out[t - 1]
    return out


def bound_terms(X_U: np.ndarray, X_test: np.ndarray, eta: float, delta0: np.ndarray) -> BoundTerms:
    """Compute ``rho*``, ``sigma_U``, ``||P_U Delta_0||``, the residual term and ``t0``.

    Args:
        X_U: Forget-set design (``k x d``, full row rank).
        X_test: Test design (``m x d``).
        eta: GA learning rate.
        delta0: Difference of the two unlearning starts.

    Returns:
        The theorem's quantities (see the module docstring for the definitions).
    """
    k = X_U.shape[0]
    _, s, vt = np.linalg.svd(X_U, full_matrices=False)
    V_U = vt[:k].T
    rho = (2.0 * eta / k) * s**2
    rho_star, rho_max = float(rho.min()), float(rho.max())
    sigma_U = float(np.linalg.svd(X_test @ V_U, compute_uv=False).min())
    proj = V_U @ (V_U.T @ delta0)
    proj_norm = float(np.linalg.norm(proj))
    resid_norm = float(np.linalg.norm(X_test @ (delta0 - proj)))
    if resid_norm == 0.0 or proj_norm == 0.0 or sigma_U == 0.0:
        t0 = 0
    else:
        t0 = math.ceil(math.log(2.0 * resid_norm / (sigma_U * proj_norm)) / math.log1p(rho_star))
    return BoundTerms(
        rho_star=rho_star,
        rho_max=rho_max,
        sigma_U=sigma_U,
        proj_norm=proj_norm,
        resid_norm=resid_norm,
        t0=t0,
        m=X_test.shape[0],
    )


def t_star(terms: BoundTerms, epsilon: float, ref_gap: float = 0.0) -> int | None:
    """Corollary 1: first step from which at most one model is within ``epsilon``.

    Args:
        terms: Theorem quantities.
        epsilon: Tolerance on the RE distance to the retrain reference.
        ref_gap: ``sqrt(d(r^1, r^2))`` between the two retrain references.

    Returns:
        The smallest ``t >= max(t0, 0)`` with ``sqrt(bound_t) > 2 sqrt(eps) + ref_gap``,
        or ``None`` when the bound is identically zero.
    """
    start = max(terms.t0, 0)
    scale = terms.sigma_U * terms.proj_norm / (2.0 * math.sqrt(terms.m))
    if scale == 0.0:
        return None
    target = 2.0 * math.sqrt(epsilon) + ref_gap
    x = math.log(target / scale) / math.log1p(terms.rho_star)
    t = max(start, math.floor(x) + 1)
    while math.sqrt(float(terms.bound(t))) <= target:  # guard against rounding in floor
        t += 1
    return t


def fit_log_rate(steps: np.ndarray, distance: np.ndarray, start: int) -> float:
    """Least-squares slope of ``log distance`` against ``t`` for ``t >= start``.

    Returns ``nan`` when fewer than two positive points are available.
    """
    mask = (steps >= start) & (distance > 0) & np.isfinite(distance)
    if mask.sum() < 2:
        return float("nan")
    return float(np.polyfit(steps[mask], np.log(distance[mask]), 1)[0])


def _iid_control(
    instance: Instance, order_1: str, order_2: str, config: TheoryConfig
) -> np.ndarray:
    """One ridge stage on the union of the sets, stacked in two orders, then GA.

    Returns the RE distance between the two unlearning runs per step; it only reflects
    float rounding since the one-stage solution does not depend on row order.
    """
    X_U, y_U = instance.X["U"], instance.y["U"]
    zero = np.zeros(config.d)
    thetas = []
    for order in (order_1, order_2):
        X = np.vstack([instance.X[s] for s in order])
        y = np.concatenate([instance.y[s] for s in order])
        theta0 = proximal_ridge_stage(X, y, config.mu_iid, zero)
        thetas.append(gradient_ascent(theta0, X_U, y_U, config.eta, config.steps))
    return re_distance(instance.X_test, thetas[0], thetas[1])


def simulate_instance(
    config: TheoryConfig,
    path_1: str,
    path_2: str,
    rng: np.random.Generator,
) -> InstanceResult:
    """Train both paths, unlearn ``U`` with GA, and measure everything per step.

    Args:
        config: Instance configuration.
        path_1: First learning path.
        path_2: Second learning path.
        rng: Random generator for the instance draw.

    Returns:
        Trajectories (distance, bound, distances to retrain references, i.i.d. control,
        Lemma 3.2 relative error) and the theorem constants.
    """
    validate_path(path_1)
    validate_path(path_2)
    instance = make_instance(config, rng)
    mus = config.mus
    X_U, y_U = instance.X["U"], instance.y["U"]
    runs = [
        gradient_ascent(train_path(instance, p, mus), X_U, y_U, config.eta, config.steps)
        for p in (path_1, path_2)
    ]
    refs = [train_path(instance, retrain_path(p), mus) for p in (path_1, path_2)]
    steps = np.arange(config.steps + 1)
    distance = re_distance(instance.X_test, runs[0], runs[1])
    delta0 = runs[0][0] - runs[1][0]
    terms = bound_terms(X_U, instance.X_test, config.eta, delta0)
    predicted = lemma_prediction(unlearning_matrix(X_U, config.eta), delta0, config.steps)
    simulated = runs[0] - runs[1]
    norms = np.linalg.norm(predicted, axis=1)
    lemma_err = np.linalg.norm(simulated - predicted, axis=1) / np.where(norms > 0, norms, 1.0)
    ref_gap = math.sqrt(float(re_distance(instance.X_test, refs[0], refs[1])))
    letters_1 = path_1 if FORGET_STAGE in path_1 else path_1 + FORGET_STAGE
    letters_2 = path_2 if FORGET_STAGE in path_2 else path_2 + FORGET_STAGE
    union_1 = "".join(dict.fromkeys(letters_1 + "AB"))
    union_2 = "".join(dict.fromkeys(letters_2 + "AB"))
    return InstanceResult(
        steps=steps,
        distance=distance,
        bound=terms.bound(steps),
        dist_ref_1=re_distance(instance.X_test, runs[0], refs[0][None, :]),
        dist_ref_2=re_distance(instance.X_test, runs[1], refs[1][None, :]),
        control_distance=_iid_control(instance, union_1, union_2, config),
        lemma_rel_error=lemma_err,
        terms=terms,
        t_star=t_star(terms, config.epsilon, ref_gap),
        ref_gap=ref_gap,
    )


def summarise_instance(result: InstanceResult, epsilon: float) -> dict[str, float | int | bool]:
    """Per-instance summary: theorem constants, whether the bound held, growth rates.

    Args:
        result: Output of :func:`simulate_instance`.
        epsilon: Corollary 1 tolerance.

    Returns:
        Flat mapping of summary values.
    """
    terms = result.terms
    start = max(terms.t0, 0)
    regime = result.steps >= start
    held = bool(np.all(result.distance[regime] >= result.bound[regime] * (1.0 - 1e-9)))
    if result.t_star is None:
        after = np.zeros_like(regime)
    else:
        after = result.steps >= result.t_star
    both_close = (result.dist_ref_1 <= epsilon) & (result.dist_ref_2 <= epsilon)
    return {
        "rho_star": terms.rho_star,
        "rho_max": terms.rho_max,
        "sigma_U": terms.sigma_U,
        "proj_norm": terms.proj_norm,
        "resid_norm": terms.resid_norm,
        "t0": terms.t0,
        "t_star": -1 if result.t_star is None else result.t_star,
        "ref_gap": result.ref_gap,
        "epsilon": epsilon,
        "bound_held": held,
        "n_steps_checked": int(regime.sum()),
        "corollary_held": bool(not np.any(both_close[after])),
        "fitted_log_rate": fit_log_rate(result.steps, result.distance, start),
        "bound_log_rate": 2.0 * math.log1p(terms.rho_star),
        "max_log_rate": 2.0 * math.log1p(terms.rho_max),
        "lemma_max_rel_error": float(np.max(result.lemma_rel_error)),
        "control_max_distance": float(np.max(result.control_distance)),
        "control_max_ratio": float(
            np.max(result.control_distance / np.maximum(result.distance, 1e-300))
        ),
        "distance_final": float(result.distance[-1]),
        "bound_final": float(result.bound[-1]),
    }


TRAJECTORY_COLUMNS: tuple[str, ...] = (
    "instance",
    "step",
    "distance",
    "bound",
    "in_bound_regime",
    "dist_ref_1",
    "dist_ref_2",
    "control_distance",
    "lemma_rel_error",
)


def run_experiment(
    config: TheoryConfig, path_1: str, path_2: str, seed: int, n_instances: int
) -> tuple[dict[str, np.ndarray], list[dict[str, float | int | bool]]]:
    """Simulate ``n_instances`` independent instances comparing two paths.

    Instance ``i`` draws its data from ``SeedSequence(seed).spawn(n_instances)[i]``.

    Args:
        config: Instance configuration.
        path_1: First learning path.
        path_2: Second learning path (must differ from ``path_1``).
        seed: Base seed.
        n_instances: Number of instances (>= 1).

    Returns:
        Trajectory columns (one entry per instance x step, keys
        :data:`TRAJECTORY_COLUMNS`) and one summary mapping per instance.

    Raises:
        ValueError: Invalid paths, identical paths or ``n_instances < 1``.
    """
    validate_path(path_1)
    validate_path(path_2)
    if path_1 == path_2:
        raise ValueError(f"theory: the two paths must differ, got {path_1!r} twice")
    if isinstance(n_instances, bool) or not isinstance(n_instances, int | np.integer):
        raise ValueError(f"theory: n_instances must be an integer, got {n_instances!r}")
    if n_instances < 1:
        raise ValueError(f"theory: n_instances={n_instances} must be >= 1")
    children = np.random.SeedSequence(seed).spawn(n_instances)
    columns: dict[str, list[np.ndarray]] = {c: [] for c in TRAJECTORY_COLUMNS}
    summaries = []
    for i, child in enumerate(children):
        res = simulate_instance(config, path_1, path_2, np.random.default_rng(child))
        columns["instance"].append(np.full(res.steps.shape, i))
        columns["step"].append(res.steps)
        columns["distance"].append(res.distance)
        columns["bound"].append(res.bound)
        columns["in_bound_regime"].append(res.steps >= max(res.terms.t0, 0))
        columns["dist_ref_1"].append(res.dist_ref_1)
        columns["dist_ref_2"].append(res.dist_ref_2)
        columns["control_distance"].append(res.control_distance)
        columns["lemma_rel_error"].append(res.lemma_rel_error)
        summaries.append({"instance": i, **summarise_instance(res, config.epsilon)})
    return {c: np.concatenate(v) for c, v in columns.items()}, summaries
