"""The same-run check: a node's outputs that a run loads must come from one run."""

from __future__ import annotations

from typing import Any

from kedro.io import AbstractVersionedDataset, DatasetError
from kedro.pipeline import Pipeline

from path_unlearning import run_index
from path_unlearning.errors import ConfigError
from path_unlearning.hooks.producers import is_data, producers, producing_pipelines, selector
from path_unlearning.kedro_adapter import project_root


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
    writers = producers()
    loaded = sorted(n for n in pipeline.inputs() if is_data(n))
    seen: set[str] = set()
    for name in loaded:
        node = writers.get(name)
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
        repeat = selector(dict((runs.get(known[-1]) or {}).get("runtime_params") or runtime))
        pin = ",".join(f"{o}:{known[0]}" for o in used)
        raise ConfigError(
            f"outputs of node {node.name} come from different runs ({described}): "
            f"a run was interrupted between its saves; rerun "
            f"`kedro run --pipelines={','.join(chain)}{repeat}` "
            f"or pin one run with --load-versions={pin}"
        )
