"""Chunked RE distance, KL and path divergence: exact, and memory-bounded at 128k tokens."""

from __future__ import annotations

import copy

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten
from transformers import LlamaConfig, LlamaForCausalLM

from path_unlearning.data import synthetic
from path_unlearning.metrics.distances import pairwise_distances
from path_unlearning.metrics.evaluation import logits_distance, model_distance
from path_unlearning.modeling.scoring import chunked_log_probs, encode_batches, response_logits

LLAMA3_VOCAB = 128_256


def _generic_batches(tokenizer, batch_size: int = 5) -> list[dict[str, torch.Tensor]]:
    records = synthetic.author_facts(2, 0)[:7] + synthetic.refusals(4, 2)
    return encode_batches(
        tokenizer, [r["prompt"] for r in records], [r["response"] for r in records], batch_size
    )


def _perturbed(model, scale: float = 0.3, seed: int = 1):
    other = copy.deepcopy(model)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in other.parameters():
            p.add_(scale * torch.randn(p.shape, generator=generator))
    return other.eval()


@pytest.mark.parametrize("chunk", [1, 3, 7, 10_000])
def test_chunked_distance_equals_full_logits(word_tokenizer, tiny_base_model, chunk) -> None:
    batches = _generic_batches(word_tokenizer)
    other = _perturbed(tiny_base_model)
    full = logits_distance(
        response_logits(tiny_base_model, batches), response_logits(other, batches)
    )
    chunked = model_distance(tiny_base_model, other, batches, chunk_positions=chunk)
    assert full["re_distance"] > 1e-4 and full["kl"] > 1e-4  # a real difference
    assert chunked["re_distance"] == pytest.approx(full["re_distance"], rel=1e-5)
    assert chunked["kl"] == pytest.approx(full["kl"], rel=1e-5)


def test_pairwise_distances_of_several_models(word_tokenizer, tiny_base_model) -> None:
    batches = _generic_batches(word_tokenizer)
    models = {"a": tiny_base_model, "b": _perturbed(tiny_base_model, seed=1)}
    models["c"] = _perturbed(tiny_base_model, seed=2)
    models["a2"] = copy.deepcopy(tiny_base_model)
    pairs = [("a", "b"), ("b", "a"), ("a", "c"), ("a", "a2")]
    d = pairwise_distances(models, pairs, batches, chunk_positions=4)
    assert d[("a", "a2")] == {"re_distance": 0.0, "kl": 0.0}
    # the squared L2 distance is symmetric; KL in general is not
    assert d[("a", "b")]["re_distance"] == pytest.approx(d[("b", "a")]["re_distance"])
    for pair in [("a", "b"), ("a", "c")]:
        full = logits_distance(
            response_logits(models[pair[0]], batches), response_logits(models[pair[1]], batches)
        )
        assert d[pair]["re_distance"] == pytest.approx(full["re_distance"], rel=1e-5)
        assert d[pair]["kl"] == pytest.approx(full["kl"], rel=1e-5)


def test_chunks_cover_every_response_position_once(word_tokenizer, tiny_base_model) -> None:
    batches = _generic_batches(word_tokenizer, batch_size=4)
    n_positions = sum(int((b["labels"][:, 1:] != -100).sum()) for b in batches)
    rows = torch.cat([r for _, r in chunked_log_probs([tiny_base_model], batches, 5)])
    assert rows.shape[0] == n_positions
    assert rows.tolist() == sorted(rows.tolist())  # in input order
    assert set(rows.tolist()) == set(range(sum(len(b["input_ids"]) for b in batches)))


class LargestTensor(TorchDispatchMode):
    """Records the largest tensor any torch operation allocates while active.

    Outputs that share an input's memory (a transposed weight, a slice) are skipped.
    """

    def __init__(self) -> None:
        super().__init__()
        self.largest = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        inputs = tree_flatten((args, kwargs or {}))[0]
        shared = {t.untyped_storage().data_ptr() for t in inputs if isinstance(t, torch.Tensor)}
        for value in tree_flatten(out)[0]:
            if isinstance(value, torch.Tensor):
                storage = value.untyped_storage()
                if storage.data_ptr() not in shared:
                    self.largest = max(self.largest, storage.nbytes())
        return out


@pytest.fixture(scope="module")
def large_vocab_models():
    """Two tiny Llamas with Llama 3's vocabulary size (128,256 tokens)."""
    config = LlamaConfig(
        vocab_size=LLAMA3_VOCAB,
        hidden_size=8,
        intermediate_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=64,
        tie_word_embeddings=True,
    )
    config._attn_implementation = "eager"
    torch.manual_seed(0)
    a = LlamaForCausalLM(config).eval()
    return a, _perturbed(a, scale=0.5)


def _large_vocab_batches(n_inputs: int = 6, length: int = 24) -> list[dict[str, torch.Tensor]]:
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(0, LLAMA3_VOCAB, (n_inputs, length), generator=generator)
    labels = ids.clone()
    labels[:, : length // 2] = -100  # the second half is the "response"
    batch = {"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": labels}
    return [{k: v[i : i + 3] for k, v in batch.items()} for i in range(0, n_inputs, 3)]


def test_memory_is_bounded_by_the_chunk_at_a_real_vocabulary(large_vocab_models) -> None:
    a, b = large_vocab_models
    batches = _large_vocab_batches()
    n_positions = sum(int((x["labels"][:, 1:] != -100).sum()) for x in batches)
    all_logits_bytes = n_positions * LLAMA3_VOCAB * 4
    chunk = 4
    with LargestTensor() as unchunked:
        full = logits_distance(response_logits(a, batches), response_logits(b, batches))
    with LargestTensor() as chunked:
        result = pairwise_distances({"a": a, "b": b}, [("a", "b")], batches, chunk)[("a", "b")]
    # No operation of the chunked computation made a tensor larger than one chunk's
    # float32 log-probs, while the full-logits path makes tensors of a whole batch.
    assert chunked.largest <= chunk * LLAMA3_VOCAB * 4
    assert unchunked.largest >= 3 * 23 * LLAMA3_VOCAB * 4
    assert chunked.largest * 10 < all_logits_bytes
    assert result["re_distance"] == pytest.approx(full["re_distance"], rel=1e-4)
    assert result["kl"] == pytest.approx(full["kl"], rel=1e-4)
