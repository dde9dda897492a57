"""What the registered pipelines produce, for the suggestions of the pre-flight checks.

Shared by ``preflight`` and ``same_run``: which pipelines create a set of
datasets, which node writes each dataset, and the ``--params`` to repeat in a
suggested command.
"""

from __future__ import annotations

from typing import Any

from kedro.framework.project import pipelines
from kedro.pipeline import Node


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
            wanted |= {n for n in pipelines[p].inputs() if is_data(n) and not exists(n)}


def is_data(name: str) -> bool:
    """Whether a node input is a dataset (not ``params:...`` or ``parameters``)."""
    return not name.startswith("params:") and name != "parameters"


def producers() -> dict[str, Node]:
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


def selector(runtime: dict[str, Any]) -> str:
    """The ``--params`` that select paths and methods, to repeat in a suggested command."""
    items = [f"{key}:{runtime[key]}" for key in ("path", "method") if runtime.get(key)]
    return f" --params={','.join(items)}" if items else ""
