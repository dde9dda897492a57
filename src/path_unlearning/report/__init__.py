"""Report core: Table 1, figures, verdicts and the report document (no Kedro imports)."""

from path_unlearning.report.document import (
    ReportContent,
    ReportFigure,
    render_html,
    render_markdown,
)
from path_unlearning.report.tables import (
    concat_trajectories,
    starting_points,
    summarise_scores,
    table1_blocks,
    table1_display,
    trajectory_bands,
)
from path_unlearning.report.verdicts import Verdicts, VerdictSettings, compute_verdicts

__all__ = [
    "ReportContent",
    "ReportFigure",
    "VerdictSettings",
    "Verdicts",
    "compute_verdicts",
    "concat_trajectories",
    "render_html",
    "render_markdown",
    "starting_points",
    "summarise_scores",
    "table1_blocks",
    "table1_display",
    "trajectory_bands",
]
