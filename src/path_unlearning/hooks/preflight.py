"""Pre-flight: checks before any compute, and the clean-up of killed saves.

The checks (``check_*``) only read and raise a one-line ``ConfigError`` that
names the fix; the clean-up (``remove_killed_saves``) is the only step that
deletes anything, and only what killed saves left behind (``live_runs``).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from kedro.framework.hooks import hook_impl
from kedro.framework.project import pipelines
from kedro.pipeline import Pipeline

from path_unlearning import live_runs
from path_unlearning.errors import ConfigError, quoted
from path_unlearning.hooks.producers import is_data, producing_pipelines, selector
from path_unlearning.hooks.same_run import check_same_run
from path_unlearning.io import AtomicParquetDataset
from path_unlearning.kedro_adapter import project_root

logger = logging.getLogger(__name__)


class PreflightHook:
    """Checks before any compute: data/ is writable, pinned versions exist, inputs
    exist, the outputs of each producing node the run reads come from one run,
    and ``data_prep``'s tables have rows.

    Between the writability check and the others it removes the orphans of
    killed saves (never those of a live run), so the saved versions the checks
    list are real ones. It also names the report file when a run wrote one.
    """

    @hook_impl
    def before_pipeline_run(
        self, run_params: dict[str, Any], pipeline: Pipeline, catalog: Any
    ) -> None:
        """Check writability, tidy orphans, then check pins and inputs."""
        data = project_root() / "data"
        check_writable(data)
        remove_killed_saves(data, str(run_params.get("run_id") or "") or None)
        pins = run_params.get("load_versions") or {}
        check_pinned_versions(pins, pipeline, catalog)
        runtime = run_params.get("runtime_params") or {}
        check_inputs_exist(pipeline, catalog, runtime)
        check_same_run(pipeline, catalog, pins, runtime)
        check_not_empty(pipeline, catalog)

    @hook_impl(trylast=True)
    def after_pipeline_run(self, run_params: dict[str, Any], pipeline: Pipeline, catalog) -> None:
        """End the run's log with where the report is."""
        if "report_html" in pipeline.all_outputs():
            filepath = getattr(catalog.get("report_html"), "filepath", None)
            logger.info("report: %s", filepath or "data/08_reporting/report.html")


def check_writable(data: Path) -> None:
    """Raise ``ConfigError`` unless ``data/`` is writable (it is created if missing)."""
    try:
        data.mkdir(exist_ok=True)
    except OSError:
        pass  # reported just below
    if not os.access(data, os.W_OK | os.X_OK):
        raise ConfigError(f"{data} is not writable: outputs go there; fix its permissions")


def remove_killed_saves(data: Path, run_id: str | None) -> list[Path]:
    """Delete what killed saves left in ``data/``; never what a live run may still write.

    The one step of the pre-flight that deletes files (``live_runs.remove_orphans``:
    dead writers' temporaries, empty version folders of runs not live).

    Returns:
        What was removed.
    """
    return live_runs.remove_orphans(data, run_id)


def check_pinned_versions(pins: dict[str, str], pipeline: Pipeline, catalog: Any) -> None:
    """Raise ``ConfigError`` unless every ``--load-versions`` pin names a used, saved version."""
    known = pipeline.datasets()
    for name, version in sorted(pins.items()):
        if name not in known:
            raise ConfigError(
                f"--load-versions names {quoted(name)}, which this run does not use; "
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


def check_inputs_exist(pipeline: Pipeline, catalog: Any, runtime: dict[str, Any]) -> None:
    """Raise ``ConfigError`` naming the pipelines that create the run's missing inputs."""
    missing = {n for n in pipeline.inputs() if is_data(n) and not catalog.exists(n)}
    if missing:
        chain = producing_pipelines(missing, catalog.exists) or ["data_prep"]
        names = sorted(missing)
        raise ConfigError(
            f"missing input(s) {', '.join(names[:4])}{' ...' if len(names) > 4 else ''}: "
            f"create them with `kedro run --pipelines={','.join(chain)}{selector(runtime)}`"
        )


def check_not_empty(pipeline: Pipeline, catalog: Any) -> None:
    """Refuse data tables without rows (stage data, evaluation sets) before any compute.

    A table without rows would otherwise fail deep inside training or scoring
    (``torch.cat`` of nothing), after earlier nodes have saved. Only
    ``data_prep``'s tables are checked (they are small); later tables may
    legitimately be empty (no pair of paths to compare).

    Raises:
        ConfigError: One line naming the table and the fix.
    """
    if "data_prep" not in pipelines:
        return
    made = pipelines["data_prep"].all_outputs()
    for name in sorted(n for n in pipeline.inputs() if n in made):
        if isinstance(catalog.get(name), AtomicParquetDataset) and catalog.load(name).empty:
            raise ConfigError(
                f"{name} has no rows: rerun `kedro run --pipelines=data_prep` (every "
                "data_prep size must be >= 1) or pin a version with rows with --load-versions"
            )
