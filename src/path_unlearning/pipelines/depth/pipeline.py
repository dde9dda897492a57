"""depth: the trie of the six orders of R, C, U, gradient ascent on U, and the summary.

``depth.RC.train`` reads ``depth.R.adapter`` and writes ``depth.RC.adapter``; every
order then has ``depth.<order>.unlearn`` writing ``depth.<order>.trajectory``, and
``summarise_depth`` reads them all. It reuses the default experiment's ``tokenizer``
and ``base_model``: run data_prep and the base model first (docs/depth.md).
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
SHARED = {"base_model": "base_model", "tokenizer": "tokenizer", "depth_records": "depth_records"}


def _name(name: str) -> str:
    return f"{NAMESPACE}.{name}"


def create_pipeline(plan: ExperimentPlan, **kwargs) -> Pipeline:
    """The depth experiment for the plan's ``depth_paths`` (empty without them)."""
    if not plan.depth_paths:
        return Pipeline([])
    nodes = [
        Node(
            make_depth_records,
            ["tokenizer", "params:depth"],
            "depth_records",
            name="make_depth_records",
            tags=["depth"],
        )
    ]
    for prefix in prefix_trie(plan.depth_paths):
        inputs = {**SHARED, "params": "params:depth"}
        if parent(prefix):
            inputs["parent"] = _name(f"{parent(prefix)}.adapter")
        nodes.append(
            Node(
                bind(train_depth_prefix, prefix=prefix),
                inputs,
                [_name(f"{prefix}.adapter"), _name(f"{prefix}.train_log")],
                name="train",
                namespace=_name(prefix),
                tags=["depth", "stage_training"],
            )
        )
    for path in plan.depth_paths:
        nodes.append(
            Node(
                bind(unlearn_depth_order, path=path),
                {**SHARED, "path_adapter": _name(f"{path}.adapter"), "params": "params:depth"},
                _name(f"{path}.trajectory"),
                name="unlearn",
                namespace=_name(path),
                tags=["depth", "unlearning"],
            )
        )
    nodes.append(
        Node(
            summarise_depth,
            {"params": "params:depth", **{p: _name(f"{p}.trajectory") for p in plan.depth_paths}},
            ["depth_logprobs", "depth_classification", "depth_verdict", "depth_figure"],
            name="summarise_depth",
            tags=["depth"],
        )
    )
    return Pipeline(nodes)
