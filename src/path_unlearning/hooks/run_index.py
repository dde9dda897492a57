"""The run index hook: one record per run in ``data/09_runs/run_index.jsonl``.

What a record says and how the file is written: ``path_unlearning.run_index``.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kedro.framework.hooks import hook_impl
from kedro.framework.project import pipelines
from kedro.io import AbstractVersionedDataset, DatasetError, MemoryDataset
from kedro.pipeline import Pipeline

from path_unlearning import live_runs
from path_unlearning import run_index as index
from path_unlearning.errors import ConfigError, RunError, RunInterrupted
from path_unlearning.interrupts import catch_signals
from path_unlearning.kedro_adapter import has_version, project_root
from path_unlearning.parameters import plain

logger = logging.getLogger(__name__)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}"[:500]


def _runner_name(runner: Any) -> str:
    """``SequentialRunner`` for Kedro's default (None) and for a runner's repr."""
    text = str(runner)
    if text in ("None", ""):
        return "SequentialRunner"
    return re.sub(r"^<(?:[\w]+\.)*(\w+) object at .*>$", r"\1", text)


def written_datasets(
    pipeline: Pipeline, catalog: Any, run_id: str, completed: bool
) -> dict[str, str | None]:
    """The outputs a run wrote, with their version (None for an unversioned file).

    A versioned output was written when it holds a version named by the run's
    id (every version folder is its run's save_version), newest or not: two
    runs saving at once are each credited with their own versions. An
    unversioned file is counted only for a completed run (whether a failed run
    reached it cannot be told); memory datasets are never counted.
    """
    written: dict[str, str | None] = {}
    for name in sorted(pipeline.all_outputs()):
        dataset = catalog.get(name)
        if isinstance(dataset, AbstractVersionedDataset):
            if has_version(dataset, run_id):
                written[name] = run_id
        elif completed and dataset is not None and not isinstance(dataset, MemoryDataset):
            if "Memory" not in type(dataset).__name__:  # e.g. SharedMemoryDataset
                written[name] = None
    return written


def _every_pipeline() -> Pipeline:
    """All registered pipelines together (a killed run's pipelines are not rebuilt)."""
    return sum((pipelines[name] for name in pipelines), Pipeline([]))


class RunIndexHook:
    """Appends one record per run to ``data/09_runs/run_index.jsonl`` (``run_index.py``).

    Every run that passed its pre-flight checks is recorded with its status:
    ``completed``, ``failed``, ``interrupted`` (SIGINT or SIGTERM, turned into
    a run failure by ``interrupts``) or ``killed`` (its process died without a
    word, e.g. SIGKILL: the next run finds its live marker and records it).
    A record lists the versions the run wrote. A run stopped by the pre-flight
    checks, or by a bad input (``ConfigError``, an unreadable saved version)
    before it saved anything, is not recorded: ``data/`` stays as it was.
    """

    def __init__(self) -> None:
        # run id -> what after_catalog_created knew; popped when the run ends
        self._runs: dict[str, dict[str, Any]] = {}

    @hook_impl
    def after_catalog_created(self, parameters: dict[str, Any], save_version: str) -> None:
        """Remember the run's resolved parameters and start time."""
        # Kedro passes the catalog's feed: "parameters" holds the resolved tree, with
        # the sections a typed node reads as validated models: recorded as configured.
        resolved = (parameters or {}).get("parameters", parameters or {})
        self._runs[save_version] = {"started": _now(), "parameters": dict(plain(resolved))}

    @hook_impl(trylast=True)
    def before_pipeline_run(
        self, run_params: dict[str, Any], pipeline: Pipeline, catalog: Any
    ) -> None:
        """After the pre-flight checks: record killed runs, mark this one live, catch signals."""
        run_id = str(run_params["run_id"])
        root = Path(run_params.get("project_path") or project_root())
        data = root / "data"
        for dead in live_runs.dead_runs(data):
            self._record_killed(root, dead, catalog)
        state = self._runs.setdefault(run_id, {"started": _now(), "parameters": {}})
        live_runs.mark_live(data, run_id, {
            "started": state["started"],
            "env": run_params.get("env"),
            "pipelines": run_params.get("pipeline_names") or ["__default__"],
            "runtime_params": run_params.get("runtime_params") or {},
            "parameter_fingerprint": index.parameter_fingerprint(state["parameters"]),
        })  # fmt: skip
        state["signals"] = catch_signals(run_id)

    @hook_impl
    def after_pipeline_run(self, run_params: dict[str, Any], pipeline: Pipeline, catalog) -> None:
        """Record a completed run; a record that cannot be written fails it in one line."""
        try:
            self._record(run_params, pipeline, catalog, None)
        except OSError as error:
            raise RunError(
                f"run {run_params['run_id']} completed, but its record could not be added "
                f"to {index.RUN_INDEX} ({_one_line(error)}); its outputs are saved"
            ) from None

    @hook_impl
    def on_pipeline_error(
        self, error: Exception, run_params: dict[str, Any], pipeline: Pipeline, catalog
    ) -> None:
        """Record a failed or interrupted run (never hiding the run's own error)."""
        try:
            self._record(run_params, pipeline, catalog, error)
        except Exception as failure:  # noqa: BLE001 - the run's own error comes first
            logger.warning("could not record run %s: %s", run_params["run_id"], _one_line(failure))

    def _record(
        self, run_params: dict[str, Any], pipeline: Pipeline, catalog: Any, error: Exception | None
    ) -> None:
        run_id = str(run_params["run_id"])
        state = self._runs.pop(run_id, None) or {"started": None, "parameters": {}}
        root = Path(run_params.get("project_path") or project_root())
        if state.get("signals") is not None:
            state["signals"].restore()
        try:
            written = written_datasets(pipeline, catalog, run_id, completed=error is None)
            if isinstance(error, ConfigError | DatasetError) and not written:
                return  # an input rejected before anything was saved: data/ stays as it was
            status = "completed"
            if error is not None:
                status = "interrupted" if isinstance(error, RunInterrupted) else "failed"
            parameters = index.flatten(state["parameters"])
            path = root / index.RUN_INDEX
            index.append_record(path, lambda previous: {
                "run_id": run_id,
                "status": status,
                "error": _one_line(error) if error is not None else None,
                "started": state["started"],
                "ended": _now(),
                "git_commit": index.git_commit(root),
                "env": run_params.get("env"),
                "pipelines": run_params.get("pipeline_names") or ["__default__"],
                "runtime_params": run_params.get("runtime_params") or {},
                "load_versions": run_params.get("load_versions") or {},
                "runner": _runner_name(run_params.get("runner")),
                "kedro_version": run_params.get("kedro_version"),
                "parameter_fingerprint": index.parameter_fingerprint(state["parameters"]),
                "parameters_changed": index.parameter_changes(
                    _previous_parameters(previous), parameters
                ),
                "datasets": written,
                "parameters": parameters,
            })  # fmt: skip
            logger.info("run index: %s (run %s, %s)", path, run_id, status)
        finally:
            live_runs.unmark(root / "data", run_id)

    @staticmethod
    def _record_killed(root: Path, dead: dict[str, Any], catalog: Any) -> None:
        """The record of a run whose process died before it could write one."""
        run_id = str(dead["run_id"])
        try:
            if run_id not in index.by_run(index.read_index(root / index.RUN_INDEX)):
                written = written_datasets(_every_pipeline(), catalog, run_id, completed=False)
                index.append_record(root / index.RUN_INDEX, lambda previous: {
                    **{k: dead.get(k) for k in ("run_id", "started", "env", "pipelines",
                                                "runtime_params", "parameter_fingerprint")},
                    "status": "killed",
                    "error": f"process {dead.get('pid')} on {dead.get('host')} ended without "
                             "recording the run (SIGKILL, out of memory or power loss)",
                    "ended": None,
                    "datasets": written,
                })  # fmt: skip
                logger.warning("run %s was killed; recorded it in the run index", run_id)
        except OSError as error:
            logger.warning("could not record killed run %s: %s", run_id, _one_line(error))
        else:
            live_runs.unmark(root / "data", run_id)


def _previous_parameters(previous: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The parameters of the last record that has them (a killed run's record has none)."""
    for record in reversed(previous):
        if record.get("parameters") is not None:
            return record["parameters"]
    return None
