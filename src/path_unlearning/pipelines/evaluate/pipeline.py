"""evaluate: per-path scores before and after unlearning, then cross-path divergence.

Per seed and path (namespace ``s0.BCA``): ``evaluate_before`` and
``evaluate_<method>``. Per seed and method: ``s0.path_divergence_<method>`` over
the seed's paths, and the seed's tables combined (``scores_s0``,
``path_divergence_s0``, in memory). Finally the
tables ``evaluation_scores``, ``path_divergence`` and ``divergence_fits`` over
every seed.
"""

from kedro.pipeline import Node, Pipeline

from path_unlearning.metrics import probes
from path_unlearning.pipelines import bind
from path_unlearning.pipelines.evaluate.nodes import (
    combine_tables,
    evaluate_before,
    evaluate_unlearned,
    fit_divergence,
    measure_path_divergence,
    prepare_eval_sets,
)
from path_unlearning.plan import ExperimentPlan

EVAL_SETS = list(probes.EVAL_SETS)  # data_prep's evaluation sets (metrics/probes.py)


def _path_nodes(plan: ExperimentPlan, seed: int, path: str) -> list[Node]:
    """Scores of one path's model before unlearning and after each method."""
    ns = plan.namespace(seed, path)
    common = {
        "base_model": plan.base_model(seed),
        "path_adapter": f"{ns}.adapter",
        "reference_adapter": f"{plan.namespace(seed, plan.reference(path))}.adapter",
        "eval_sets": "eval_sets",
        "params": "params:evaluate",
    }
    nodes = [
        Node(evaluate_before, common, f"{ns}.before_scores", name="evaluate_before", namespace=ns)
    ]
    nodes += [
        Node(
            bind(evaluate_unlearned, position=plan.position(path)),
            {**common, "unlearned": f"{ns}.{m}.unlearned", "before": f"{ns}.before_scores"},
            f"{ns}.{m}.scores",
            name=f"evaluate_{m}",
            namespace=ns,
        )
        for m in plan.methods
    ]
    return nodes


def _seed_nodes(plan: ExperimentPlan, seed: int) -> list[Node]:
    """Path divergence of one seed's replica, and its tables combined."""
    ns = plan.namespace(seed)
    divergence = [
        Node(
            measure_path_divergence,
            {
                "base_model": plan.base_model(seed),
                "eval_sets": "eval_sets",
                **{f"{p}_adapter": f"{ns}.{p}.adapter" for p in plan.paths},
                **{f"{p}_unlearned": f"{ns}.{p}.{m}.unlearned" for p in plan.paths},
            },
            f"{ns}.{m}.path_divergence",
            name=f"path_divergence_{m}",
            namespace=ns,
        )
        for m in plan.methods
    ]
    scores = [f"{ns}.{p}.{m}.scores" for p in plan.paths for m in plan.methods]
    combine = [
        Node(combine_tables, scores, f"scores_{ns}", name="combine_scores", namespace=ns),
        Node(
            combine_tables,
            [f"{ns}.{m}.path_divergence" for m in plan.methods],
            f"path_divergence_{ns}",
            name="combine_path_divergence",
            namespace=ns,
        ),
    ]
    return divergence + combine


def create_pipeline(plan: ExperimentPlan, **kwargs) -> Pipeline:
    """Evaluation of every seed's paths, then the tables over all seeds."""
    prepare = Node(
        prepare_eval_sets,
        {"tokenizer": "tokenizer", "params": "params:evaluate", **{s: s for s in EVAL_SETS}},
        "eval_sets",
        name="prepare_eval_sets",
    )
    summary = [
        Node(
            combine_tables,
            [f"scores_s{seed}" for seed in plan.seeds],
            "evaluation_scores",
            name="combine_scores",
        ),
        Node(
            combine_tables,
            [f"path_divergence_s{seed}" for seed in plan.seeds],
            "path_divergence",
            name="combine_path_divergence",
        ),
        Node(
            fit_divergence,
            ["path_divergence", "params:unlearn"],
            "divergence_fits",
            name="fit_divergence",
        ),
    ]
    per_seed = [
        node
        for seed in plan.seeds
        for nodes in (*(_path_nodes(plan, seed, p) for p in plan.paths), _seed_nodes(plan, seed))
        for node in nodes
    ]
    return Pipeline([prepare, *per_seed, *summary])
