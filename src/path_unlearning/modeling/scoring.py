"""Batched scoring: log-likelihood of responses and next-token distributions.

One padded forward per batch of (prompt, response) pairs; no per-example loop.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from path_unlearning.data.chat import IGNORE_INDEX, encode_records
from path_unlearning.modeling.model import pad_batch


def response_logprobs(
    model: PreTrainedModel, batch: dict[str, torch.Tensor]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Summed log-prob of the labelled tokens of each row, and their count.

    Differentiable when called with grad enabled (the unlearning losses use it).

    Returns:
        ``(logp_sum [B], n_tokens [B])``.
    """
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    labels = batch["labels"][:, 1:]
    mask = labels != IGNORE_INDEX
    logp = torch.log_softmax(logits[:, :-1].float(), dim=-1)
    token_logp = logp.gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return (token_logp * mask).sum(-1), mask.sum(-1)


def encode_batches(
    tokenizer: PreTrainedTokenizerBase,
    prompts: Sequence[str],
    responses: Sequence[str],
    batch_size: int,
    eos: bool = True,
) -> list[dict[str, torch.Tensor]]:
    """Tokenize (prompt, response) pairs once into padded batches, in order."""
    examples = encode_records(tokenizer, prompts, responses, eos)
    return [
        pad_batch(examples[i : i + batch_size], tokenizer.pad_token_id)
        for i in range(0, len(examples), batch_size)
    ]


@torch.no_grad()
def score_batches(
    model: PreTrainedModel, batches: list[dict[str, torch.Tensor]]
) -> tuple[torch.Tensor, torch.Tensor]:
    """``response_logprobs`` over pre-encoded batches: ``(logp_sum [N], n_tokens [N])``."""
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    sums, counts = [], []
    for batch in batches:
        s, n = response_logprobs(model, {k: v.to(device) for k, v in batch.items()})
        sums.append(s.cpu())
        counts.append(n.cpu())
    model.train(was_training)
    return torch.cat(sums), torch.cat(counts)


def mean_loglik(model: PreTrainedModel, batches: list[dict[str, torch.Tensor]]) -> dict[str, float]:
    """Mean response log-likelihood: summed per response, and per token."""
    sums, counts = score_batches(model, batches)
    return {"sum": sums.mean().item(), "per_token": (sums.sum() / counts.sum()).item()}


@torch.no_grad()
def response_logits(
    model: PreTrainedModel, batches: list[dict[str, torch.Tensor]]
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Next-token logits at each response position, with the response mask, per batch.

    Position t's logits predict token t+1, so the mask marks positions whose
    next token is a response token.
    """
    device = next(model.parameters()).device
    model.eval()
    out = []
    for batch in batches:
        logits = model(
            input_ids=batch["input_ids"].to(device),
            attention_mask=batch["attention_mask"].to(device),
        ).logits
        out.append((logits[:, :-1].float().cpu(), batch["labels"][:, 1:] != IGNORE_INDEX))
    return out
