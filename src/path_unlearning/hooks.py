"""Project hooks."""

from __future__ import annotations

from typing import Any

import torch
from kedro.framework.context import KedroContext
from kedro.framework.hooks import hook_impl
from kedro.framework.project import pipelines
from kedro.io import AbstractVersionedDataset
from kedro.pipeline import Node, Pipeline

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
        params = context.config_loader["parameters"]
        previous = plan.current_plan()
        if plan.set_parameters(params) != previous:
            _forget_built_pipelines()
        if params.get("torch_threads"):
            torch.set_num_threads(int(params["torch_threads"]))

    @hook_impl
    def before_pipeline_run(
        self, run_params: dict[str, Any], pipeline: Pipeline, catalog: Any
    ) -> None:
        """Fail in one line, naming the command to run, if a checkpoint or table is missing."""
        missing = sorted(
            name
            for name in pipeline.inputs()
            if not name.startswith("params:") and name != "parameters" and not catalog.exists(name)
        )
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


# Lineage: the versions of the report's input tables. A node cannot see the
# catalog, so LineageHook fills the node input named LINEAGE_INPUT just before the
# node runs (``before_node_run`` may return replacement inputs). The versions are
# those of the node's other inputs, resolved on the datasets just loaded: latest,
# or pinned with ``--load-versions``. No state is kept between nodes.
LINEAGE_INPUT = "report_lineage"


def dataset_lineage(catalog: Any, name: str) -> dict[str, Any]:
    """Version, type and file path of one catalog dataset.

    Args:
        catalog: The run's ``DataCatalog``.
        name: A dataset name.

    Returns:
        ``{"version", "type", "filepath"}``; ``version`` is ``None`` for an
        unversioned dataset.
    """
    dataset = catalog.get(name) if hasattr(catalog, "get") else None
    if dataset is None:
        return {"version": None, "type": "", "filepath": ""}
    version = None
    if isinstance(dataset, AbstractVersionedDataset):
        version = dataset.resolve_load_version()
    filepath = getattr(dataset, "_filepath", "")
    return {
        "version": version,
        "type": f"{type(dataset).__module__}.{type(dataset).__qualname__}",
        "filepath": str(filepath) if filepath else "",
    }


class LineageHook:
    """Hands the versions of a node's inputs to its ``report_lineage`` input."""

    @hook_impl
    def before_node_run(
        self, node: Node, catalog: Any, inputs: dict[str, Any], is_async: bool, run_id: str
    ) -> dict[str, Any] | None:
        """Replace ``report_lineage`` with the versions of the node's other inputs."""
        if LINEAGE_INPUT not in node.inputs:
            return None
        names = [n for n in node.inputs if n != LINEAGE_INPUT and not n.startswith("params:")]
        datasets = {name: dataset_lineage(catalog, name) for name in names}
        return {LINEAGE_INPUT: {"run_id": run_id, "datasets": datasets}}
