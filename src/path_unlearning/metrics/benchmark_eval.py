"""Scoring one model on ``benchmark_eval``: the per-row table the benchmark metrics read.

``benchmark_eval`` (written by ``data_prep``) has a ``forget`` split (the forget
stage's data) and a ``retain`` split (the facts stage), each with members (rows
the stage trained on) and held-out non-members, and for every row a paraphrased
true answer and perturbed wrong ones. One model's rows (:func:`benchmark_rows`)
hold the attack statistics and memorization measures of the true answer
(``metrics.benchmark_scoring.row_statistics``), the truth ratio from the
paraphrased and perturbed answers, and for retain members the ROUGE-L recall of
the greedy answer. ``metrics/registry.py``'s ``BENCHMARK_METRICS`` turn a model's
rows and its retrain reference's into the metrics (docs/metrics.md).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field
from rouge_score import rouge_scorer
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from path_unlearning.metrics.benchmark import DEFAULT_K, truth_ratio
from path_unlearning.metrics.benchmark_scoring import row_statistics
from path_unlearning.modeling.generation import generate_responses
from path_unlearning.parameters import Count, Real, Section
from path_unlearning.unlearning.relearn import RelearnSettings

PERTURBED_PREFIX = "perturbed_"


class BenchmarkSettings(Section):
    """The ``benchmark`` section (``parameters_benchmark_metrics.yml``)."""

    batch_size: Count = Field(64, ge=1, description="Pairs per scoring batch.")
    score_end_token: bool = Field(
        True, description="Score the end-of-turn token after each answer (conf/paper: false)."
    )
    max_new_tokens: Count = Field(24, ge=1, description="Greedy retain answers for ROUGE-L.")
    min_k: Real = Field(DEFAULT_K, gt=0, le=1, description="Fraction of tokens of Min-K%(++).")
    privleak_attack: Literal["loss", "zlib", "min_k", "min_k_pp"] = Field(
        "min_k", description="The attack privleak compares with the retrain reference."
    )
    relearn: RelearnSettings = Field(
        default_factory=RelearnSettings, description="Relearning from each unlearned model."
    )


def _rouge_l_recall(predictions: list[str], answers: list[str]) -> np.ndarray:
    """ROUGE-L recall of each prediction against its answer (TOFU's and open-unlearning's)."""
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    return np.array([scorer.score(a, p)["rougeL"].recall for p, a in zip(predictions, answers)])


def benchmark_rows(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    table: pd.DataFrame,
    settings: BenchmarkSettings,
) -> pd.DataFrame:
    """One model's statistics on every row of ``benchmark_eval``.

    Returns:
        ``split``, ``member`` and the ``row_statistics`` columns of the true answer,
        ``truth_ratio`` (perturbed against paraphrased, per-token probabilities),
        and ``rouge_l_recall`` (retain members only, NaN elsewhere).
    """
    prompts = table["prompt"].to_list()

    def scored(responses: pd.Series, **kwargs) -> pd.DataFrame:
        return row_statistics(
            model, tokenizer, prompts, responses.to_list(), settings.batch_size,
            settings.score_end_token, **kwargs,
        )  # fmt: skip

    rows = scored(table["response"], k=settings.min_k)
    perturbed = sorted(c for c in table.columns if c.startswith(PERTURBED_PREFIX))
    rows["truth_ratio"] = truth_ratio(
        scored(table["paraphrased"])["ll_tok"].to_numpy(float),
        np.stack([scored(table[c])["ll_tok"].to_numpy(float) for c in perturbed], axis=1),
    )
    retain = ((table["split"] == "retain") & table["member"]).to_numpy()
    rouge = np.full(len(table), np.nan)
    if retain.any():
        answers = generate_responses(
            model, tokenizer, [p for p, r in zip(prompts, retain) if r],
            settings.max_new_tokens, settings.batch_size,
        )  # fmt: skip
        rouge[retain] = _rouge_l_recall(
            [a[0] for a in answers], table.loc[retain, "response"].to_list()
        )
    rows["rouge_l_recall"] = rouge
    return pd.concat([table[["split", "member"]].reset_index(drop=True), rows], axis=1)
