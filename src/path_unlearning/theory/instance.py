"""Random instances of Section 3: stage datasets, forget set, test set, ground truth."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from path_unlearning.theory.config import FORGET_STAGE, TheoryConfig


@dataclass(frozen=True)
class Instance:
    """One draw of the stage datasets, the test set and the ground truth.

    Attributes:
        X: Stage letter -> design matrix (``U`` is the forget set).
        y: Stage letter -> targets.
        X_test: Test design matrix (``m x d``).
        theta_star: Ground-truth parameter.
    """

    X: dict[str, np.ndarray]
    y: dict[str, np.ndarray]
    X_test: np.ndarray
    theta_star: np.ndarray

    @property
    def d(self) -> int:
        """Dimension."""
        return int(self.X_test.shape[1])


def _gaussian_rows(rng: np.random.Generator, n: int, d: int, mean_shift: float) -> np.ndarray:
    """Rows from ``N(mean, diag(scale^2)) / sqrt(d)`` with a random mean and scales."""
    mean = mean_shift * rng.standard_normal(d)
    scale = np.exp(rng.uniform(-0.5, 0.5, size=d))
    return (mean + scale * rng.standard_normal((n, d))) / math.sqrt(d)


def make_instance(config: TheoryConfig, rng: np.random.Generator) -> Instance:
    """Draw ``S_A``, ``S_B``, ``S_U``, the test set and ``theta_star``.

    Each set comes from its own Gaussian (own mean and diagonal covariance), so the
    stages are not exchangeable, as the paper assumes ("different, continuous
    distributions"). Rows are scaled by ``1/sqrt(d)`` to have norm O(1).

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
    sv = np.linalg.svd(X[FORGET_STAGE], compute_uv=False)
    if sv[-1] <= 1e-10 * sv[0]:
        raise ValueError("theory: forget set X_U is not of full row rank")
    return Instance(X=X, y=y, X_test=X_test, theta_star=theta_star)
