"""Lineage: the versions of the report's input tables, handed to the report node.

A node cannot see the catalog, so ``LineageHook`` fills the node input named
``LINEAGE_INPUT`` just before the node runs (``before_node_run`` may return
replacement inputs). The versions are those of the node's other inputs,
resolved on the datasets just loaded: latest, or pinned with
``--load-versions``. No state is kept between nodes.
"""

from __future__ import annotations

from typing import Any

from kedro.framework.hooks import hook_impl
from kedro.io import AbstractVersionedDataset
from kedro.pipeline import Node

from path_unlearning import run_index
from path_unlearning.kedro_adapter import project_root
from path_unlearning.parameters import plain
from path_unlearning.run_index import LINEAGE_INPUT


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
        # The producing run of each version, and its parameters' fingerprint; a
        # version this run wrote is not in the index until the run ends.
        runs = run_index.by_run(run_index.read_index(project_root() / run_index.RUN_INDEX))
        if "parameters" in catalog:
            current = run_index.parameter_fingerprint(plain(catalog.load("parameters")))
            runs = {**runs, run_id: {"run_id": run_id, "parameter_fingerprint": current}}
        for info in datasets.values():
            info.update(run_index.producing_run(info["version"], runs))
        return {LINEAGE_INPUT: {"run_id": run_id, "datasets": datasets}}
