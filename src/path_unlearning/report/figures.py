"""Report figures, as Matplotlib figures (PNG files) and Plotly figures (kedro-viz).

Matplotlib figures are built with the object API (``Figure()``, no pyplot), so
no backend or process-wide state is touched. Each path keeps one colour in every
figure; paths are ordered by the position of the forget stage.
"""

from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from plotly.subplots import make_subplots

from path_unlearning import schemas as sc
from path_unlearning.report.tables import method_order, path_order

PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
)  # fmt: skip
LL_LABELS = {
    sc.FORGET_LABEL_LL: "forget label log-likelihood",
    sc.PARAPHRASE_LL: "paraphrase log-likelihood",
    sc.FACTS_LL: "retained facts log-likelihood",
    sc.MATH_LL: "math log-likelihood",
    sc.FORGET_LABEL_TOK: "forget label log-likelihood per token",
    sc.PARAPHRASE_TOK: "paraphrase log-likelihood per token",
    sc.FACTS_TOK: "retained facts log-likelihood per token",
    sc.MATH_TOK: "math log-likelihood per token",
}


def path_colors(paths: list[str]) -> dict[str, str]:
    """One colour per path, cycling through a ten-colour palette."""
    return {p: PALETTE[i % len(PALETTE)] for i, p in enumerate(paths)}


def _rgba(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def figure_png(fig: Figure, dpi: int = 120) -> bytes:
    """The figure rendered as PNG bytes (for embedding in the report)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    return buffer.getvalue()


def _empty_axes(ax: Axes, message: str) -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, color="grey")
    ax.set_xticks([])
    ax.set_yticks([])


def _draw_bands(ax: Axes, bands: pd.DataFrame, colors: dict[str, str]) -> None:
    for path in path_order(bands):
        curve = bands[bands["path"] == path].sort_values("step")
        position = int(curve["position"].iloc[0])
        ax.plot(curve["step"], curve["mean"], color=colors[path], lw=1.6,
                label=f"{path} (p={position})")  # fmt: skip
        band = curve[np.isfinite(curve["lower"]) & np.isfinite(curve["upper"])]
        if len(band):
            ax.fill_between(band["step"], band["lower"], band["upper"], color=colors[path],
                            alpha=0.2, lw=0)  # fmt: skip


def _legend(fig: Figure, ax: Axes) -> None:
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside right upper", fontsize=8, title="path",
               title_fontsize=8)  # fmt: skip


def _band_note(bands: pd.DataFrame, level: float) -> str:
    n = int(bands["n"].max()) if len(bands) else 0
    if n < 2:
        return "one seed: no confidence band"
    return f"bands: {level:.0%} confidence interval over {n} seeds"


def plot_curves(
    bands: pd.DataFrame, column: str = sc.FORGET_LABEL_TOK, level: float = 0.95
) -> Figure:
    """Figure 1 analogue: one panel per method, one line per path, bands over seeds.

    Args:
        bands: :func:`~path_unlearning.report.tables.trajectory_bands` of ``column``.
        column: The plotted log-likelihood column (for the axis label).
        level: Coverage of the bands (for the caption).

    Returns:
        A Matplotlib figure.
    """
    methods = method_order(bands)
    colors = path_colors(path_order(bands))
    n = max(len(methods), 1)
    fig = Figure(figsize=(4.2 * n, 3.8), layout="constrained")
    axes = fig.subplots(1, n, squeeze=False)[0]
    if not methods:
        _empty_axes(axes[0], "no trajectories")
        return fig
    for ax, method in zip(axes, methods):
        _draw_bands(ax, bands[bands["method"] == method], colors)
        ax.set(title=method, xlabel="unlearning step", ylabel=LL_LABELS.get(column, column))
        ax.grid(alpha=0.3)
    _legend(fig, axes[0])
    fig.suptitle(f"{LL_LABELS.get(column, column)} during unlearning ({_band_note(bands, level)})",
                 fontsize=10)  # fmt: skip
    return fig


def plot_forget_and_facts(
    forget_bands: pd.DataFrame, facts_bands: pd.DataFrame, level: float = 0.95
) -> Figure:
    """Figure 3 analogue: forget label (left) and retained facts (right), a row per method.

    Args:
        forget_bands: Bands of ``forget_label_ll``.
        facts_bands: Bands of ``facts_ll``.
        level: Coverage of the bands (for the caption).

    Returns:
        A Matplotlib figure.
    """
    methods = method_order(forget_bands)
    colors = path_colors(path_order(forget_bands))
    n = max(len(methods), 1)
    fig = Figure(figsize=(9.0, 3.2 * n), layout="constrained")
    axes = fig.subplots(n, 2, squeeze=False)
    if not methods:
        _empty_axes(axes[0][0], "no trajectories")
        _empty_axes(axes[0][1], "no trajectories")
        return fig
    for row, method in zip(axes, methods):
        for ax, bands, column in (
            (row[0], forget_bands, sc.FORGET_LABEL_TOK),
            (row[1], facts_bands, sc.FACTS_TOK),
        ):
            _draw_bands(ax, bands[bands["method"] == method], colors)
            ax.set(title=f"{method}: {LL_LABELS[column]}", xlabel="unlearning step",
                   ylabel="log-likelihood (nats)")  # fmt: skip
            ax.grid(alpha=0.3)
    _legend(fig, axes[0][0])
    fig.suptitle(f"forgetting and retained facts ({_band_note(forget_bands, level)})",
                 fontsize=10)  # fmt: skip
    return fig


def _fit_line(fit: pd.Series, steps: np.ndarray) -> np.ndarray:
    return np.exp(float(fit["intercept"]) + float(fit["slope"]) * steps)


def _fit_label(method: str, fits: pd.DataFrame) -> tuple[str, pd.Series | None]:
    row = fits[fits["method"] == method]
    if row.empty or not math.isfinite(float(row["slope"].iloc[0])):
        return f"{method} (no fit)", None
    fit = row.iloc[0]
    return f"{method}: rate {float(fit['slope']):.3g}/step, r2 {float(fit['r2']):.2f}", fit


def plot_divergence(curve: pd.DataFrame, fits: pd.DataFrame, references: pd.DataFrame) -> Figure:
    """Divergence figure: distance between paths (log scale, fitted rate) and to references.

    Args:
        curve: :func:`~path_unlearning.report.tables.divergence_curve`.
        fits: ``divergence_fits``.
        references: :func:`~path_unlearning.report.tables.reference_distances`.

    Returns:
        A Matplotlib figure: left, mean RE distance between paths against step with
        each method's fitted exponential; right, RE distance of each path to its
        retrain reference before and after unlearning.
    """
    fig = Figure(figsize=(12.0, 4.4), layout="constrained")
    left, right = fig.subplots(1, 2)
    methods = method_order(curve) if len(curve) else []
    for i, method in enumerate(methods):
        color = PALETTE[i % len(PALETTE)]
        part = curve[(curve["method"] == method) & (curve["re_distance"] > 0)]
        label, fit = _fit_label(method, fits)
        left.plot(part["step"], part["re_distance"], "o-", ms=3, color=color, label=label)
        if fit is not None:
            steps = np.linspace(max(float(part["step"].min()), 1.0), float(part["step"].max()), 50)
            left.plot(steps, _fit_line(fit, steps), "--", color=color, lw=1)
    if methods:
        left.set(yscale="log", xlabel="unlearning step", ylabel="mean RE distance between paths",
                 title="divergence between paths (dashed: fitted exponential)")  # fmt: skip
        left.legend(fontsize=8)
        left.grid(alpha=0.3, which="both")
    else:
        _empty_axes(left, "no pair of paths shares its stages")
    _draw_references(right, references)
    return fig


def _draw_references(ax: Axes, references: pd.DataFrame) -> None:
    data = references.dropna(subset=["before", "after"], how="all")
    if data.empty:
        _empty_axes(ax, "no RE distance to the retrain references")
        return
    paths = path_order(data)
    methods = method_order(data)
    width = 0.8 / (len(methods) + 1)
    x = np.arange(len(paths))
    before = data.groupby("path")["before"].mean().reindex(paths)
    ax.bar(x - 0.4 + width / 2, before, width, color="lightgrey", edgecolor="k", label="before")
    for i, method in enumerate(methods):
        after = data[data["method"] == method].set_index("path")["after"].reindex(paths)
        ax.bar(x - 0.4 + width * (i + 1.5), after, width, color=PALETTE[i % len(PALETTE)],
               label=f"after {method}")  # fmt: skip
    ax.set_xticks(x, paths)
    if (data[["before", "after"]].to_numpy(dtype=float) > 0).any():
        ax.set_yscale("log")
    ax.set(xlabel="path", ylabel="RE distance to retrain reference",
           title="distance to each path's retrain reference")  # fmt: skip
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, axis="y")


# --- plotly (kedro-viz previews) ---------------------------------------------


def _plotly_bands(
    fig: go.Figure,
    bands: pd.DataFrame,
    colors: dict[str, str],
    *,
    cell: tuple[int, int],
    legend: bool,
) -> None:
    row, col = cell
    for path in path_order(bands):
        curve = bands[bands["path"] == path].sort_values("step")
        band = curve[np.isfinite(curve["lower"]) & np.isfinite(curve["upper"])]
        if len(band):
            xs = [*band["step"], *band["step"][::-1]]
            ys = [*band["upper"], *band["lower"][::-1]]
            fig.add_trace(go.Scatter(x=xs, y=ys, fill="toself", fillcolor=_rgba(colors[path], 0.2),
                                     line={"width": 0}, hoverinfo="skip", showlegend=False,
                                     legendgroup=path), row=row, col=col)  # fmt: skip
        position = int(curve["position"].iloc[0])
        fig.add_trace(go.Scatter(x=curve["step"], y=curve["mean"], mode="lines",
                                 name=f"{path} (p={position})", legendgroup=path,
                                 line={"color": colors[path]}, showlegend=legend),
                      row=row, col=col)  # fmt: skip


def plotly_curves(
    bands: pd.DataFrame, column: str = sc.FORGET_LABEL_TOK, level: float = 0.95
) -> go.Figure:
    """Plotly version of :func:`plot_curves`."""
    methods = method_order(bands) or ["(none)"]
    colors = path_colors(path_order(bands))
    fig = make_subplots(rows=1, cols=len(methods), subplot_titles=methods)
    for i, method in enumerate(methods, start=1):
        part = bands[bands["method"] == method]
        if len(part):
            _plotly_bands(fig, part, colors, cell=(1, i), legend=i == 1)
        fig.update_xaxes(title_text="unlearning step", row=1, col=i)
    fig.update_yaxes(title_text=LL_LABELS.get(column, column), row=1, col=1)
    fig.update_layout(title=f"{LL_LABELS.get(column, column)} ({_band_note(bands, level)})",
                      legend_title_text="path")  # fmt: skip
    return fig


def plotly_forget_and_facts(
    forget_bands: pd.DataFrame, facts_bands: pd.DataFrame, level: float = 0.95
) -> go.Figure:
    """Plotly version of :func:`plot_forget_and_facts`."""
    methods = method_order(forget_bands) or ["(none)"]
    colors = path_colors(path_order(forget_bands))
    titles = [f"{m}: {what}" for m in methods for what in ("forget label", "retained facts")]
    fig = make_subplots(rows=len(methods), cols=2, subplot_titles=titles)
    for i, method in enumerate(methods, start=1):
        for col, bands in ((1, forget_bands), (2, facts_bands)):
            part = bands[bands["method"] == method]
            if len(part):
                _plotly_bands(fig, part, colors, cell=(i, col), legend=i == 1 and col == 1)
    fig.update_xaxes(title_text="unlearning step")
    fig.update_layout(title=f"forgetting and retained facts ({_band_note(forget_bands, level)})",
                      legend_title_text="path", height=320 * len(methods))  # fmt: skip
    return fig


def plotly_divergence(
    curve: pd.DataFrame, fits: pd.DataFrame, references: pd.DataFrame
) -> go.Figure:
    """Plotly version of :func:`plot_divergence`."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=(
        "divergence between paths (dashed: fitted exponential)",
        "distance to each path's retrain reference",
    ))  # fmt: skip
    methods = method_order(curve) if len(curve) else []
    for i, method in enumerate(methods):
        color = PALETTE[i % len(PALETTE)]
        part = curve[(curve["method"] == method) & (curve["re_distance"] > 0)]
        label, fit = _fit_label(method, fits)
        fig.add_trace(go.Scatter(x=part["step"], y=part["re_distance"], mode="lines+markers",
                                 name=label, line={"color": color}), row=1, col=1)  # fmt: skip
        if fit is not None:
            steps = np.linspace(max(float(part["step"].min()), 1.0), float(part["step"].max()), 50)
            fig.add_trace(go.Scatter(x=steps, y=_fit_line(fit, steps), mode="lines",
                                     line={"color": color, "dash": "dash"}, showlegend=False),
                          row=1, col=1)  # fmt: skip
    fig.update_yaxes(type="log", title_text="mean RE distance between paths", row=1, col=1)
    data = references.dropna(subset=["before", "after"], how="all")
    if len(data):
        paths = path_order(data)
        before = data.groupby("path")["before"].mean().reindex(paths)
        fig.add_trace(go.Bar(x=paths, y=before, name="before", marker_color="lightgrey"),
                      row=1, col=2)  # fmt: skip
        for i, method in enumerate(method_order(data)):
            after = data[data["method"] == method].set_index("path")["after"].reindex(paths)
            fig.add_trace(go.Bar(x=paths, y=after, name=f"after {method}",
                                 marker_color=PALETTE[i % len(PALETTE)]), row=1, col=2)  # fmt: skip
        fig.update_yaxes(type="log", title_text="RE distance to retrain reference", row=1, col=2)
    fig.update_xaxes(title_text="unlearning step", row=1, col=1)
    fig.update_xaxes(title_text="path", row=1, col=2)
    fig.update_layout(barmode="group", title="path divergence")
    return fig


def plot_metric_by_path(scores: pd.DataFrame, metric: str) -> Figure:
    """One ``evaluation_scores``-shaped metric by path: a panel per method, a dot per replicate.

    Paths are ordered by the forget stage's position; the bar is the mean over
    replicates, so a path effect shows as bars that differ by more than the dots
    of one path scatter (e.g. ``forget_quality_after`` of ``benchmark_scores``).
    """
    kept = scores[scores[sc.METRIC] == metric]
    methods = method_order(kept)
    n = max(len(methods), 1)
    fig = Figure(figsize=(4.2 * n, 3.6), layout="constrained")
    axes = fig.subplots(1, n, squeeze=False)[0]
    if not methods:
        _empty_axes(axes[0], f"no {metric} scores")
        return fig
    paths = path_order(kept)
    colors = path_colors(paths)
    for ax, method in zip(axes, methods):
        part = kept[kept[sc.METHOD] == method]
        for x, path in enumerate(paths):
            values = part.loc[part[sc.PATH] == path, sc.VALUE].to_numpy(float)
            ax.bar(x, np.nanmean(values) if len(values) else np.nan, color=colors[path], alpha=0.35)
            ax.scatter(np.full(len(values), x), values, color=colors[path], s=14, zorder=3)
        ax.set_xticks(range(len(paths)), paths)
        ax.set(title=method, xlabel="path (by forget-stage position)", ylabel=metric)
        ax.grid(alpha=0.3, axis="y")
    fig.suptitle(f"{metric} by path: bars the mean over replicates, dots the replicates",
                 fontsize=10)  # fmt: skip
    return fig
