"""Project pipelines: the experiment plan is built here and passed to every pipeline."""

from __future__ import annotations

from kedro.pipeline import Pipeline

from path_unlearning.kedro_adapter import run_parameters
from path_unlearning.pipelines import (
    benchmark_metrics,
    compare,
    data_prep,
    depth,
    evaluate,
    report,
    staged_finetune,
    theory,
    unlearn,
)
from path_unlearning.plan import ExperimentPlan

# Registered names equal the folder names (Kedro's selective loading relies on it).
MODULES = {
    "data_prep": data_prep,
    "staged_finetune": staged_finetune,
    "unlearn": unlearn,
    "evaluate": evaluate,
    "benchmark_metrics": benchmark_metrics,
    "report": report,
    "theory": theory,
    "depth": depth,
    "compare": compare,
}
# Run only when asked for (`kedro run --pipelines=depth`): a separate experiment.
# `kedro run --pipelines=compare --params=runs:<id1>+<id2>` compares two earlier runs.
NOT_IN_DEFAULT = ("depth", "compare")


def create_pipelines(plan: ExperimentPlan) -> dict[str, Pipeline]:
    """Every pipeline of the project for one experiment plan, and ``__default__``."""
    built = {name: module.create_pipeline(plan=plan) for name, module in MODULES.items()}
    built["__default__"] = sum(
        (p for name, p in built.items() if name not in NOT_IN_DEFAULT), Pipeline([])
    )
    return built


def register_pipelines() -> dict[str, Pipeline]:
    """Register the project's pipelines for the active run's configuration.

    The plan (paths, their trie, methods, seeds) comes from the run's parameters,
    ``--env`` and ``--params`` included (see ``kedro_adapter``), so
    ``--params=path:BCA`` builds exactly the prefixes B, BC, BCA and BA.

    Returns:
        A mapping from pipeline names to ``Pipeline`` objects.
    """
    return create_pipelines(ExperimentPlan.from_parameters(run_parameters()))
