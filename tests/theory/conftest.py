"""Shared small configuration for the theory tests."""

from __future__ import annotations

import pytest

from path_unlearning.theory.config import TheoryConfig


@pytest.fixture
def base() -> TheoryConfig:
    """A small instance that still covers max(t0, 0) within ``steps``."""
    return TheoryConfig(
        d=40, n_A=8, n_B=8, k=4, m=10, mu_A=1.0, mu_B=0.5, eta=0.5, steps=60, n_instances=3
    )
