"""Nodes of report: thin wrappers over ``path_unlearning.report``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from matplotlib.figure import Figure

from path_unlearning.report import figures, tables
from path_unlearning.report.document import (
    ReportContent,
    ReportFigure,
    input_versions,
    render_html,
    render_markdown,
    select_parameters,
)
from path_unlearning.report.verdicts import VerdictSettings, compute_verdicts

FIGURE_CAPTIONS = {
    "figure1": "Figure 1: forget-label log-likelihood during unlearning",
    "figure3": "Figure 3: forget label and retained facts",
    "divergence": "Divergence between paths and distance to the retrain references",
}


def _level(params: dict[str, Any]) -> float:
    return float(params.get("confidence_level", 0.95))


def gather_inputs(
    lineage: dict[str, Any] | None,
    evaluation_scores: pd.DataFrame,
    path_divergence: pd.DataFrame,
    divergence_fits: pd.DataFrame,
    *trajectories: pd.DataFrame,
    input_names: Sequence[str],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Concatenate the trajectories and list the versions of every input table.

    Args:
        lineage: Filled by ``LineageHook`` (``{}`` when it is not registered).
        evaluation_scores: Read for its version and row count.
        path_divergence: Read for its version and row count.
        divergence_fits: Read for its version and row count.
        *trajectories: The ``{path}.{method}.trajectory`` tables.
        input_names: Dataset names of the tables above, in the same order.

    Returns:
        The concatenated trajectories and the input-versions table.
    """
    frames = [evaluation_scores, path_divergence, divergence_fits, *trajectories]
    rows = {name: len(frame) for name, frame in zip(input_names, frames, strict=True)}
    return tables.concat_trajectories(trajectories), input_versions(input_names, lineage, rows)


def make_table1(
    evaluation_scores: pd.DataFrame, params: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Table 1: numeric (tidy, for parquet) and for reading (one column per method)."""
    metrics = params.get("table1_metrics") or tables.TABLE1_METRICS
    summary = tables.summarise_scores(evaluation_scores, metrics)
    return summary, tables.table1_display(summary, int(params.get("digits", 3)))


def _bands(trajectories: pd.DataFrame, column: str, params: dict[str, Any]) -> pd.DataFrame:
    return tables.trajectory_bands(trajectories, column, _level(params), params.get("band", "t"))


def plot_forget_curves(
    trajectories: pd.DataFrame, params: dict[str, Any]
) -> tuple[Figure, go.Figure, bytes]:
    """Figure 1 analogue as PNG figure, Plotly figure and embeddable PNG bytes."""
    bands = _bands(trajectories, "forget_label_ll", params)
    fig = figures.plot_curves(bands, "forget_label_ll", _level(params))
    png = figures.figure_png(fig, int(params.get("dpi", 120)))
    return fig, figures.plotly_curves(bands, "forget_label_ll", _level(params)), png


def plot_forget_and_facts(
    trajectories: pd.DataFrame, params: dict[str, Any]
) -> tuple[Figure, go.Figure, bytes]:
    """Figure 3 analogue as PNG figure, Plotly figure and embeddable PNG bytes."""
    forget = _bands(trajectories, "forget_label_ll", params)
    facts = _bands(trajectories, "facts_ll", params)
    fig = figures.plot_forget_and_facts(forget, facts, _level(params))
    png = figures.figure_png(fig, int(params.get("dpi", 120)))
    return fig, figures.plotly_forget_and_facts(forget, facts, _level(params)), png


def plot_divergence(
    path_divergence: pd.DataFrame,
    divergence_fits: pd.DataFrame,
    evaluation_scores: pd.DataFrame,
    params: dict[str, Any],
) -> tuple[Figure, go.Figure, bytes]:
    """Divergence figure as PNG figure, Plotly figure and embeddable PNG bytes."""
    curve = tables.divergence_curve(path_divergence)
    references = tables.reference_distances(evaluation_scores)
    fig = figures.plot_divergence(curve, divergence_fits, references)
    png = figures.figure_png(fig, int(params.get("dpi", 120)))
    return fig, figures.plotly_divergence(curve, divergence_fits, references), png


def verdict_settings(params: dict[str, Any]) -> VerdictSettings:
    """``VerdictSettings`` from the ``report`` parameters (defaults for absent keys)."""
    defaults = VerdictSettings()
    return VerdictSettings(
        forget_score_source=params.get("forget_score_source", defaults.forget_score_source),
        speed_fraction=float(params.get("speed_fraction", defaults.speed_fraction)),
        path_dependence_ratio=float(
            params.get("path_dependence_ratio", defaults.path_dependence_ratio)
        ),
        min_r2=float(params.get("min_r2", defaults.min_r2)),
        metrics=tuple(params.get("table1_metrics") or defaults.metrics),
        digits=int(params.get("digits", defaults.digits)),
    )


def make_verdicts(
    trajectories: pd.DataFrame,
    evaluation_scores: pd.DataFrame,
    divergence_fits: pd.DataFrame,
    params: dict[str, Any],
) -> tuple[pd.DataFrame, ...]:
    """Verdicts and their detail tables.

    Returns:
        Summary, recency cells, unlearning speed, path dependence, starting points.
    """
    v = compute_verdicts(trajectories, evaluation_scores, divergence_fits, verdict_settings(params))
    return v.summary, v.recency, v.speed, v.path_dependence, v.starting_points


def write_report(
    *,
    table1: pd.DataFrame,
    verdicts: pd.DataFrame,
    recency: pd.DataFrame,
    speed: pd.DataFrame,
    dependence: pd.DataFrame,
    starts: pd.DataFrame,
    versions: pd.DataFrame,
    figure1: bytes,
    figure3: bytes,
    divergence: bytes,
    parameters: dict[str, Any],
    params: dict[str, Any],
) -> tuple[str, str]:
    """The report as HTML and Markdown, with the run's parameters and input versions."""
    sections = params.get("parameter_sections") or list(parameters)
    run_ids = [r for r in versions.get("run_id", pd.Series(dtype=object)).dropna() if r]
    content = ReportContent(
        title=params.get("title", "Path-dependent unlearning report"),
        verdicts=verdicts,
        table1=table1,
        figures=[
            ReportFigure("figure1", FIGURE_CAPTIONS["figure1"], figure1),
            ReportFigure("figure3", FIGURE_CAPTIONS["figure3"], figure3),
            ReportFigure("divergence", FIGURE_CAPTIONS["divergence"], divergence),
        ],
        details={
            "Starting log-likelihoods per path": starts,
            "Recency effect per method x seed": recency,
            "Unlearning speed": speed,
            "Path dependence: spread across paths vs across seeds": dependence,
        },
        input_versions=versions,
        parameters=select_parameters(parameters, sections),
        run_id=run_ids[0] if run_ids else None,
    )
    return render_html(content), render_markdown(content)
