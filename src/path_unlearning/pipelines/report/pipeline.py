"""report: Table 1, Figures 1 and 3, the divergence figure, verdicts and the report.

The first node reads every ``{path}.{method}.trajectory`` of the plan (one input
per path x method) together with the evaluate tables, so the lineage hook can
record the version of each input in one place.
"""

from __future__ import annotations

from functools import partial, update_wrapper

from kedro.pipeline import Node, Pipeline

from path_unlearning.hooks import LINEAGE_INPUT
from path_unlearning.pipelines import dotted_names_allowed, experiment_plan
from path_unlearning.pipelines.report import nodes

TABLES = ("evaluation_scores", "path_divergence", "divergence_fits")
FIGURE_OUTPUTS = {
    "figure1": ("report_figure1", "report_figure1_plotly", "report_figure1_png"),
    "figure3": ("report_figure3", "report_figure3_plotly", "report_figure3_png"),
    "divergence": ("report_divergence", "report_divergence_plotly", "report_divergence_png"),
}


def trajectory_names(paths: list[str] | tuple[str, ...], methods: tuple[str, ...]) -> list[str]:
    """Catalog names of the trajectories the report reads, method by method."""
    return [f"{path}.{method}.trajectory" for method in methods for path in paths]


def create_pipeline(**kwargs) -> Pipeline:
    """Build the report pipeline for the plan's paths and methods.

    Args:
        **kwargs: ``plan`` (an ``ExperimentPlan``) overrides the current plan.

    Returns:
        The pipeline, tagged ``report``.
    """
    plan = kwargs.get("plan") or experiment_plan()
    trajectories = trajectory_names(plan.paths, plan.methods)
    inputs = [*TABLES, *trajectories]
    gather = update_wrapper(partial(nodes.gather_inputs, input_names=inputs), nodes.gather_inputs)
    fig1, fig3, div = (FIGURE_OUTPUTS[k] for k in ("figure1", "figure3", "divergence"))
    with dotted_names_allowed():
        gather_node = Node(gather, [LINEAGE_INPUT, *inputs],
                           ["report_trajectories", "report_input_versions"],
                           name="gather_report_inputs")  # fmt: skip
    return Pipeline(
        [
            gather_node,
            Node(nodes.make_table1, ["evaluation_scores", "params:report"],
                 ["report_table1", "report_table1_csv"], name="make_table1"),
            Node(nodes.plot_forget_curves, ["report_trajectories", "params:report"], list(fig1),
                 name="plot_forget_curves"),
            Node(nodes.plot_forget_and_facts, ["report_trajectories", "params:report"], list(fig3),
                 name="plot_forget_and_facts"),
            Node(nodes.plot_divergence,
                 ["path_divergence", "divergence_fits", "evaluation_scores", "params:report"],
                 list(div), name="plot_divergence"),
            Node(nodes.make_verdicts,
                 ["report_trajectories", "evaluation_scores", "divergence_fits", "params:report"],
                 ["report_verdicts", "report_recency_cells", "report_unlearning_speed",
                  "report_path_dependence", "report_starting_points"],
                 name="make_verdicts"),
            Node(nodes.write_report,
                 {"table1": "report_table1_csv", "verdicts": "report_verdicts",
                  "recency": "report_recency_cells", "speed": "report_unlearning_speed",
                  "dependence": "report_path_dependence", "starts": "report_starting_points",
                  "versions": "report_input_versions", "figure1": fig1[2], "figure3": fig3[2],
                  "divergence": div[2], "parameters": "parameters", "params": "params:report"},
                 ["report_html", "report_markdown"], name="write_report"),
        ],
        tags="report",
    )  # fmt: skip
