"""The theory figure: divergence vs both bounds, tightness, ``t*`` vs the measured crossing.

Built on :class:`matplotlib.figure.Figure` directly, so no pyplot state and no backend
selection: saving goes through Matplotlib's own canvas for the file type.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

_COLORS = {"rayleigh": "C3", "eigen": "C1"}
_LABELS = {"rayleigh": "Rayleigh ρ* (paper)", "eigen": "smallest eigenvalue"}


def plot_theory(trajectories: pd.DataFrame, instances: pd.DataFrame) -> Figure:
    """Three panels for the first comparison (the paper's, by default) and all others.

    Args:
        trajectories: Trajectory table of :func:`~.experiment.run_experiment`.
        instances: Per-instance table of :func:`~.experiment.run_experiment`.

    Returns:
        Left: distance between the two unlearning runs for every instance of the first
        comparison (instance 0 bold) with instance 0's two bounds, ``4 eps``, ``t*`` and the
        i.i.d. control. Middle: per instance, the smallest ratio distance / bound over the
        checked steps, per comparison and bound (log scale; >= 1 means the bound held).
        Right: Corollary 1's ``t*`` against the first step where the distance exceeds
        ``4 eps``, per instance (on or above the diagonal: the guarantee is conservative).
    """
    fig = Figure(figsize=(16, 4.8), layout="constrained")
    left, middle, right = fig.subplots(1, 3)
    comparisons = list(dict.fromkeys(trajectories["comparison"]))
    first = comparisons[0]
    traj = trajectories[trajectories["comparison"] == first]
    path_1, path_2 = traj["path_1"].iloc[0], traj["path_2"].iloc[0]
    for inst, group in traj.groupby("instance"):
        if inst != 0:
            left.plot(group["step"], group["distance"], color="C0", lw=0.5, alpha=0.15)
    zero = traj[traj["instance"] == 0]
    rows0 = instances[(instances["comparison"] == first) & (instances["instance"] == 0)]
    left.plot(zero["step"], zero["distance"], color="C0", lw=2.0, label="d(θ¹_t, θ²_t)")
    for kind, color in _COLORS.items():
        left.plot(zero["step"], zero[f"bound_{kind}"], color=color, ls="--", label=_LABELS[kind])
    control = zero["control_distance"].to_numpy()
    if np.isfinite(control).any():
        left.plot(
            zero["step"],
            np.clip(control, np.finfo(float).tiny, None),
            color="C2",
            lw=1.0,
            label="i.i.d. control",
        )
    row = rows0[rows0["bound"] == "rayleigh"].iloc[0]
    left.axhline(4 * row["epsilon"], color="k", ls=":", lw=1.0, label="4ε")
    left.axvline(max(int(row["t0"]), 0), color="grey", ls=":", label="max(t0, 0)")
    if row["t_star"] >= 0:
        left.axvline(row["t_star"], color="C3", ls="-.", lw=1.0, label="t* (Cor. 1)")
    left.set(
        yscale="log",
        xlabel="unlearning step t",
        ylabel="RE distance",
        title=f"{first}: {path_1} vs {path_2} under GA",
    )
    left.legend(fontsize=7)

    labels, data, colors = [], [], []
    for name in comparisons:
        for kind, color in _COLORS.items():
            sel = instances[(instances["comparison"] == name) & (instances["bound"] == kind)]
            ratios = sel["min_ratio"].to_numpy(dtype=float)
            data.append(np.log10(ratios[np.isfinite(ratios) & (ratios > 0)]))
            labels.append(f"{name}\n{kind}")
            colors.append(color)
    parts = middle.boxplot(data, tick_labels=labels, patch_artist=True)
    for patch, color in zip(parts["boxes"], colors):
        patch.set_facecolor(color)
        patch.set_alpha(0.4)
    middle.axhline(0.0, color="k", lw=1.0)
    middle.set(
        ylabel="log10 min over t ≥ max(t0,0) of distance / bound",
        title=f"tightness over {instances['instance'].nunique()} instances",
    )
    middle.tick_params(axis="x", labelsize=7)

    top = 0
    for j, name in enumerate(comparisons):
        for kind, color in _COLORS.items():
            sel = instances[
                (instances["comparison"] == name)
                & (instances["bound"] == kind)
                & instances["t_star_in_horizon"]
                & (instances["first_above_4eps"] >= 0)
            ]
            right.scatter(
                sel["first_above_4eps"],
                sel["t_star"],
                s=10,
                color=color,
                marker="os^v"[j % 4],
                alpha=0.5,
                label=f"{name}, {kind}",
            )
            top = max(top, int(sel["t_star"].max()) if len(sel) else 0)
    right.plot([0, top], [0, top], color="k", lw=1.0, label="t* = first crossing")
    right.set(
        xlabel="first step with distance > 4ε (measured)",
        ylabel="t* (Corollary 1)",
        title="Corollary 1: guaranteed vs measured",
    )
    right.legend(fontsize=7)
    return fig
