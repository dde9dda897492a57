"""Project hooks."""

from __future__ import annotations

from typing import Any

import torch
from kedro.framework.context import KedroContext
from kedro.framework.hooks import hook_impl
from kedro.framework.project import pipelines
from kedro.pipeline import Pipeline

from path_unlearning import plan
from path_unlearning.errors import ConfigError

# Which pipeline writes a dataset, by the end of its name: used to tell the user
# which command creates a missing input.
_PRODUCERS = [
    (".adapter", "staged_finetune"),
    ("base_model", "staged_finetune"),
    (".unlearned", "unlearn"),
    (".trajectory", "unlearn"),
    ("_scores", "evaluate"),
    ("path_divergence", "evaluate"),
    ("divergence_fits", "evaluate"),
]


class ExperimentPlanHook:
    """Resolves which paths to build from the run's parameters, and checks inputs.

    ``after_context_created`` runs before the pipeline registry is loaded, so
    the per-path pipelines can be built for ``--params=path:BCA``. It reads
    ``config_loader["parameters"]`` (runtime params included), not
    ``context.params``, which would build the pipelines too early.
    """

    @hook_impl
    def after_context_created(self, context: KedroContext) -> None:
        previous = plan.current_plan()
        if plan.set_parameters(context.config_loader["parameters"]) != previous:
            _forget_built_pipelines()

    @hook_impl
    def before_pipeline_run(
        self, run_params: dict[str, Any], pipeline: Pipeline, catalog: Any
    ) -> None:
        """Fail in one line, naming the command to run, if a checkpoint or table is missing."""
        missing = sorted(name for name in pipeline.inputs()
                         if not name.startswith("params:") and name != "parameters"
                         and not catalog.exists(name))
        if not missing:
            return
        path = (run_params.get("runtime_params") or {}).get("path")
        producer = next((p for suffix, p in _PRODUCERS if missing[0].endswith(suffix)), "data_prep")
        selector = f" --params=path:{path}" if path else ""
        raise ConfigError(
            f"missing input(s) {', '.join(missing[:4])}{' ...' if len(missing) > 4 else ''}: "
            f"create them with `kedro run --pipelines={producer}{selector}`"
        )


def _forget_built_pipelines() -> None:
    """Make Kedro build the pipelines again on their next access.

    Kedro keeps the registered pipelines per process; without this, a second
    session in the same process (a notebook, a test) with other paths would run
    the first session's trie.
    """
    with pipelines._lock:
        pipelines._is_data_loaded = False
