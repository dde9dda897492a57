"""Project hooks."""

from __future__ import annotations

import logging
import os
import re
import shutil
from pathlib import Path
from typing import Any

import torch
from kedro.framework.hooks import hook_impl
from kedro.framework.project import pipelines
from kedro.io import AbstractVersionedDataset
from kedro.pipeline import Node, Pipeline

from path_unlearning.errors import ConfigError
from path_unlearning.io.atomic import PARTIAL_SUFFIX
from path_unlearning.kedro_adapter import project_root
from path_unlearning.modeling.model import configure_torch_for_cpu

logger = logging.getLogger(__name__)


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


def producing_pipelines(names: set[str], exists: Any) -> list[str]:
    """The registered pipelines to run, in order, to create ``names`` from what exists.

    Follows the chain back: a producing pipeline whose own inputs are missing
    brings in their producers too.
    """
    order = [name for name in pipelines if name != "__default__"]
    needed: set[str] = set()
    wanted = set(names)
    while True:
        found = {p for p in order if p not in needed and wanted & pipelines[p].all_outputs()}
        if not found:
            return [p for p in order if p in needed]
        needed |= found
        for p in found:
            wanted |= {n for n in pipelines[p].inputs() if _is_data(n) and not exists(n)}


def _is_data(name: str) -> bool:
    return not name.startswith("params:") and name != "parameters"


_VERSION_FOLDER = re.compile(r"^\d{4}-\d\d-\d\dT\d\d\.\d\d\.\d\d\.\d{3}Z$")


def remove_orphans(data: Path) -> list[Path]:
    """Delete what killed saves leave behind: ``.partial`` files and empty version folders.

    Neither is ever loaded (a version is found by its file), so this only tidies.
    """
    removed = []
    for path in sorted(data.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if path.name.startswith(".") and path.name.endswith(PARTIAL_SUFFIX):
            shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(
                missing_ok=True
            )
            removed.append(path)
        elif path.is_dir() and _VERSION_FOLDER.match(path.name) and not any(path.iterdir()):
            path.rmdir()
            removed.append(path)
    return removed


class PreflightHook:
    """Checks before any compute: inputs exist, pinned versions exist, data/ is writable.

    Every failure is a one-line ``ConfigError`` naming the fix. It also removes
    the orphans of killed saves, and names the report file when a run wrote one.
    """

    @hook_impl
    def before_pipeline_run(
        self, run_params: dict[str, Any], pipeline: Pipeline, catalog: Any
    ) -> None:
        """Check pins, writability and inputs, then tidy orphans."""
        data = project_root() / "data"
        try:
            data.mkdir(exist_ok=True)
        except OSError:
            pass  # reported just below
        if not os.access(data, os.W_OK | os.X_OK):
            raise ConfigError(f"{data} is not writable: outputs go there; fix its permissions")
        remove_orphans(data)
        self._check_pinned_versions(run_params.get("load_versions") or {}, pipeline, catalog)
        missing = {n for n in pipeline.inputs() if _is_data(n) and not catalog.exists(n)}
        if not missing:
            return
        chain = producing_pipelines(missing, catalog.exists) or ["data_prep"]
        runtime = run_params.get("runtime_params") or {}
        selector = f" --params=path:{runtime['path']}" if runtime.get("path") else ""
        names = sorted(missing)
        raise ConfigError(
            f"missing input(s) {', '.join(names[:4])}{' ...' if len(names) > 4 else ''}: "
            f"create them with `kedro run --pipelines={','.join(chain)}{selector}`"
        )

    @staticmethod
    def _check_pinned_versions(pins: dict[str, str], pipeline: Pipeline, catalog: Any) -> None:
        known = pipeline.datasets()
        for name, version in sorted(pins.items()):
            if name not in known:
                raise ConfigError(
                    f"--load-versions names {name!r}, which this run does not use; "
                    "check the dataset name (seed datasets start with s<seed>.)"
                )
            if not catalog.exists(name):
                filepath = getattr(catalog.get(name), "filepath", "")
                versions = sorted(p.name for p in Path(filepath).iterdir()) if filepath and Path(
                    filepath).is_dir() else []  # fmt: skip
                raise ConfigError(
                    f"version {version} of {name} does not exist; saved versions: "
                    f"{', '.join(versions[-5:]) or 'none'}"
                )

    @hook_impl
    def after_pipeline_run(self, run_params: dict[str, Any], pipeline: Pipeline, catalog) -> None:
        """End the run's log with where the report is."""
        if "report_html" in pipeline.all_outputs():
            filepath = getattr(catalog.get("report_html"), "filepath", None)
            logger.info("report: %s", filepath or "data/08_reporting/report.html")


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
