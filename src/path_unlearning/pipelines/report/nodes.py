"""Nodes of report: thin wrappers over ``path_unlearning.report``."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go
from matplotlib.figure import Figure
from transformers import PreTrainedTokenizerBase

from path_unlearning import schemas as sc
from path_unlearning.metrics import registry
from path_unlearning.parameters import plain
from path_unlearning.report import figures, tables
from path_unlearning.report import statistics as st
from path_unlearning.report.benchmark import (
    BenchmarkVerdictSettings,
    benchmark_table,
    benchmark_verdicts,
)
from path_unlearning.report.document import (
    ReportContent,
    ReportFigure,
    ReportSection,
    input_versions,
    render_html,
    render_markdown,
    select_parameters,
)
from path_unlearning.report.regime import regime_targets
from path_unlearning.report.verdicts import VerdictSettings, compute_verdicts
from path_unlearning.run_index import add_producing_runs

# Tables other than trajectories that gather_inputs records the versions of.
RESULT_TABLES = (
    "evaluation_scores",
    "path_divergence",
    "divergence_fits",
    "benchmark_scores",
    "relearning_curves",
)

FIGURE_CAPTIONS = {
    "figure1": "Figure 1: forget-label log-likelihood during unlearning",
    "figure3": "Figure 3: forget label and retained facts",
    "divergence": "Divergence between paths and distance to the retrain references",
}


def _level(params: dict[str, Any]) -> float:
    return float(params.get("confidence_level", 0.95))


def gather_inputs(
    lineage: dict[str, Any] | None, **inputs: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Concatenate the trajectories and list the versions of every input table.

    The node's inputs are a dict whose keys are the dataset names, so each table
    arrives under its own name (no name list to keep in step with the inputs).

    Args:
        lineage: ``{"run_id", "datasets": {name: {"version", "type", "filepath"}}}``
            from the lineage hook (``{}`` without it).
        **inputs: The tables of ``RESULT_TABLES`` and every trajectory, keyed by
            dataset name.

    Returns:
        The concatenated trajectories and the input-versions table.
    """
    trajectories = [t for name, t in inputs.items() if name not in RESULT_TABLES]
    rows = {name: len(frame) for name, frame in inputs.items()}
    versions = add_producing_runs(input_versions(list(inputs), lineage, rows), lineage)
    return tables.concat_trajectories(trajectories), versions


def make_table1(
    evaluation_scores: pd.DataFrame, params: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Table 1: numeric (tidy, every metric) and shaped like the paper's (blocks).

    Its metrics and blocks are those of ``metrics/registry.py`` (``table1``,
    ``block``), in registry order.
    """
    metrics = registry.table1_metrics()
    blocks = registry.table1_blocks()
    summary = tables.summarise_scores(evaluation_scores, [*blocks, *metrics])
    return summary, tables.table1_blocks(summary, blocks, int(params.get("digits", 3)))


def _bands(trajectories: pd.DataFrame, column: str, params: dict[str, Any]) -> pd.DataFrame:
    return tables.trajectory_bands(trajectories, column, _level(params), params.get("band", "t"))


def plot_forget_curves(
    trajectories: pd.DataFrame, params: dict[str, Any]
) -> tuple[Figure, go.Figure, bytes]:
    """Figure 1 analogue as PNG figure, Plotly figure and embeddable PNG bytes."""
    bands = _bands(trajectories, sc.FORGET_LABEL_TOK, params)
    fig = figures.plot_curves(bands, sc.FORGET_LABEL_TOK, _level(params))
    png = figures.figure_png(fig, int(params.get("dpi", 120)))
    return fig, figures.plotly_curves(bands, sc.FORGET_LABEL_TOK, _level(params)), png


def plot_forget_and_facts(
    trajectories: pd.DataFrame, params: dict[str, Any]
) -> tuple[Figure, go.Figure, bytes]:
    """Figure 3 analogue as PNG figure, Plotly figure and embeddable PNG bytes."""
    forget = _bands(trajectories, sc.FORGET_LABEL_TOK, params)
    facts = _bands(trajectories, sc.FACTS_TOK, params)
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


def make_verdicts(
    trajectories: pd.DataFrame,
    evaluation_scores: pd.DataFrame,
    divergence_fits: pd.DataFrame,
    benchmark_scores: pd.DataFrame,
    relearning_curves: pd.DataFrame,
    params: dict[str, Any],
) -> tuple[pd.DataFrame, ...]:
    """Every verdict of the report and their detail tables.

    The trajectories come from ``gather_report_inputs``, which reads every input
    of the report first: a bad input fails the report before any file is saved.

    Returns:
        Summary, recency cells, recency tests, position effect, path dependence, starting-point
        control, starting points; then "Benchmark metrics by path": its table (rows by
        metric, position and path, ``mean ± std`` per method), its verdict rows and the
        path-dependence tests of its tested metrics.
    """
    settings = dict(params.get("verdicts") or {})
    settings.setdefault("metrics", registry.table1_metrics())
    settings.setdefault("digits", params.get("digits", 3))
    v = compute_verdicts(
        trajectories,
        evaluation_scores,
        divergence_fits,
        VerdictSettings.from_parameters(settings),
    )
    starts = tables.starting_points(trajectories, evaluation_scores)
    return (
        v.summary,
        v.recency,
        v.recency_tests,
        v.position_effect,
        v.path_dependence,
        v.starting_control,
        starts,
        *_benchmark_section(benchmark_scores, relearning_curves, params),
    )


def check_regime(
    evaluation_scores: pd.DataFrame,
    tokenizer: PreTrainedTokenizerBase,
    params: dict[str, Any],
) -> pd.DataFrame:
    """The paper's regime targets (``report.regime``) against the run's worst cells."""
    return regime_targets(evaluation_scores, len(tokenizer), params["regime"])


def make_setting_tables(
    evaluation_scores: pd.DataFrame,
    divergence_fits: pd.DataFrame,
    recency: pd.DataFrame,
    params: dict[str, Any],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """GA vs GradDiff spread across paths, and recency/divergence per method (setting).

    With ``--env=ablation`` every method is an unlearning variant (a learning rate
    or a schedule), so the second table has one row per setting.
    """
    return (
        st.method_contrast(evaluation_scores),
        st.setting_verdicts(recency, divergence_fits),
    )


def _benchmark_section(
    benchmark_scores: pd.DataFrame, relearning_curves: pd.DataFrame, params: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    settings = BenchmarkVerdictSettings.from_parameters(
        params.get("benchmark"), params.get("verdicts"), int(params.get("digits", 3))
    )
    verdicts, dependence = benchmark_verdicts(benchmark_scores, relearning_curves, settings)
    return benchmark_table(benchmark_scores, settings), verdicts, dependence


BENCHMARK_NOTE = (
    "TOFU and open-unlearning metrics of every unlearned model against its path's own "
    "retrain reference (the path without the forget stage, from the trie), and the "
    "relearning speed; mean ± std over replicates (docs/metrics.md). The verdicts use the "
    "tests of the headline ones: the paths x replicates two-way test per method, and for "
    "relearning the strict recency and position tests with path labels permuted jointly "
    "within each replicate."
)


def write_report(
    *,
    table1: pd.DataFrame,
    table1_numeric: pd.DataFrame,
    verdicts: pd.DataFrame,
    recency: pd.DataFrame,
    position: pd.DataFrame,
    dependence: pd.DataFrame,
    control: pd.DataFrame,
    starts: pd.DataFrame,
    versions: pd.DataFrame,
    figure1: bytes,
    figure3: bytes,
    divergence: bytes,
    parameters: dict[str, Any],
    params: dict[str, Any],
    contrast: pd.DataFrame | None = None,
    settings: pd.DataFrame | None = None,
    regime: pd.DataFrame | None = None,
    recency_tests: pd.DataFrame | None = None,
    benchmark: pd.DataFrame | None = None,
    benchmark_verdicts: pd.DataFrame | None = None,
    benchmark_dependence: pd.DataFrame | None = None,
) -> tuple[str, str]:
    """The report as HTML and Markdown, with the run's parameters and input versions."""
    parameters = plain(parameters)  # Kedro hands typed sections over as validated models
    sections = params.get("parameter_sections") or list(parameters)
    digits = int(params.get("digits", 3))
    n_seeds = int(table1_numeric["n_seeds"].max()) if len(table1_numeric) else 0
    run_ids = [r for r in versions.get("run_id", pd.Series(dtype=object)).dropna() if r]
    content = ReportContent(
        title=params.get("title", "Path-dependent unlearning report"),
        verdicts=verdicts,
        table1=table1,
        table1_note=(
            f"Mean ± std over {n_seeds} seed{'s' if n_seeds != 1 else ''}"
            + (" (one seed: no std)." if n_seeds == 1 else ".")
            + " Per-metric details below."
        ),
        figures=[
            ReportFigure("figure1", FIGURE_CAPTIONS["figure1"], figure1),
            ReportFigure("figure3", FIGURE_CAPTIONS["figure3"], figure3),
            ReportFigure("divergence", FIGURE_CAPTIONS["divergence"], divergence),
        ],
        details={
            **(
                {"Unlearning regime: the paper's targets against the worst cell": regime}
                if regime is not None
                else {}
            ),
            "Starting points: before unlearning, per path": starts,
            "Table 1, every metric": tables.table1_display(table1_numeric, digits),
            **(
                {"Recency: joint permutation tests per measure (replicates counted)": recency_tests}
                if recency_tests is not None
                else {}
            ),
            "Recency: strict test per measure x method x replicate": recency,
            "Position effect: permutation test": position,
            "Path dependence: paths x replicates two-way ANOVA": dependence,
            "Starting-point control: forget ~ position + start": control,
            **(
                {"Benchmark metrics: paths x replicates two-way tests": benchmark_dependence}
                if benchmark_dependence is not None
                else {}
            ),
            **(
                {"GA vs GradDiff: spread across paths and across seeds": contrast}
                if contrast is not None and len(contrast)
                else {}
            ),
            **(
                {"Recency and divergence per setting (method or variant)": settings}
                if settings is not None and len(settings)
                else {}
            ),
        },
        sections=[
            ReportSection(
                "Benchmark metrics by path", BENCHMARK_NOTE, benchmark_verdicts, benchmark
            )
        ]
        if benchmark is not None and benchmark_verdicts is not None
        else [],
        input_versions=versions,
        parameters=select_parameters(parameters, sections),
        run_id=run_ids[0] if run_ids else None,
    )
    return render_html(content), render_markdown(content)
