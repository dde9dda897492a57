"""Project hooks."""

from __future__ import annotations

from typing import Any

import torch
from kedro.framework.hooks import hook_impl
from kedro.framework.project import pipelines
from kedro.io import AbstractVersionedDataset
from kedro.pipeline import Node, Pipeline

from path_unlearning.errors import ConfigError
from path_unlearning.modeling.model import configure_torch_for_cpu


class TorchSettingsHook:
    """Torch process settings, applied once per run rather than in every node."""

    @hook_impl
    def before_pipeline_run(
        self, run_params: dict[str, Any], pipeline: Pipeline, catalog: Any
    ) -> None:
        """Flush denormals; set the thread count from ``torch_threads``."""
        configure_torch_for_cpu()
        threads = (
            catalog.load("params:torch_threads") if "params:torch_threads" in catalog else None
        )
        if threads:
            torch.set_num_threads(int(threads))


def producing_pipelines(names: list[str]) -> list[str]:
    """The registered pipelines that write ``names``, in the order they must run."""
    order = [name for name in pipelines if name != "__default__"]
    return [p for p in order if set(names) & pipelines[p].all_outputs()]


class MissingInputHook:
    """Fails in one line, naming the commands to run, if a checkpoint or table is missing."""

    @hook_impl
    def before_pipeline_run(
        self, run_params: dict[str, Any], pipeline: Pipeline, catalog: Any
    ) -> None:
        """Raise a one-line ``ConfigError`` naming the missing inputs and their producers."""
        missing = sorted(
            name
            for name in pipeline.inputs()
            if not name.startswith("params:") and name != "parameters" and not catalog.exists(name)
        )
        if not missing:
            return
        chain = producing_pipelines(missing) or ["data_prep"]
        runtime = run_params.get("runtime_params") or {}
        selector = f" --params=path:{runtime['path']}" if runtime.get("path") else ""
        raise ConfigError(
            f"missing input(s) {', '.join(missing[:4])}{' ...' if len(missing) > 4 else ''}: "
            f"create them with `kedro run --pipelines={','.join(chain)}{selector}`"
        )


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
    filepath = getattr(dataset, "filepath", "")
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
