"""compare: ``kedro run --pipelines=compare --params=runs:<id1>+<id2>``.

Reads two runs' Table 1 and verdicts at their own versions (the run id is the
version) through ``run_archive`` and writes them side by side, with the
parameters that differ. Registered, but not part of ``__default__``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kedro.pipeline import Node, Pipeline

from path_unlearning.pipelines.compare.nodes import compare_runs

if TYPE_CHECKING:  # the plan is only a type here; compare reads earlier runs
    from path_unlearning.plan import ExperimentPlan


def create_pipeline(plan: ExperimentPlan | None = None, **kwargs) -> Pipeline:
    """Build the ``compare`` pipeline (one node).

    Args:
        plan: Ignored: the runs compared may have had other plans.
        **kwargs: Ignored.

    Returns:
        The pipeline, tagged ``compare``.
    """
    return Pipeline(
        [
            Node(
                compare_runs,
                ["run_archive", "params:runs", "params:compare"],
                ["compare_runs", "compare_table1", "compare_verdicts", "compare_parameters"],
                name="compare_runs",
            )
        ],
        tags="compare",
    )
