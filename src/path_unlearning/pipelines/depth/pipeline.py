"""depth: per replicate, the trie of the six orders of R, C, U, GA on U; one summary.

In replicate ``s0``, ``depth.s0.RC.train`` reads ``depth.s0.R.adapter`` and writes
``depth.s0.RC.adapter``; every order then has ``depth.s0.<order>.unlearn`` writing
``depth.s0.<order>.trajectory``, and ``summarise_depth`` reads every replicate's.
Each replicate ``s<seed>`` of ``depth.seeds`` starts from its own base model
(``s<seed>.base_model``, trained by the default's ``s<seed>.prepare_base_model``)
and reuses the default experiment's ``tokenizer``: run data_prep and those base
models first (docs/depth.md).
"""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from path_unlearning.paths import parent, prefix_trie
from path_unlearning.pipelines import bind
from path_unlearning.pipelines.depth.nodes import (
    make_depth_records,
    summarise_depth,
    train_depth_prefix,
    unlearn_depth_order,
)
from path_unlearning.plan import ExperimentPlan

NAMESPACE = "depth"
OUTPUTS = ["depth_logprobs", "depth_classification", "depth_verdict", "depth_summary",
           "depth_figure"]  # fmt: skip


def _name(seed: int, name: str = "") -> str:
    return f"{NAMESPACE}.{ExperimentPlan.namespace(seed, name)}"


def _replicate(plan: ExperimentPlan, seed: int) -> list[Node]:
    shared = {
        "base_model": plan.base_model(seed),
        "tokenizer": "tokenizer",
        "depth_records": "depth_records",
        "params": "params:depth",
    }
    nodes = []
    for prefix in prefix_trie(plan.depth_paths):
        inputs = dict(shared)
        if parent(prefix):
            inputs["parent"] = _name(seed, f"{parent(prefix)}.adapter")
        nodes.append(
            Node(
                bind(train_depth_prefix, seed=seed, prefix=prefix),
                inputs,
                [_name(seed, f"{prefix}.adapter"), _name(seed, f"{prefix}.train_log")],
                name="train",
                namespace=_name(seed, prefix),
                tags=["depth", "stage_training"],
            )
        )
    for path in plan.depth_paths:
        nodes.append(
            Node(
                bind(unlearn_depth_order, seed=seed, path=path),
                {**shared, "path_adapter": _name(seed, f"{path}.adapter")},
                _name(seed, f"{path}.trajectory"),
                name="unlearn",
                namespace=_name(seed, path),
                tags=["depth", "unlearning"],
            )
        )
    return nodes


def create_pipeline(plan: ExperimentPlan, **kwargs) -> Pipeline:
    """The depth experiment for the plan's ``depth_paths`` and ``depth_seeds`` (empty without)."""
    if not plan.depth_paths:
        return Pipeline([])
    records = Node(
        make_depth_records,
        ["tokenizer", "params:depth"],
        "depth_records",
        name="make_depth_records",
        tags=["depth"],
    )
    trajectories = {
        f"s{seed}_{path}": _name(seed, f"{path}.trajectory")
        for seed in plan.depth_seeds
        for path in plan.depth_paths
    }
    summary = Node(
        summarise_depth,
        {"params": "params:depth", **trajectories},
        OUTPUTS,
        name="summarise_depth",
        tags=["depth"],
    )
    replicates = [node for seed in plan.depth_seeds for node in _replicate(plan, seed)]
    return Pipeline([records, *replicates, summary])
