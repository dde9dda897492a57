"""unlearn: one namespaced copy of the template per path; one node per method inside.

``BCA.unlearn_npo`` reads ``BCA.adapter`` and writes ``BCA.npo.trajectory`` and
``BCA.npo.unlearned``. Retrain references are not unlearned.
"""

from functools import partial, update_wrapper

from kedro.pipeline import Node, Pipeline, pipeline

from path_unlearning.pipelines import dotted_names_allowed, experiment_plan
from path_unlearning.pipelines.unlearn.nodes import unlearn_path

SHARED_INPUTS = [
    "base_model",
    "tokenizer",
    "forget_eval",
    "paraphrase_eval",
    "facts_eval",
    "math_eval",
]


def _template(path: str, methods: tuple[str, ...], seeds: tuple[int, ...]) -> Pipeline:
    nodes = []
    for method in methods:
        func = update_wrapper(
            partial(unlearn_path, path=path, method=method, seeds=list(seeds)), unlearn_path
        )
        nodes.append(
            Node(
                func,
                {
                    "base_model": "base_model",
                    "path_adapter": "adapter",
                    "tokenizer": "tokenizer",
                    "forget_records": "forget_records",
                    "forget_eval": "forget_eval",
                    "paraphrase_eval": "paraphrase_eval",
                    "facts_eval": "facts_eval",
                    "math_eval": "math_eval",
                    "params": "params:unlearn",
                    "forget_stage": "params:forget_stage",
                },
                [f"{method}.trajectory", f"{method}.unlearned"],
                name=f"unlearn_{method}",
                tags=["unlearning", method],
            )
        )
    return Pipeline(nodes)


def create_pipeline(**kwargs) -> Pipeline:
    plan = kwargs.get("plan") or experiment_plan()
    forget_data = f"{plan.stage_datasets[plan.forget_stage]}_stage_data"
    with dotted_names_allowed():
        return _per_path(plan, forget_data)


def _per_path(plan, forget_data: str) -> Pipeline:
    return sum(
        (
            pipeline(
                _template(path, plan.methods, plan.seeds),
                namespace=path,
                inputs={**{name: name for name in SHARED_INPUTS}, "forget_records": forget_data},
                parameters={
                    "params:unlearn": "params:unlearn",
                    "params:forget_stage": "params:forget_stage",
                },
            )
            for path in plan.paths
        ),
        Pipeline([]),
    )
