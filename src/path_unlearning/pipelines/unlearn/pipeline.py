"""unlearn: one node per seed, path and method.

``s0.BCA.unlearn_npo`` reads ``s0.BCA.adapter`` and writes ``s0.BCA.npo.trajectory``
and ``s0.BCA.npo.unlearned``. Retrain references are not unlearned. Methods that
declare a retain input (``Input.RETAIN``: GradDiff) also read ``retain_records``:
the other stages' data.
"""

from kedro.pipeline import Node, Pipeline

from path_unlearning.metrics.probes import PROBE_SETS
from path_unlearning.pipelines import bind
from path_unlearning.pipelines.unlearn.nodes import make_retain_set, unlearn_path
from path_unlearning.plan import ExperimentPlan
from path_unlearning.unlearning.losses import Input, get_method

SHARED_INPUTS = ["tokenizer", *PROBE_SETS]  # the sets the probes read: metrics/probes.py


def create_pipeline(plan: ExperimentPlan, **kwargs) -> Pipeline:
    """Every (seed, path, method) unlearning run of the plan."""
    forget_data = f"{plan.stage_datasets[plan.forget_stage]}_stage_data"
    nodes = []
    retain_methods = {m for m in plan.methods if get_method(plan.loss_of(m)).needs(Input.RETAIN)}
    if retain_methods:
        retain_data = sorted(
            {f"{d}_stage_data" for s, d in plan.stage_datasets.items() if s != plan.forget_stage}
        )
        nodes.append(Node(make_retain_set, retain_data, "retain_records", name="make_retain_set"))
    for seed in plan.seeds:
        for path in plan.paths:
            ns = plan.namespace(seed, path)
            inputs = {
                **{name: name for name in SHARED_INPUTS},
                "base_model": plan.base_model(seed),
                "path_adapter": f"{ns}.adapter",
                "forget_records": forget_data,
                "params": "params:unlearn",
                "forget_stage": "params:forget_stage",
            }
            nodes += [
                Node(
                    bind(unlearn_path, path=path, method=method, seed=seed),
                    {**inputs, "retain_records": "retain_records"}
                    if method in retain_methods
                    else inputs,
                    [f"{ns}.{method}.trajectory", f"{ns}.{method}.unlearned"],
                    name=f"unlearn_{method}",
                    namespace=ns,
                    tags=["unlearning", method],
                )
                for method in plan.methods
            ]
    return Pipeline(nodes)
