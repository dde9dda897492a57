"""staged_finetune: per seed, the base model, then one training node per prefix of the trie.

``s0.prepare_base_model`` pretrains replicate 0's tiny base model from seed 0 (a
configured hub model is one shared ``prepare_base_model``). Each prefix is a namespaced copy of a one-node template: ``s0.BC.train`` reads
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
                    inputs={
                        "base_model": plan.base_model(seed),
                        "tokenizer": "tokenizer",
                        **inputs,
                    },
                    parameters={
                        "params:stage": f"params:stages.{stage}",
                        "params:finetune": "params:finetune",
                    },
                )
            )
    bases = {plan.base_model(seed): seed for seed in plan.seeds}
    if not plan.replicate_base:
        bases = {"base_model": None}  # one hub model; prepare_base_model ignores the seed
    base_nodes = [
        Node(
            bind(prepare_base_model, seed=seed or 0),
            ["tokenizer", "pretrain_corpus", "params:model", "params:pretrain", "params:finetune"],
            [name, name.replace("base_model", "base_model_log")],
            name="prepare_base_model",
            tags=["pretraining"],
            namespace=name.removesuffix(".base_model") if name != "base_model" else None,
        )
        for name, seed in bases.items()
    ]
    return Pipeline(base_nodes) + sum(trie, Pipeline([]))
