"""Scoring a model on the evaluation sets, and distances between two models."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
import torch
from pydantic import Field
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from path_unlearning.metrics.distances import kl_divergence, pairwise_distances, re_distance
from path_unlearning.metrics.eval_sets import encode_probes, probe_pairs
from path_unlearning.metrics.scores import math_accuracy
from path_unlearning.modeling.generation import generate_responses
from path_unlearning.modeling.scoring import CHUNK_POSITIONS, encode_batches, mean_loglik
from path_unlearning.parameters import Count, Real, Section, build
from path_unlearning.schemas import KL, MATH_ACC, MATH_ACC_SAMPLED, RE_DISTANCE, ll, ll_tok


class EvaluateSettings(Section):
    """The ``evaluate`` section."""

    batch_size: Count = Field(128, ge=1, description="Examples per scoring batch.")
    math_max_new_tokens: Count = Field(24, ge=1, description="Tokens generated per answer.")
    math_samples: Count = Field(0, ge=0, description="Sampled answers; 0: greedy answers only.")
    math_temperature: Real = Field(0.7, gt=0, description="Sampling temperature.")
    seed: Count = Field(0, ge=0, description="Seed of the sampled answers.")
    score_end_token: bool = Field(
        True,
        description="Score the end-of-turn token after full responses (facts, math); the "
        "paper's code scores none (add_end_tokens=False), conf/paper sets false.",
    )


class EvalSets:
    """The evaluation sets, tokenized once into padded batches.

    The sets are those of ``metrics.probes.EVAL_SETS``, in that order: every
    probe's pairs (``probe_pairs``, each prompt with every paraphrase), the math
    problems for the accuracy, the generic set for the distances.
    """

    def __init__(
        self,
        tokenizer: PreTrainedTokenizerBase,
        forget_eval: pd.DataFrame,
        paraphrase_eval: pd.DataFrame,
        facts_eval: pd.DataFrame,
        math_eval: pd.DataFrame,
        generic_eval: pd.DataFrame,
        batch_size: int,
        end_token: bool = True,
    ):
        self.tokenizer = tokenizer
        pairs = probe_pairs(
            forget_eval, paraphrase_eval, facts_eval, math_eval, all_paraphrases=True
        )
        self.probes = encode_probes(tokenizer, pairs, batch_size, end_token)
        self.math_prompts = math_eval["prompt"].to_list()
        self.math_answers = math_eval["response"].to_list()
        self.generic = encode_batches(
            tokenizer, generic_eval["prompt"], generic_eval["response"], batch_size
        )


def model_scores(
    model: PreTrainedModel, sets: EvalSets, params: EvaluateSettings | Mapping[str, Any]
) -> dict[str, float]:
    """Log-likelihoods of every probe (full sets) and math accuracy.

    Math accuracy is greedy; with ``math_samples`` > 0 also the mean accuracy of
    that many samples per problem at ``math_temperature`` (the paper uses 5).
    """
    settings = build(EvaluateSettings, params, "evaluate")
    scores = {}
    for name, batches in sets.probes.items():
        scored = mean_loglik(model, batches)
        scores[ll(name)], scores[ll_tok(name)] = scored["sum"], scored["per_token"]
    greedy = generate_responses(
        model,
        sets.tokenizer,
        sets.math_prompts,
        settings.math_max_new_tokens,
        settings.batch_size,
    )
    scores[MATH_ACC] = math_accuracy([g[0] for g in greedy], sets.math_answers)
    k = settings.math_samples
    if k:
        sampled = generate_responses(
            model,
            sets.tokenizer,
            sets.math_prompts,
            settings.math_max_new_tokens,
            settings.batch_size,
            num_samples=k,
            temperature=settings.math_temperature,
            seed=settings.seed,
        )
        flat = [s for group in sampled for s in group]
        answers = [a for a in sets.math_answers for _ in range(k)]
        scores[MATH_ACC_SAMPLED] = math_accuracy(flat, answers)
    return scores


Logits = list[tuple[torch.Tensor, torch.Tensor]]


def logits_distance(logits: Logits, other: Logits) -> dict[str, float]:
    """Retrain-equivalence distance (Def. 2.1) and KL from precomputed logits.

    Holds every logit of the set: for small vocabularies and tests only; the
    pipelines use the chunked ``model_distance``.

    Pred(θ, x) is the next-token distribution at each response position of the
    generic test set; the distance is the mean over test inputs of the squared
    L2 distance, averaged over positions; KL(first || other) likewise.
    """
    re, kl = [], []
    for (a, mask), (b, _) in zip(logits, other, strict=True):
        re.append(re_distance(a, b, mask))
        kl.append(kl_divergence(a, b, mask))
    return {RE_DISTANCE: torch.cat(re).mean().item(), KL: torch.cat(kl).mean().item()}


@torch.no_grad()
def model_distance(
    model: PreTrainedModel,
    other: PreTrainedModel,
    batches: list[dict[str, torch.Tensor]],
    chunk_positions: int = CHUNK_POSITIONS,
) -> dict[str, float]:
    """Retrain-equivalence distance and ``KL(model || other)`` on the same batches.

    Equal to ``logits_distance`` of the two models' logits, but computed chunk by
    chunk (``pairwise_distances``): the logits of the set are never all in memory,
    which matters at real vocabulary sizes.
    """
    pair = ("model", "other")
    d = pairwise_distances({"model": model, "other": other}, [pair], batches, chunk_positions)
    return d[pair]
