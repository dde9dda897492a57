"""benchmark_metrics: the metrics unlearning papers report, per path, and relearning.

Per seed and path (namespace ``s0.BCA``): ``score_benchmark`` scores the path's
model before unlearning, its retrain reference (``BA``, from the trie) and each
method's unlearned model on ``benchmark_eval`` and writes
``s0.BCA.benchmark_scores``. Per seed, path and method: ``relearn`` fine-tunes
the unlearned model a few steps on a fixed part of the forget set
(``s0.BCA.npo.relearning``). Finally ``relearning_curves`` and
``benchmark_scores`` over every seed (docs/metrics.md).
"""

import warnings

from kedro.pipeline import Node, Pipeline

from path_unlearning.metrics.probes import BENCHMARK_SET, FORGET_SET
from path_unlearning.pipelines import bind
from path_unlearning.pipelines.benchmark_metrics.nodes import (
    combine_benchmark_scores,
    combine_relearning,
    relearn,
    score_benchmark,
)
from path_unlearning.plan import ExperimentPlan


def _path_nodes(plan: ExperimentPlan, seed: int, path: str) -> list[Node]:
    ns = plan.namespace(seed, path)
    common = {
        "base_model": plan.base_model(seed),
        "path_adapter": f"{ns}.adapter",
        "tokenizer": "tokenizer",
        "params": "params:benchmark",
    }
    score = Node(
        bind(score_benchmark, position=plan.position(path)),
        {
            **common,
            "reference_adapter": f"{plan.namespace(seed, plan.reference(path))}.adapter",
            "benchmark_eval": BENCHMARK_SET,
            **{f"{m}_unlearned": f"{ns}.{m}.unlearned" for m in plan.methods},
        },
        f"{ns}.benchmark_scores",
        name="score_benchmark",
        namespace=ns,
        tags=["benchmark_metrics"],
    )
    forget_data = f"{plan.stage_datasets[plan.forget_stage]}_stage_data"
    relearning = [
        Node(
            bind(relearn, position=plan.position(path)),
            {
                **common,
                "unlearned": f"{ns}.{m}.unlearned",
                "forget_records": forget_data,
                "forget_eval": FORGET_SET,
            },
            f"{ns}.{m}.relearning",
            name=f"relearn_{m}",
            namespace=ns,
            tags=["relearning", m],
        )
        for m in plan.methods
    ]
    return [score, *relearning]


def create_pipeline(plan: ExperimentPlan, **kwargs) -> Pipeline:
    """Benchmark scores and relearning curves of every seed, path and method."""
    per_path = [
        n for seed in plan.seeds for path in plan.paths for n in _path_nodes(plan, seed, path)
    ]
    curves = [
        f"{plan.namespace(seed, path)}.{m}.relearning"
        for seed in plan.seeds
        for path in plan.paths
        for m in plan.methods
    ]
    scores = [
        f"{plan.namespace(seed, path)}.benchmark_scores"
        for seed in plan.seeds
        for path in plan.paths
    ]
    with warnings.catch_warnings():
        # Namespaced names (s0.BCA.npo.relearning) are dotted on purpose.
        warnings.filterwarnings("ignore", message="One or more dataset names contain")
        summary = [
            Node(combine_relearning, curves, "relearning_curves", name="combine_relearning"),
            Node(
                combine_benchmark_scores,
                ["relearning_curves", "params:benchmark", *scores],
                "benchmark_scores",
                name="combine_benchmark_scores",
            ),
        ]
    return Pipeline([*per_path, *summary])
