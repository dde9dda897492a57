"""Evaluation on models whose outputs we control."""

from __future__ import annotations

import copy

import pandas as pd
import torch

from path_unlearning.data import synthetic
from path_unlearning.metrics.evaluation import EvalSets, model_distance, model_scores
from path_unlearning.metrics.scores import facts_utility, forget_score
from path_unlearning.modeling.scoring import encode_batches, score_batches

PARAMS = {"batch_size": 16, "math_max_new_tokens": 8}


def _sets(tokenizer) -> EvalSets:
    refusals = synthetic.refusals(4, 2)
    facts = pd.DataFrame(synthetic.author_facts(1, 0))
    math = pd.DataFrame(synthetic.math_problems(4, 2, 1)[1])
    forget = pd.DataFrame(
        {"prompt": [r["prompt"] for r in refusals], "label": synthetic.REFUSAL_LABEL}
    )
    paraphrases = pd.DataFrame({"paraphrase": synthetic.REFUSAL_PARAPHRASES[:3]})
    return EvalSets(tokenizer, forget, paraphrases, facts, math, facts, batch_size=16)


def test_identical_models_have_zero_distance_and_zero_forget_score(word_tokenizer, tiny_base_model):
    sets = _sets(word_tokenizer)
    twin = copy.deepcopy(tiny_base_model)
    d = model_distance(tiny_base_model, twin, sets.generic)
    assert d == {"re_distance": 0.0, "kl": 0.0}
    a, b = model_scores(tiny_base_model, sets, PARAMS), model_scores(twin, sets, PARAMS)
    assert forget_score(a["forget_label_ll"], b["forget_label_ll"]) == 0.0
    assert facts_utility(a["facts_ll"], b["facts_ll"]) == 1.0
    # 4 prompts x 3 paraphrases are all scored.
    assert sum(len(batch["input_ids"]) for batch in sets.probes["paraphrase"]) == 12


def test_perturbed_model_is_at_positive_distance(word_tokenizer, tiny_base_model):
    sets = _sets(word_tokenizer)
    other = copy.deepcopy(tiny_base_model)
    with torch.no_grad():
        other.lm_head.weight.add_(0.5 * torch.randn_like(other.lm_head.weight))
    d = model_distance(tiny_base_model, other, sets.generic)
    assert d["re_distance"] > 0 and d["kl"] > 0


def test_batched_scores_equal_one_by_one(word_tokenizer, tiny_base_model):
    prompts = [r["prompt"] for r in synthetic.refusals(6, 2)]
    responses = [synthetic.REFUSAL_PARAPHRASES[i] for i in range(6)]
    batched, counts = score_batches(
        tiny_base_model, encode_batches(word_tokenizer, prompts, responses, 6)
    )
    single = [
        score_batches(tiny_base_model, encode_batches(word_tokenizer, [p], [r], 1))[0].item()
        for p, r in zip(prompts, responses, strict=True)
    ]
    assert torch.allclose(batched, torch.tensor(single), atol=1e-4)
    assert (counts > 0).all()


def test_prefix_probes_are_scored_without_eos(word_tokenizer):
    sets = _sets(word_tokenizer)
    eos = word_tokenizer.eos_token_id

    def last_labels(batches):
        out = []
        for batch in batches:
            for labels in batch["labels"]:
                out.append(labels[labels != -100][-1].item())
        return out

    # The refusal label is followed by a reason in training: no EOS after it.
    assert eos not in last_labels(sets.probes["forget_label"])
    assert eos not in last_labels(sets.probes["paraphrase"])
    assert set(last_labels(sets.probes["facts"])) == {eos}


def test_sampled_math_accuracy_is_reported(word_tokenizer, tiny_base_model):
    sets = _sets(word_tokenizer)
    params = {**PARAMS, "math_samples": 3, "math_temperature": 0.7, "seed": 0}
    first = model_scores(tiny_base_model, sets, params)
    again = model_scores(tiny_base_model, sets, params)
    assert 0.0 <= first["math_acc_sampled"] <= 1.0
    assert first["math_acc_sampled"] == again["math_acc_sampled"]  # seeded sampling
    assert "math_acc_sampled" not in model_scores(tiny_base_model, sets, PARAMS)
