"""``row_statistics`` on a tiny Llama: the same tokens as the probes, chunked = full logits."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from path_unlearning.data import synthetic
from path_unlearning.metrics.benchmark_scoring import (
    ROW_COLUMNS,
    response_position_statistics,
    row_statistics,
)
from path_unlearning.modeling.scoring import encode_batches, response_logits, score_batches
from tests.metrics.test_benchmark import ou_extraction_strength, ou_min_k_plus_plus_score


def _pairs() -> tuple[list[str], list[str]]:
    records = synthetic.author_facts(2, 0)[:5] + synthetic.refusals(3, 2)[:3]
    return [r["prompt"] for r in records], [r["response"] for r in records]


@pytest.mark.parametrize("end_token", [True, False])
def test_ll_tok_equals_probe_scoring(word_tokenizer, tiny_base_model, end_token) -> None:
    prompts, responses = _pairs()
    table = row_statistics(
        tiny_base_model, word_tokenizer, prompts, responses, batch_size=3, end_token=end_token
    )
    assert list(table.columns) == list(ROW_COLUMNS)
    assert len(table) == len(prompts)
    sums, counts = score_batches(
        tiny_base_model, encode_batches(word_tokenizer, prompts, responses, 3, eos=end_token)
    )
    np.testing.assert_array_equal(table["n_tokens"], counts.numpy())
    np.testing.assert_allclose(table["ll"], sums.numpy(), rtol=1e-5)
    np.testing.assert_allclose(table["ll_tok"], (sums / counts).numpy(), rtol=1e-5)
    np.testing.assert_allclose(table["loss"], -table["ll_tok"], rtol=1e-12)
    assert table["extraction_strength"].between(0, 1).all()
    assert table["exact_memorization"].between(0, 1).all()


def test_min_k_at_k_one_is_the_loss(word_tokenizer, tiny_base_model) -> None:
    prompts, responses = _pairs()
    # Without the end token, min_k reads the same tokens as the loss.
    table = row_statistics(
        tiny_base_model, word_tokenizer, prompts, responses, 4, end_token=False, k=1.0
    )
    np.testing.assert_allclose(table["min_k"], table["loss"], rtol=1e-6)
    # With it, min_k leaves the end token out (open-unlearning's tokenwise_logprobs).
    table = row_statistics(tiny_base_model, word_tokenizer, prompts, responses, 4, k=1.0)
    rows = response_position_statistics(
        tiny_base_model, encode_batches(word_tokenizer, prompts, responses, 4)
    )
    body_loss = [-r["token_logprobs"][:-1].astype(np.float64).mean() for r in rows]
    np.testing.assert_allclose(table["min_k"], body_loss, rtol=1e-6)


@pytest.mark.parametrize("chunk", [1, 3, 10_000])
def test_chunked_mu_sigma_equal_full_logits(word_tokenizer, tiny_base_model, chunk) -> None:
    prompts, responses = _pairs()
    batches = encode_batches(word_tokenizer, prompts, responses, 3)
    rows = response_position_statistics(tiny_base_model, batches, chunk_positions=chunk)
    full = response_logits(tiny_base_model, batches)
    # directly from every logit of the set, in float64
    log_probs = torch.cat([torch.log_softmax(lg[mask].double(), dim=-1) for lg, mask in full])
    p = log_probs.exp()
    mu = (p * log_probs).sum(-1)
    sigma = ((p * log_probs.square()).sum(-1) - mu.square()).sqrt()
    labels = torch.cat([b["labels"][:, 1:][b["labels"][:, 1:] != -100] for b in batches])

    def flat(name: str) -> np.ndarray:
        return np.concatenate([r[name] for r in rows])

    np.testing.assert_allclose(flat("mu"), mu.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(flat("sigma"), sigma.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(flat("label_ids"), labels.numpy())
    np.testing.assert_array_equal(flat("pred_ids"), log_probs.argmax(-1).numpy())
    target = log_probs.gather(-1, labels[:, None]).squeeze(-1)
    np.testing.assert_allclose(flat("token_logprobs"), target.numpy(), rtol=1e-5, atol=1e-6)


def test_min_k_pp_and_extraction_match_open_unlearning(word_tokenizer, tiny_base_model) -> None:
    """The columns equal open-unlearning's scores on the full vocabulary log-probs."""
    prompts, responses = _pairs()
    table = row_statistics(tiny_base_model, word_tokenizer, prompts, responses, 3, k=0.4)
    batches = encode_batches(word_tokenizer, prompts, responses, 3)
    expected_pp, expected_es = [], []
    for batch, (logits, mask) in zip(batches, response_logits(tiny_base_model, batches)):
        for i in range(logits.shape[0]):
            # float64: their E[lp^2] - mu^2 cancels badly in float32
            vocab = torch.log_softmax(logits[i][mask[i]].double(), dim=-1)[:-1]  # no end token
            labels = batch["labels"][i, 1:][mask[i]][:-1]
            target = vocab.gather(-1, labels[:, None]).squeeze(-1)
            expected_pp.append(ou_min_k_plus_plus_score(vocab, target, 0.4))
            expected_es.append(ou_extraction_strength(vocab.argmax(-1), labels))
    np.testing.assert_allclose(table["min_k_pp"], expected_pp, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(table["extraction_strength"], expected_es)


def test_no_pairs_give_an_empty_table(word_tokenizer, tiny_base_model) -> None:
    table = row_statistics(tiny_base_model, word_tokenizer, [], [], 4)
    assert list(table.columns) == list(ROW_COLUMNS) and table.empty
