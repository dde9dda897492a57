"""Project hooks."""

from __future__ import annotations

import logging
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch
from kedro.framework.hooks import hook_impl
from kedro.framework.project import pipelines
from kedro.io import AbstractVersionedDataset, DatasetError, MemoryDataset
from kedro.pipeline import Node, Pipeline

from path_unlearning import live_runs, run_index
from path_unlearning.errors import ConfigError, RunError, RunInterrupted, quoted
from path_unlearning.interrupts import catch_signals
from path_unlearning.io import AtomicParquetDataset
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


class PreflightHook:
    """Checks before any compute: inputs exist, pinned versions exist, data/ is writable,
    and the outputs of each producing node the run reads come from one run.

    Every failure is a one-line ``ConfigError`` naming the fix. It also removes
    the orphans of killed saves (never those of a live run: ``live_runs``), and
    names the report file when a run wrote one.
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
        live_runs.remove_orphans(data, str(run_params.get("run_id") or "") or None)
        pins = run_params.get("load_versions") or {}
        self._check_pinned_versions(pins, pipeline, catalog)
        runtime = run_params.get("runtime_params") or {}
        missing = {n for n in pipeline.inputs() if _is_data(n) and not catalog.exists(n)}
        if missing:
            chain = producing_pipelines(missing, catalog.exists) or ["data_prep"]
            names = sorted(missing)
            raise ConfigError(
                f"missing input(s) {', '.join(names[:4])}{' ...' if len(names) > 4 else ''}: "
                f"create them with `kedro run --pipelines={','.join(chain)}{_selector(runtime)}`"
            )
        check_same_run(pipeline, catalog, pins, runtime)
        check_not_empty(pipeline, catalog)

    @staticmethod
    def _check_pinned_versions(pins: dict[str, str], pipeline: Pipeline, catalog: Any) -> None:
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

    @hook_impl(trylast=True)
    def after_pipeline_run(self, run_params: dict[str, Any], pipeline: Pipeline, catalog) -> None:
        """End the run's log with where the report is."""
        if "report_html" in pipeline.all_outputs():
            filepath = getattr(catalog.get("report_html"), "filepath", None)
            logger.info("report: %s", filepath or "data/08_reporting/report.html")


def _selector(runtime: dict[str, Any]) -> str:
    """The ``--params`` that select paths and methods, to repeat in a suggested command."""
    items = [f"{key}:{runtime[key]}" for key in ("path", "method") if runtime.get(key)]
    return f" --params={','.join(items)}" if items else ""


def _load_version(catalog: Any, name: str) -> str | None:
    """The version a run would load of a versioned dataset.

    Returns None for a dataset that is not versioned (it has no producing run)
    or has no version at all (nothing to mix with: a run that needs it stops on
    the missing input).
    """
    dataset = catalog.get(name)
    if not isinstance(dataset, AbstractVersionedDataset):
        return None
    try:
        return dataset.resolve_load_version() or None
    except DatasetError:  # no version saved at all
        return None


def _producers() -> dict[str, Node]:
    """Dataset name -> the node that writes it, over every registered pipeline.

    ``__default__`` leaves out separate experiments (``depth``), so all
    registered pipelines are searched.
    """
    found: dict[str, Node] = {}
    for name in pipelines:
        for node in pipelines[name].nodes:
            for output in node.outputs:
                found.setdefault(output, node)
    return found


def check_same_run(
    pipeline: Pipeline, catalog: Any, pins: dict[str, str], runtime: dict[str, Any]
) -> None:
    """Refuse to load outputs of one node that come from different runs.

    Kedro saves a node's outputs one by one, so a run killed between two saves
    leaves, e.g., a new ``s0.BCA.ga.trajectory`` beside the old
    ``s0.BCA.ga.unlearned``. Every version is its producing run's session id, so
    all versioned outputs of a node must resolve to the same version. Outputs the
    user pinned with ``--load-versions`` are the user's choice and not checked.

    Raises:
        ConfigError: One line naming the datasets, their versions, the producing
            node and the fix.
    """
    producers = _producers()
    loaded = sorted(n for n in pipeline.inputs() if _is_data(n))
    seen: set[str] = set()
    for name in loaded:
        node = producers.get(name)
        if node is None or node.name in seen:
            continue
        seen.add(node.name)
        if any(output in pins for output in node.outputs):
            continue
        versions = {o: v for o in node.outputs if (v := _load_version(catalog, o)) is not None}
        if len(set(versions.values())) < 2:
            continue
        used = [o for o in node.outputs if o in loaded]
        described = ", ".join(f"{o} {v}" for o, v in versions.items())
        known = sorted(versions.values())
        chain = producing_pipelines(set(used), lambda _: True) or ["__default__"]
        # Repeat the interrupted run's own selector (path, method) when it is indexed.
        runs = run_index.by_run(run_index.read_index(project_root() / run_index.RUN_INDEX))
        selector = _selector(dict((runs.get(known[-1]) or {}).get("runtime_params") or runtime))
        pin = ",".join(f"{o}:{known[0]}" for o in used)
        raise ConfigError(
            f"outputs of node {node.name} come from different runs ({described}): "
            f"a run was interrupted between its saves; rerun "
            f"`kedro run --pipelines={','.join(chain)}{selector}` "
            f"or pin one run with --load-versions={pin}"
        )


def _runner_name(runner: Any) -> str:
    """``SequentialRunner`` for Kedro's default (None) and for a runner's repr."""
    text = str(runner)
    if text in ("None", ""):
        return "SequentialRunner"
    return re.sub(r"^<(?:[\w]+\.)*(\w+) object at .*>$", r"\1", text)


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


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}"[:500]


def _has_version(dataset: AbstractVersionedDataset, version: str) -> bool:
    """Whether ``dataset`` holds ``version`` (whether or not it is the newest)."""
    try:
        path = dataset._get_versioned_path(version)  # noqa: SLF001 - Kedro's own layout
        return bool(dataset._exists_function(str(path)))  # noqa: SLF001
    except (AttributeError, DatasetError, OSError):
        return False


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
            if _has_version(dataset, run_id):
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
        # Kedro passes the catalog's feed: "parameters" holds the resolved tree.
        resolved = (parameters or {}).get("parameters", parameters or {})
        self._runs[save_version] = {"started": _now(), "parameters": dict(resolved)}

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
            "parameter_fingerprint": run_index.parameter_fingerprint(state["parameters"]),
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
                f"to {run_index.RUN_INDEX} ({_one_line(error)}); its outputs are saved"
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
            parameters = run_index.flatten(state["parameters"])
            path = root / run_index.RUN_INDEX
            run_index.append_record(path, lambda previous: {
                "run_id": run_id,
                "status": status,
                "error": _one_line(error) if error is not None else None,
                "started": state["started"],
                "ended": _now(),
                "git_commit": run_index.git_commit(root),
                "env": run_params.get("env"),
                "pipelines": run_params.get("pipeline_names") or ["__default__"],
                "runtime_params": run_params.get("runtime_params") or {},
                "load_versions": run_params.get("load_versions") or {},
                "runner": _runner_name(run_params.get("runner")),
                "kedro_version": run_params.get("kedro_version"),
                "parameter_fingerprint": run_index.parameter_fingerprint(state["parameters"]),
                "parameters_changed": run_index.parameter_changes(
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
            if run_id not in run_index.by_run(run_index.read_index(root / run_index.RUN_INDEX)):
                written = written_datasets(_every_pipeline(), catalog, run_id, completed=False)
                run_index.append_record(root / run_index.RUN_INDEX, lambda previous: {
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
        # The producing run of each version, and its parameters' fingerprint; a
        # version this run wrote is not in the index until the run ends.
        runs = run_index.by_run(run_index.read_index(project_root() / run_index.RUN_INDEX))
        if "parameters" in catalog:
            current = run_index.parameter_fingerprint(catalog.load("parameters"))
            runs = {**runs, run_id: {"run_id": run_id, "parameter_fingerprint": current}}
        for info in datasets.values():
            info.update(run_index.producing_run(info["version"], runs))
        return {LINEAGE_INPUT: {"run_id": run_id, "datasets": datasets}}
