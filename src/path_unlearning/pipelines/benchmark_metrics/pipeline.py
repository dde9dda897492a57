"""benchmark_metrics: the metrics unlearning papers report, per path, and relearning.

Per seed and path (namespace ``s0.BCA``): ``score_benchmark`` scores the path's
model before unlearning, its retrain reference (``BA``, from the trie) and each
method's unlearned model on ``benchmark_eval`` and writes
``s0.BCA.benchmark_scores``. Per seed, path and method: ``relearn`` fine-tunes
the unlearned model a few steps on a fixed part of the forget set
(``s0.BCA.npo.relearning``). Per seed, its tables combined
(``relearning_s0``, ``benchmark_scores_s0``, in memory); finally
``relearning_curves`` and ``benchmark_scores`` over every seed (docs/metrics.md).
"""

from kedro.pipeline import Node, Pipeline

from path_unlearning.metrics.probes import BENCHMARK_SET, FORGET_SET
from path_unlearning.pipelines import bind
from path_unlearning.pipelines.benchmark_metrics.nodes import (
    add_relearning_speed,
    relearn,
    score_benchmark,
)
from path_unlearning.pipelines.evaluate.nodes import combine_tables
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
    # Each seed's tables first, inside its namespace (kedro-viz draws one box per seed),
    # then one table over every seed, as evaluate does.
    per_seed = []
    for seed in plan.seeds:
        ns = plan.namespace(seed)
        per_seed += [
            Node(
                combine_tables,
                [f"{ns}.{p}.{m}.relearning" for p in plan.paths for m in plan.methods],
                f"relearning_{ns}",
                name="combine_relearning",
                namespace=ns,
            ),
            Node(
                combine_tables,
                [f"{ns}.{p}.benchmark_scores" for p in plan.paths],
                f"benchmark_scores_{ns}",
                name="combine_benchmark_scores",
                namespace=ns,
            ),
        ]
    summary = [
        Node(
            combine_tables,
            [f"relearning_{plan.namespace(seed)}" for seed in plan.seeds],
            "relearning_curves",
            name="combine_relearning",
        ),
        Node(
            add_relearning_speed,
            ["relearning_curves", "params:benchmark",
             *(f"benchmark_scores_{plan.namespace(seed)}" for seed in plan.seeds)],
            "benchmark_scores",
            name="combine_benchmark_scores",
        ),
    ]  # fmt: skip
    return Pipeline([*per_path, *per_seed, *summary])
