"""Nodes of theory: thin wrappers over ``path_unlearning.theory.linear``."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from path_unlearning.theory.linear import TheoryConfig, run_experiment  # noqa: E402

_RUN_KEYS = ("paths", "seed", "n_instances")
_CONFIG_KEYS = tuple(f.name for f in fields(TheoryConfig))


def simulate_theory(params: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Simulate the two paths on ``n_instances`` random instances.

    Args:
        params: ``theory`` parameters: the :class:`TheoryConfig` fields plus ``paths``
            (two path strings), ``seed`` and ``n_instances``.

    Returns:
        The trajectory table (one row per instance x step) and the per-instance summary.
    """
    unknown = sorted(set(params) - set(_CONFIG_KEYS) - set(_RUN_KEYS))
    if unknown:
        raise ValueError(f"theory: unknown parameters {unknown}")
    missing = [k for k in _RUN_KEYS if k not in params]
    if missing:
        raise ValueError(f"theory: missing parameters {missing}")
    paths = list(params["paths"])
    if len(paths) != 2:
        raise ValueError(f"theory: paths must list exactly two paths, got {paths!r}")
    try:
        config = TheoryConfig(**{k: v for k, v in params.items() if k in _CONFIG_KEYS})
    except TypeError as err:
        raise ValueError(f"theory: incomplete parameters ({err})") from None
    columns, summaries = run_experiment(
        config, paths[0], paths[1], params["seed"], params["n_instances"]
    )
    labels = {"path_1": paths[0], "path_2": paths[1], "seed": params["seed"]}
    trajectories = pd.DataFrame({**columns}).assign(**labels)
    summary = pd.DataFrame(summaries).assign(**labels)
    return trajectories, summary


def to_reporting(table: pd.DataFrame) -> pd.DataFrame:
    """Pass a table through unchanged so it is also saved as a CSV for kedro-viz.

    Args:
        table: Any table.

    Returns:
        The same table.
    """
    return table


def plot_divergence(trajectories: pd.DataFrame, summary: pd.DataFrame) -> Figure:
    """Log-scale plot of the path divergence and the Theorem 3.1 bound per step.

    Args:
        trajectories: Output of :func:`simulate_theory`.
        summary: Per-instance summary of :func:`simulate_theory`.

    Returns:
        A figure: left, distance and bound for every instance (instance 0 bold);
        right, instance 0's distances to the retrain references with ``epsilon`` and ``t*``.
    """
    path_1, path_2 = trajectories["path_1"].iloc[0], trajectories["path_2"].iloc[0]
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5), constrained_layout=True)
    for inst, group in trajectories.groupby("instance"):
        first = inst == 0
        kwargs = {"lw": 2.0, "alpha": 1.0} if first else {"lw": 0.6, "alpha": 0.3}
        left.plot(
            group["step"],
            group["distance"],
            color="C0",
            **kwargs,
            label="d(θ¹_t, θ²_t)" if first else None,
        )
        left.plot(
            group["step"],
            group["bound"],
            color="C3",
            ls="--",
            **kwargs,
            label="Thm 3.1 bound" if first else None,
        )
    first = trajectories[trajectories["instance"] == 0]
    row = summary[summary["instance"] == 0].iloc[0]
    tiny = np.finfo(float).tiny
    left.plot(
        first["step"],
        first["control_distance"].clip(lower=tiny),
        color="C2",
        lw=1.2,
        label="i.i.d. control",
    )
    left.axvline(max(int(row["t0"]), 0), color="grey", ls=":", label="max(t0, 0)")
    left.set(
        yscale="log",
        xlabel="unlearning step t",
        ylabel="RE distance",
        title=f"{path_1} vs {path_2}: divergence under GA",
    )
    left.legend(fontsize=8)
    right.plot(first["step"], first["dist_ref_1"], color="C0", label=f"{path_1} to retrain ref")
    right.plot(first["step"], first["dist_ref_2"], color="C1", label=f"{path_2} to retrain ref")
    right.axhline(row["epsilon"], color="k", ls=":", label="ε")
    if row["t_star"] >= 0:
        right.axvline(row["t_star"], color="C3", ls="--", label="t* (Cor. 1)")
    right.set(
        yscale="log",
        xlabel="unlearning step t",
        ylabel="RE distance",
        title="instance 0: distance to retrained reference",
    )
    right.legend(fontsize=8)
    return fig
