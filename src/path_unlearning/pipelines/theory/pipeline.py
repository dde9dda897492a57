"""theory: the paper's Section 3 simulation with Theorem 3.1 checked."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kedro.pipeline import Node, Pipeline

from path_unlearning.pipelines.theory.nodes import (
    plot_theory_divergence,
    simulate_theory,
    summarise_theory,
    to_reporting,
)

if TYPE_CHECKING:  # the plan is only a type here; theory does not use it
    from path_unlearning.plan import ExperimentPlan


def create_pipeline(plan: ExperimentPlan | None = None, **kwargs) -> Pipeline:
    """Build the ``theory`` pipeline; it reads only ``params:theory``.

    Args:
        plan: The experiment plan of the LLM pipelines; ignored (theory has its own
            stages ``A``, ``B``, ``U``).
        **kwargs: Ignored.

    Returns:
        simulate -> (trajectories, instances) -> summary, CSV copies and the figure.
    """
    return Pipeline(
        [
            Node(
                simulate_theory,
                "params:theory",
                ["theory_trajectories", "theory_instances"],
                name="simulate_theory",
            ),
            Node(
                summarise_theory,
                "theory_instances",
                "theory_summary",
                name="summarise_theory",
            ),
            Node(
                to_reporting,
                "theory_instances",
                "theory_instances_csv",
                name="report_theory_instances",
            ),
            Node(
                to_reporting,
                "theory_summary",
                "theory_summary_csv",
                name="report_theory_summary",
            ),
            Node(
                plot_theory_divergence,
                ["theory_trajectories", "theory_instances"],
                "theory_divergence_plot",
                name="plot_theory_divergence",
            ),
        ],
        tags="theory",
    )
