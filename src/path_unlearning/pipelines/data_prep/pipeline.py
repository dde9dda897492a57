"""data_prep: stage datasets, evaluation sets and the tokenizer."""

from kedro.pipeline import Node, Pipeline

from path_unlearning.pipelines.data_prep.nodes import (
    build_tokenizer,
    make_eval_sets,
    make_stage_data,
)


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                make_stage_data,
                "params:data_prep",
                [
                    "facts_stage_data",
                    "math_stage_data",
                    "math_eval",
                    "refusal_stage_data",
                    "pretrain_corpus",
                ],
                name="make_stage_data",
            ),
            Node(
                make_eval_sets,
                ["facts_stage_data", "refusal_stage_data", "math_eval", "params:data_prep"],
                ["forget_eval", "paraphrase_eval", "facts_eval", "generic_eval"],
                name="make_eval_sets",
            ),
            Node(
                build_tokenizer,
                [
                    "pretrain_corpus",
                    "facts_stage_data",
                    "math_stage_data",
                    "math_eval",
                    "refusal_stage_data",
                    "params:model",
                ],
                "tokenizer",
                name="build_tokenizer",
            ),
        ]
    )
