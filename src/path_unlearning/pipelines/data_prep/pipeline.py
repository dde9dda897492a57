"""data_prep: stage datasets, evaluation sets and the tokenizer.

``data_prep.source`` picks the shape: ``synthetic`` (the tiny default) generates
every table from seeds; ``hub`` (the paper environment) loads one dataset per
stage from the Hub or a local copy, one node each, and writes the same
``<dataset>_stage_data`` and ``*_eval`` tables.
"""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from path_unlearning.errors import ConfigError
from path_unlearning.metrics.probes import (
    BENCHMARK_SET,
    FACTS_SET,
    FORGET_SET,
    GENERIC_SET,
    MATH_SET,
    PARAPHRASE_SET,
)
from path_unlearning.pipelines import bind
from path_unlearning.pipelines.data_prep.nodes import (
    build_tokenizer,
    empty_corpus,
    load_math_eval,
    load_stage_dataset,
    load_tokenizer,
    make_benchmark_eval,
    make_eval_sets,
    make_paper_benchmark_eval,
    make_paper_eval_sets,
    make_stage_data,
)
from path_unlearning.plan import ExperimentPlan

# The evaluation sets (named in metrics/probes.py) that ``make_eval_sets`` returns.
EVAL_OUTPUTS = [FORGET_SET, PARAPHRASE_SET, FACTS_SET, GENERIC_SET]


def _synthetic_pipeline() -> Pipeline:
    return Pipeline(
        [
            Node(
                make_stage_data,
                "params:data_prep",
                [
                    "facts_stage_data",
                    "math_stage_data",
                    MATH_SET,
                    "refusal_stage_data",
                    "pretrain_corpus",
                ],
                name="make_stage_data",
            ),
            Node(
                make_eval_sets,
                ["facts_stage_data", "refusal_stage_data", MATH_SET, "params:data_prep"],
                EVAL_OUTPUTS,
                name="make_eval_sets",
            ),
            Node(
                make_benchmark_eval,
                ["facts_stage_data", "refusal_stage_data", "params:data_prep"],
                BENCHMARK_SET,
                name="make_benchmark_eval",
            ),
            Node(
                build_tokenizer,
                [
                    "pretrain_corpus",
                    "facts_stage_data",
                    "math_stage_data",
                    MATH_SET,
                    "refusal_stage_data",
                    "params:model",
                ],
                "tokenizer",
                name="build_tokenizer",
            ),
        ]
    )


def _hub_pipeline(plan: ExperimentPlan) -> Pipeline:
    # Datasets of the stages the paths use: an environment's stages merge into
    # conf/base's, whose synthetic stages no path of the paper names.
    used = {letter for path in plan.paths for letter in path} | {plan.forget_stage}
    names = tuple(sorted({plan.stage_datasets[letter] for letter in used}))
    loads = [
        Node(
            bind(load_stage_dataset, name=name),
            "params:data_prep",
            [f"{name}_stage_data", f"{name}_heldout"],
            name=f"load_{name}",
        )
        for name in names
    ]
    forget_name = plan.stage_datasets[plan.forget_stage]
    tables = [
        "params:data_prep",
        *[f"{name}_stage_data" for name in names],
        *[f"{name}_heldout" for name in names],
    ]
    return Pipeline(
        [
            *loads,
            Node(load_math_eval, "params:data_prep", MATH_SET, name="load_math_eval"),
            Node(
                bind(make_paper_eval_sets, names=names, forget_name=forget_name),
                tables,
                EVAL_OUTPUTS,
                name="make_eval_sets",
            ),
            Node(
                bind(make_paper_benchmark_eval, names=names, forget_name=forget_name),
                tables,
                BENCHMARK_SET,
                name="make_benchmark_eval",
            ),
            Node(
                load_tokenizer,
                ["params:data_prep", "params:model"],
                "tokenizer",
                name="load_tokenizer",
            ),
            Node(empty_corpus, None, "pretrain_corpus", name="empty_pretrain_corpus"),
        ]
    )


def create_pipeline(plan: ExperimentPlan, **kwargs) -> Pipeline:
    """The data_prep pipeline for the plan's data source and stage datasets."""
    if plan.data_source == "synthetic":
        return _synthetic_pipeline()
    if plan.data_source == "hub":
        return _hub_pipeline(plan)
    raise ConfigError(f"data_prep.source={plan.data_source!r}: use synthetic or hub")
