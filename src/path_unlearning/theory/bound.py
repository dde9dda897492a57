"""Theorem 3.1 and Corollary 1 of Yu, He, Goyal, Arora (2025), in the paper's form.

Notation (Section 3 and Appendix C). ``X_U`` (``k x d``) has full row rank;
``M_U = (2 eta / k) X_U^T X_U``; ``P_U = X_U^T (X_U X_U^T)^{-1} X_U`` projects onto the row
space of ``X_U``; ``Delta_0 = theta^1 - theta^2`` is the difference of the two starts
(``theta_AB - theta_BA`` in the paper) and ``p = ||P_U Delta_0||``.

* ``rho*`` (paper) is the Rayleigh quotient ``<P_U Delta_0, M_U P_U Delta_0> / p^2``.
  The smallest positive eigenvalue ``lambda_min`` of ``M_U`` gives a weaker variant
  (``lambda_min <= rho*``); both are computed ("rayleigh" and "eigen").
* ``sigma_U = sigma_min(X_test P_U)``, the smallest singular value of ``X_test`` on the
  row space (``X_test P_U`` has rank ``k``; its ``d - k`` zero singular values are not
  meant). With ``V_U`` an orthonormal basis of the row space, ``sigma_U = s_min(X_test V_U)``,
  positive almost surely when ``m >= k`` (Lemma C.4).
* ``C0 = ||X_test||_op ||(I - P_U) Delta_0||`` (Eq. 5) and
  ``t0 = ceil(log(2 C0 / (sigma_U p)) / log(1 + rho))``, which may be negative.
  ``||X_test (I - P_U) Delta_0||`` is a tighter ``C0``; its ``t0`` is reported as ``t0_tight``.

Theorem 3.1. For ``t >= max(t0, 0)``:
``d(theta^1_t, theta^2_t) >= sigma_U^2 p^2 (1 + rho)^{2t} / (4 m)``.

Proof. Lemma 3.2 gives ``Delta_t = (I + M_U)^t Delta_0``. ``M_U (I - P_U) = 0``, so
``Delta_t = (I + M_U)^t P_U Delta_0 + (I - P_U) Delta_0`` and, by the triangle inequality,
``||X_test Delta_t|| >= ||X_test (I + M_U)^t P_U Delta_0|| - C0``. Let ``(lambda_i, v_i)``,
``i = 1..k``, be the positive eigenpairs of ``M_U``; ``v_i`` span the row space, so
``v := P_U Delta_0 = sum_i c_i v_i`` and ``||(I + M_U)^t v||^2 = sum_i c_i^2 (1 + lambda_i)^{2t}``.

* Rayleigh version (the paper's). With weights ``w_i = c_i^2 / p^2`` (they sum to 1) and
  ``f(x) = (1 + x)^{2t}``, convex on ``x >= 0`` for every integer ``t >= 0``, Jensen gives
  ``sum_i w_i f(lambda_i) >= f(sum_i w_i lambda_i) = (1 + rho*)^{2t}``, because
  ``sum_i w_i lambda_i = <v, M_U v> / ||v||^2 = rho*``. Hence
  ``||(I + M_U)^t v|| >= (1 + rho*)^t p``.
* Eigenvalue version. Each ``(1 + lambda_i)^{2t} >= (1 + lambda_min)^{2t}``, so
  ``||(I + M_U)^t v|| >= (1 + lambda_min)^t p``; Jensen makes the Rayleigh one tighter.

``(I + M_U)^t v`` stays in the row space, where ``||X_test w|| >= sigma_U ||w||``, so
``||X_test Delta_t|| >= sigma_U (1 + rho)^t p - C0``. For ``t >= t0`` the first term is at
least ``2 C0``, so the right-hand side is at least ``sigma_U (1 + rho)^t p / 2``; square and
divide by ``m``. The tighter ``C0`` gives the same conclusion from ``max(t0_tight, 0)`` on.

Corollary 1. ``sqrt(d)`` is a pseudometric, so if both models were within ``eps`` of one
reference ``theta_r`` then ``d(theta^1_t, theta^2_t) <= 4 eps``. The bound exceeds ``4 eps``
once ``t >= (log(16 m eps) - log(sigma_U^2 p^2)) / (2 log(1 + rho))``; so for the smallest
integer ``t* > 0`` that is also ``>= t0``, at most one model is within ``eps`` of any shared
reference. When the two paths have different retrain references ``r^1, r^2`` (``ABU`` vs
``BAU``: ``AB`` vs ``BA``) the same argument needs ``sqrt(bound) > 2 sqrt(eps) + g`` with
``g = sqrt(d(r^1, r^2))`` (:meth:`BoundTerms.t_star_gap`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: The two growth rates: the paper's Rayleigh quotient and the smallest eigenvalue.
BOUND_KINDS: tuple[str, ...] = ("rayleigh", "eigen")


def rayleigh_quotient(M: np.ndarray, v: np.ndarray) -> float:
    """``<v, M v> / ||v||^2`` (``nan`` for ``v = 0``)."""
    norm2 = float(v @ v)
    return float(v @ (M @ v)) / norm2 if norm2 > 0 else float("nan")


def forget_projector(X_U: np.ndarray) -> np.ndarray:
    """``P_U = X_U^T (X_U X_U^T)^{-1} X_U``, the paper's formula (``X_U`` full row rank)."""
    return X_U.T @ np.linalg.solve(X_U @ X_U.T, X_U)


@dataclass(frozen=True)
class BoundTerms:
    """Quantities of Theorem 3.1 for one pair of unlearning starts.

    Attributes:
        rho_rayleigh: The paper's ``rho*``, Rayleigh quotient of ``M_U`` at ``P_U Delta_0``.
        rho_min: Smallest positive eigenvalue of ``M_U``.
        rho_max: Largest eigenvalue of ``M_U``.
        sigma_U: Smallest singular value of ``X_test`` on the row space of ``X_U``.
        proj_norm: ``p = ||P_U Delta_0||``.
        c0: The paper's ``C0 = ||X_test||_op ||(I - P_U) Delta_0||``.
        c0_tight: ``||X_test (I - P_U) Delta_0||`` (``<= c0``).
        m: Number of test rows.
    """

    rho_rayleigh: float
    rho_min: float
    rho_max: float
    sigma_U: float
    proj_norm: float
    c0: float
    c0_tight: float
    m: int

    def rho(self, kind: str = "rayleigh") -> float:
        """The growth rate of a bound kind (``"rayleigh"`` or ``"eigen"``)."""
        if kind == "rayleigh":
            return self.rho_rayleigh
        if kind == "eigen":
            return self.rho_min
        raise ValueError(f"theory: unknown bound kind {kind!r}; use one of {BOUND_KINDS}")

    def bound(self, steps: np.ndarray | int, kind: str = "rayleigh") -> np.ndarray:
        """``sigma_U^2 p^2 (1 + rho)^{2t} / (4m)`` at the given steps."""
        t = np.asarray(steps, dtype=float)
        scale = self.sigma_U**2 * self.proj_norm**2 / (4.0 * self.m)
        if scale == 0.0:  # P_U Delta_0 = 0: rho* is undefined and the bound is trivial
            return np.zeros_like(t)
        return scale * np.power(1.0 + self.rho(kind), 2.0 * t)

    def t0(self, kind: str = "rayleigh", tight: bool = False) -> int:
        """``ceil(log(2 C0 / (sigma_U p)) / log(1 + rho))``; ``0`` when degenerate.

        Degenerate cases: ``C0 = 0`` (then every ``t >= 0`` works) or a zero bound.
        """
        c0 = self.c0_tight if tight else self.c0
        rho = self.rho(kind)
        if c0 == 0.0 or self.sigma_U * self.proj_norm == 0.0 or not rho > 0:
            return 0
        ratio = 2.0 * c0 / (self.sigma_U * self.proj_norm)
        return math.ceil(math.log(ratio) / math.log1p(rho))

    def eps_term(self, epsilon: float, kind: str = "rayleigh") -> float | None:
        """``(log(16 m eps) - log(sigma_U^2 p^2)) / (2 log(1 + rho))``, Corollary 1's first term.

        Returns:
            The real-valued step from which ``bound >= 4 eps``, or ``None`` when the bound
            is identically zero.
        """
        scale2 = self.sigma_U**2 * self.proj_norm**2
        rho = self.rho(kind)
        if scale2 == 0.0 or not rho > 0:
            return None
        return (math.log(16.0 * self.m * epsilon) - math.log(scale2)) / (2.0 * math.log1p(rho))

    def t_star(self, epsilon: float, kind: str = "rayleigh") -> int | None:
        """Corollary 1: smallest integer ``t* > 0``, ``t* >= t0``, with ``bound >= 4 eps``.

        Returns:
            ``max(ceil((log(16 m eps) - log(sigma_U^2 p^2)) / (2 log(1 + rho))), t0, 1)``,
            or ``None`` when the bound is identically zero.
        """
        x = self.eps_term(epsilon, kind)
        if x is None:
            return None
        t = max(math.ceil(x), self.t0(kind), 1)
        while float(self.bound(t, kind)) < 4.0 * epsilon * (1.0 - 1e-12):  # rounding in x
            t += 1
        return t

    def t_star_gap(self, epsilon: float, ref_gap: float, kind: str = "rayleigh") -> int | None:
        """Corollary 1 for two different retrain references ``sqrt(d(r^1, r^2)) = ref_gap``.

        Returns:
            The smallest ``t >= max(t0, 0)`` with ``sqrt(bound_t) > 2 sqrt(eps) + ref_gap``,
            or ``None`` when the bound is identically zero.
        """
        scale = self.sigma_U * self.proj_norm / (2.0 * math.sqrt(self.m))
        rho = self.rho(kind)
        if scale == 0.0 or not rho > 0:
            return None
        target = 2.0 * math.sqrt(epsilon) + ref_gap
        x = math.log(target / scale) / math.log1p(rho)
        t = max(self.t0(kind), 0, math.floor(x) + 1)
        while math.sqrt(float(self.bound(t, kind))) <= target:  # rounding in floor
            t += 1
        return t


def bound_terms(X_U: np.ndarray, X_test: np.ndarray, eta: float, delta0: np.ndarray) -> BoundTerms:
    """Compute ``rho*``, ``lambda_min``, ``sigma_U``, ``p`` and both ``C0``.

    The right singular vectors of ``X_U`` are the eigenvectors of ``M_U`` on the row
    space, so the Rayleigh quotient is a weighted mean of ``(2 eta / k) s_i^2``.

    Args:
        X_U: Forget-set design (``k x d``, full row rank).
        X_test: Test design (``m x d``).
        eta: GA step size.
        delta0: Difference of the two unlearning starts.

    Returns:
        The theorem's quantities.
    """
    k = X_U.shape[0]
    _, s, vt = np.linalg.svd(X_U, full_matrices=False)
    eig = (2.0 * eta / k) * s**2  # positive eigenvalues of M_U, eigenvectors rows of vt
    coords = vt @ delta0  # P_U Delta_0 in that eigenbasis
    proj_norm = float(np.linalg.norm(coords))
    weights = coords**2
    rho_rayleigh = float(weights @ eig / weights.sum()) if proj_norm > 0 else float("nan")
    sigma_U = float(np.linalg.svd(X_test @ vt.T, compute_uv=False).min())
    off_span = delta0 - vt.T @ coords
    return BoundTerms(
        rho_rayleigh=rho_rayleigh,
        rho_min=float(eig.min()),
        rho_max=float(eig.max()),
        sigma_U=sigma_U,
        proj_norm=proj_norm,
        c0=float(np.linalg.norm(X_test, 2) * np.linalg.norm(off_span)),
        c0_tight=float(np.linalg.norm(X_test @ off_span)),
        m=int(X_test.shape[0]),
    )
