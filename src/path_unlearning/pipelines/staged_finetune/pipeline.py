"""staged_finetune: the base model, then one training node per prefix of the path trie.

Each prefix is a namespaced copy of a one-node template: ``BC.train`` reads
``B.adapter`` and writes ``BC.adapter``. A prefix shared by several paths is one
node, so kedro-viz shows the trie's branching.
"""

from functools import partial, update_wrapper

from kedro.pipeline import Node, Pipeline, pipeline

from path_unlearning.paths import parent
from path_unlearning.pipelines import dotted_names_allowed, experiment_plan
from path_unlearning.pipelines.staged_finetune.nodes import prepare_base_model, train_prefix


def _prefix_template(prefix: str, has_parent: bool) -> Pipeline:
    inputs = {
        "base_model": "base_model",
        "tokenizer": "tokenizer",
        "stage_records": "stage_records",
        "stage": "params:stage",
        "finetune": "params:finetune",
        "seed": "params:seed",
    }
    if has_parent:
        inputs["parent"] = "parent_adapter"
    func = update_wrapper(partial(train_prefix, prefix=prefix), train_prefix)
    return Pipeline(
        [Node(func, inputs, ["adapter", "train_log"], name="train", tags=["stage_training"])]
    )


def create_pipeline(**kwargs) -> Pipeline:
    plan = kwargs.get("plan") or experiment_plan()
    trie = []
    for prefix in plan.prefixes:
        stage = prefix[-1]
        inputs = {"stage_records": f"{plan.stage_datasets[stage]}_stage_data"}
        if parent(prefix):
            inputs["parent_adapter"] = f"{parent(prefix)}.adapter"
        with dotted_names_allowed():
            trie.append(
                pipeline(
                    _prefix_template(prefix, bool(parent(prefix))),
                    namespace=prefix,
                    inputs={"base_model": "base_model", "tokenizer": "tokenizer", **inputs},
                    parameters={
                        "params:stage": f"params:stages.{stage}",
                        "params:finetune": "params:finetune",
                        "params:seed": "params:seed",
                    },
                )
            )
    base = Pipeline(
        [
            Node(
                prepare_base_model,
                [
                    "tokenizer",
                    "pretrain_corpus",
                    "params:model",
                    "params:pretrain",
                    "params:finetune",
                    "params:seed",
                ],
                ["base_model", "base_model_log"],
                name="prepare_base_model",
            ),
        ]
    )
    return base + sum(trie, Pipeline([]))
