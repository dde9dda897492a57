"""Lineage: the versions of the report's input tables, recorded by a project hook.

A node cannot see the catalog, so :class:`LineageHook` fills the node input
named :data:`LINEAGE_INPUT` just before the node runs: ``before_node_run`` may
return replacement inputs. The versions are those of the node's *other* inputs,
resolved on the very datasets that were just loaded, so they are the versions
the node reads (latest, or pinned with ``--load-versions``). No state is kept
between nodes, so the hook works with every runner.

Register it in ``settings.py``::

    from path_unlearning.pipelines.report.lineage import LineageHook

    HOOKS = (ExperimentPlanHook(), LineageHook())

Without it the input stays as declared in the catalog (``{}``) and the report
says the versions were not recorded.
"""

from __future__ import annotations

from typing import Any

from kedro.framework.hooks import hook_impl
from kedro.io import AbstractVersionedDataset
from kedro.pipeline import Node

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
