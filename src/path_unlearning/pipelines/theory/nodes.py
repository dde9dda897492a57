"""Nodes of theory: unpack parameters, call ``path_unlearning.theory``, return tables."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from path_unlearning.theory.config import TheorySection, theory_section
from path_unlearning.theory.experiment import run_experiment, summarise
from path_unlearning.theory.figures import plot_theory


def simulate_theory(params: TheorySection) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Simulate every comparison on ``n_instances`` random instances.

    Args:
        params: ``theory`` parameters, validated by Kedro as a :class:`TheorySection`
            (the :class:`TheoryConfig` fields and ``comparisons``, name -> two paths);
            a plain mapping is validated here.

    Returns:
        The trajectory table and the per-instance table (one row per bound kind).
    """
    config = theory_section(params)
    return run_experiment(config, config.pairs)


def summarise_theory(instances: pd.DataFrame) -> pd.DataFrame:
    """How often each bound held, median ratios, ``t*`` vs the measured crossing.

    Args:
        instances: Per-instance table of :func:`simulate_theory`.

    Returns:
        One row per (comparison, bound).
    """
    return summarise(instances)


def to_reporting(table: pd.DataFrame) -> pd.DataFrame:
    """Pass a table through unchanged so it is also saved as a CSV for kedro-viz.

    Args:
        table: Any table.

    Returns:
        The same table.
    """
    return table


def plot_theory_divergence(trajectories: pd.DataFrame, instances: pd.DataFrame) -> Figure:
    """The theory figure (see :func:`path_unlearning.theory.figures.plot_theory`).

    Args:
        trajectories: Trajectory table of :func:`simulate_theory`.
        instances: Per-instance table of :func:`simulate_theory`.

    Returns:
        The figure.
    """
    return plot_theory(trajectories, instances)
