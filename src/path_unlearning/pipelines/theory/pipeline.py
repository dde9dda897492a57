"""theory: the paper's Section 3 simulation with Theorem 3.1 checked."""

from kedro.pipeline import Node, Pipeline

from path_unlearning.pipelines.theory.nodes import (
    plot_divergence,
    simulate_theory,
    to_reporting,
)


def create_pipeline(**kwargs) -> Pipeline:
    """Build the ``theory`` pipeline.

    Returns:
        simulate -> (trajectories, summary) -> CSV copies and the divergence figure.
    """
    return Pipeline(
        [
            Node(
                simulate_theory,
                "params:theory",
                ["theory_trajectories", "theory_summary"],
                name="simulate_theory",
            ),
            Node(
                to_reporting,
                "theory_trajectories",
                "theory_trajectories_csv",
                name="report_theory_trajectories",
            ),
            Node(
                to_reporting,
                "theory_summary",
                "theory_summary_csv",
                name="report_theory_summary",
            ),
            Node(
                plot_divergence,
                ["theory_trajectories", "theory_summary"],
                "theory_divergence_plot",
                name="plot_theory_divergence",
            ),
        ],
        tags="theory",
    )
