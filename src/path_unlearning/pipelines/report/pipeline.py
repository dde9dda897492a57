"""report: Table 1, Figures 1 and 3, the divergence figure, verdicts and the report.

The first node reads every trajectory of the plan (one per seed x path x method)
together with the evaluate tables, so the lineage hook records the version of
each input in one place. Its inputs are a dict keyed by dataset name, which the
node function receives as keyword arguments.
"""

from __future__ import annotations

import warnings

from kedro.pipeline import Node, Pipeline

from path_unlearning.pipelines.report import nodes
from path_unlearning.plan import ExperimentPlan
from path_unlearning.run_index import LINEAGE_INPUT

LINEAGE_ARG = "lineage"
FIGURE_OUTPUTS = {
    "figure1": ("report_figure1", "report_figure1_plotly", "report_figure1_png"),
    "figure3": ("report_figure3", "report_figure3_plotly", "report_figure3_png"),
    "divergence": ("report_divergence", "report_divergence_plotly", "report_divergence_png"),
}
VERDICT_OUTPUTS = [
    "report_verdicts",
    "report_recency_cells",
    "report_recency",
    "report_position_effect",
    "report_path_dependence",
    "report_starting_control",
    "report_starting_points",
]

# "Benchmark metrics by path": its table, verdicts and two-way tests (make_verdicts).
BENCHMARK_OUTPUTS = ["report_benchmark", "report_benchmark_verdicts", "report_benchmark_dependence"]


def trajectory_names(plan: ExperimentPlan) -> list[str]:
    """Catalog names of the trajectories the report reads: ``s0.BCA.npo.trajectory``."""
    return [
        f"{plan.namespace(seed, path)}.{method}.trajectory"
        for seed in plan.seeds
        for method in plan.methods
        for path in plan.paths
    ]


def _gather(plan: ExperimentPlan) -> Node:
    names = [*nodes.RESULT_TABLES, *trajectory_names(plan)]
    with warnings.catch_warnings():
        # Namespaced names (s0.BCA.npo.trajectory) are dotted on purpose.
        warnings.filterwarnings("ignore", message="One or more dataset names contain")
        return Node(
            nodes.gather_inputs,
            {LINEAGE_ARG: LINEAGE_INPUT, **{name: name for name in names}},
            ["report_trajectories", "report_input_versions"],
            name="gather_report_inputs",
        )


def create_pipeline(plan: ExperimentPlan, **kwargs) -> Pipeline:
    """Build the report pipeline for the plan's seeds, paths and methods.

    Args:
        plan: The experiment plan.
        **kwargs: Ignored (the registry's common signature).

    Returns:
        The pipeline, tagged ``report``.
    """
    fig1, fig3, div = (FIGURE_OUTPUTS[k] for k in ("figure1", "figure3", "divergence"))
    return Pipeline(
        [
            _gather(plan),
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
                 ["report_trajectories", "evaluation_scores", "divergence_fits",
                  "benchmark_scores", "relearning_curves", "params:report"],
                 [*VERDICT_OUTPUTS, *BENCHMARK_OUTPUTS], name="make_verdicts"),
            Node(nodes.check_regime, ["evaluation_scores", "tokenizer", "params:report"],
                 "report_regime", name="check_regime"),
            Node(nodes.make_setting_tables,
                 ["evaluation_scores", "divergence_fits", "report_recency", "params:report"],
                 ["report_method_contrast", "report_settings"], name="make_setting_tables"),
            Node(nodes.write_report,
                 {"table1": "report_table1_csv", "table1_numeric": "report_table1",
                  "verdicts": "report_verdicts", "recency": "report_recency_cells",
                  "position": "report_position_effect", "dependence": "report_path_dependence",
                  "control": "report_starting_control", "starts": "report_starting_points",
                  "versions": "report_input_versions", "figure1": fig1[2], "figure3": fig3[2],
                  "divergence": div[2], "parameters": "parameters", "params": "params:report",
                  "contrast": "report_method_contrast", "settings": "report_settings",
                  "regime": "report_regime", "recency_tests": "report_recency",
                  "benchmark": "report_benchmark", "benchmark_verdicts": "report_benchmark_verdicts",
                  "benchmark_dependence": "report_benchmark_dependence"},
                 ["report_html", "report_markdown"], name="write_report"),
        ],
        tags="report",
    )  # fmt: skip
