"""staged_finetune: the base model, then one training node per seed and prefix of the trie.

Each prefix is a namespaced copy of a one-node template: ``s0.BC.train`` reads
``s0.B.adapter`` and writes ``s0.BC.adapter``. A prefix shared by several paths
is one node, so kedro-viz shows the trie's branching; every seed has its own trie.
"""

from kedro.pipeline import Node, Pipeline, pipeline

from path_unlearning.paths import parent
from path_unlearning.pipelines import bind
from path_unlearning.pipelines.staged_finetune.nodes import prepare_base_model, train_prefix
from path_unlearning.plan import ExperimentPlan


def _prefix_template(prefix: str, seed: int) -> Pipeline:
    inputs = {
        "base_model": "base_model",
        "tokenizer": "tokenizer",
        "stage_records": "stage_records",
        "stage": "params:stage",
        "finetune": "params:finetune",
    }
    if parent(prefix):
        inputs["parent"] = "parent_adapter"
    func = bind(train_prefix, prefix=prefix, seed=seed)
    return Pipeline(
        [Node(func, inputs, ["adapter", "train_log"], name="train", tags=["stage_training"])]
    )


def create_pipeline(plan: ExperimentPlan, **kwargs) -> Pipeline:
    """The base model and the trie of stage trainings of every seed."""
    trie = []
    for seed in plan.seeds:
        for prefix in plan.prefixes:
            stage = prefix[-1]
            inputs = {"stage_records": f"{plan.stage_datasets[stage]}_stage_data"}
            if parent(prefix):
                inputs["parent_adapter"] = f"{plan.namespace(seed, parent(prefix))}.adapter"
            trie.append(
                pipeline(
                    _prefix_template(prefix, seed),
                    namespace=plan.namespace(seed, prefix),
                    inputs={"base_model": "base_model", "tokenizer": "tokenizer", **inputs},
                    parameters={
                        "params:stage": f"params:stages.{stage}",
                        "params:finetune": "params:finetune",
                    },
                )
            )
    base = Node(
        prepare_base_model,
        ["tokenizer", "pretrain_corpus", "params:model", "params:pretrain", "params:finetune",
         "params:seed"],
        ["base_model", "base_model_log"],
        name="prepare_base_model",
    )  # fmt: skip
    return Pipeline([base]) + sum(trie, Pipeline([]))
