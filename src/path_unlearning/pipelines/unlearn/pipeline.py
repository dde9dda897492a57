"""unlearn: one node per seed, path and method.

``s0.BCA.unlearn_npo`` reads ``s0.BCA.adapter`` and writes ``s0.BCA.npo.trajectory``
and ``s0.BCA.npo.unlearned``. Retrain references are not unlearned.
"""

from kedro.pipeline import Node, Pipeline

from path_unlearning.pipelines import bind
from path_unlearning.pipelines.unlearn.nodes import unlearn_path
from path_unlearning.plan import ExperimentPlan

SHARED_INPUTS = [
    "base_model",
    "tokenizer",
    "forget_eval",
    "paraphrase_eval",
    "facts_eval",
    "math_eval",
]


def create_pipeline(plan: ExperimentPlan, **kwargs) -> Pipeline:
    """Every (seed, path, method) unlearning run of the plan."""
    forget_data = f"{plan.stage_datasets[plan.forget_stage]}_stage_data"
    nodes = []
    for seed in plan.seeds:
        for path in plan.paths:
            ns = plan.namespace(seed, path)
            inputs = {
                **{name: name for name in SHARED_INPUTS},
                "path_adapter": f"{ns}.adapter",
                "forget_records": forget_data,
                "params": "params:unlearn",
                "forget_stage": "params:forget_stage",
            }
            nodes += [
                Node(
                    bind(unlearn_path, path=path, method=method, seed=seed),
                    inputs,
                    [f"{ns}.{method}.trajectory", f"{ns}.{method}.unlearned"],
                    name=f"unlearn_{method}",
                    namespace=ns,
                    tags=["unlearning", method],
                )
                for method in plan.methods
            ]
    return Pipeline(nodes)
