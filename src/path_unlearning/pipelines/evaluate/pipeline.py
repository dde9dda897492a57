"""evaluate: per-path scores before and after unlearning, then cross-path divergence.

Per path (namespace = path): ``BCA.evaluate_before`` and ``BCA.evaluate_<method>``.
Per method: ``<method>.path_divergence`` over all selected paths. Finally the
tables ``evaluation_scores``, ``path_divergence`` and ``divergence_fits``.
"""

from functools import partial, update_wrapper

from kedro.pipeline import Node, Pipeline, pipeline

from path_unlearning.pipelines import dotted_names_allowed, experiment_plan
from path_unlearning.pipelines.evaluate.nodes import (
    combine_tables,
    evaluate_before,
    evaluate_unlearned,
    fit_divergence,
    measure_path_divergence,
    prepare_eval_sets,
)

EVAL_SETS = ["forget_eval", "paraphrase_eval", "facts_eval", "math_eval", "generic_eval"]


def _path_template(position: int, methods: tuple[str, ...]) -> Pipeline:
    common = {"eval_sets": "eval_sets", "params": "params:evaluate"}
    models = {
        "base_model": "base_model",
        "path_adapter": "adapter",
        "reference_adapter": "reference_adapter",
    }
    nodes = [Node(evaluate_before, {**models, **common}, "before_scores", name="evaluate_before")]
    func = update_wrapper(partial(evaluate_unlearned, position=position), evaluate_unlearned)
    nodes += [
        Node(
            func,
            {**models, "unlearned": f"{m}.unlearned", "before": "before_scores", **common},
            f"{m}.scores",
            name=f"evaluate_{m}",
        )
        for m in methods
    ]
    return Pipeline(nodes)


def create_pipeline(**kwargs) -> Pipeline:
    plan = kwargs.get("plan") or experiment_plan()
    shared = {"base_model": "base_model", "eval_sets": "eval_sets"}
    per_path = []
    with dotted_names_allowed():
        for path in plan.paths:
            per_path.append(
                pipeline(
                    _path_template(plan.position(path), plan.methods),
                    namespace=path,
                    inputs={**shared, "reference_adapter": f"{plan.reference(path)}.adapter"},
                    parameters={"params:evaluate": "params:evaluate"},
                )
            )
        divergence = [
            Node(
                measure_path_divergence,
                [
                    "base_model",
                    "eval_sets",
                    *[name for p in plan.paths for name in (f"{p}.adapter", f"{p}.{m}.unlearned")],
                ],
                f"{m}.path_divergence",
                name=f"path_divergence_{m}",
            )
            for m in plan.methods
        ]
    prepare = Node(
        prepare_eval_sets,
        ["tokenizer", *EVAL_SETS, "params:evaluate"],
        "eval_sets",
        name="prepare_eval_sets",
    )
    summary = [
        Node(
            combine_tables,
            [f"{p}.{m}.scores" for p in plan.paths for m in plan.methods],
            "evaluation_scores",
            name="combine_scores",
        ),
        Node(
            combine_tables,
            [f"{m}.path_divergence" for m in plan.methods],
            "path_divergence",
            name="combine_path_divergence",
        ),
        Node(fit_divergence, "path_divergence", "divergence_fits", name="fit_divergence"),
    ]
    return Pipeline([prepare]) + sum(per_path, Pipeline([])) + Pipeline(divergence + summary)
