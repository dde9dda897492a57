"""Project hooks."""

from __future__ import annotations

from kedro.framework.context import KedroContext
from kedro.framework.hooks import hook_impl
from kedro.framework.project import pipelines

from path_unlearning import plan


class ExperimentPlanHook:
    """Resolves which paths to build from the run's parameters.

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


def _forget_built_pipelines() -> None:
    """Make Kedro build the pipelines again on next access.

    Kedro keeps the registered pipelines per process; without this, a second
    session in the same process (a notebook, a test) with other paths would run
    the first session's trie.
    """
    with pipelines._lock:
        pipelines._is_data_loaded = False
