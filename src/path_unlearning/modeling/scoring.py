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
    model = to_inference_device(model)
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


# --- memory-safe comparison of next-token distributions -------------------------
#
# At a real vocabulary (128k tokens) the logits of a whole evaluation set do not fit
# in memory: 128 prompts x 300 positions x 128k x 4 bytes is 20 GB. The comparison
# below keeps, per batch, only the final hidden states at response positions, and
# projects them to the vocabulary a chunk of positions at a time, for every model at
# once, so no more than ``chunk_positions x vocabulary`` values per model exist.

CHUNK_POSITIONS = 1024


def inference_device() -> torch.device:
    """The device accelerate chose for this process (a GPU if there is one)."""
    from accelerate import PartialState  # noqa: PLC0415 - initialises distributed state

    return PartialState().device


def to_inference_device(model: PreTrainedModel) -> PreTrainedModel:
    """Move ``model`` to the inference device if it is elsewhere (in place)."""
    device = inference_device()
    if next(model.parameters()).device != device:
        model.to(device)
    return model


def _decoder_and_head(model: PreTrainedModel):
    """The transformer trunk and the output projection, or ``None`` if the model
    post-processes its logits (soft-capping, scaling) and must run whole."""
    config = getattr(model, "config", None)
    if getattr(config, "final_logit_softcapping", None) or getattr(config, "logit_scale", None):
        return None
    get_decoder = getattr(model, "get_decoder", None)
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    decoder = get_decoder() if callable(get_decoder) else None
    if decoder is None or head is None:
        return None
    return decoder, head


@torch.no_grad()
def response_states(
    model: PreTrainedModel, batch: dict[str, torch.Tensor]
) -> tuple[torch.Tensor, torch.Tensor, torch.nn.Module | None]:
    """Final hidden states at the positions that predict a response token.

    Returns:
        ``(states [N, H], rows [N], head)``: the states in batch order, the batch
        row of each, and the output projection to apply (``None`` when the
        states already are logits, for models that must run whole).
    """
    device = next(model.parameters()).device
    ids = batch["input_ids"].to(device)
    attention = batch["attention_mask"].to(device)
    # Position t predicts token t + 1: keep positions whose next token is labelled.
    mask = (batch["labels"][:, 1:] != IGNORE_INDEX).to(device)
    parts = _decoder_and_head(model)
    if parts is None:
        states = model(input_ids=ids, attention_mask=attention).logits[:, :-1]
        head = None
    else:
        decoder, head = parts
        states = decoder(input_ids=ids, attention_mask=attention).last_hidden_state[:, :-1]
    rows = torch.arange(ids.shape[0], device=device).unsqueeze(1).expand_as(mask)
    return states[mask], rows[mask], head


@torch.no_grad()
def chunked_log_probs(
    models: Sequence[PreTrainedModel],
    batches: list[dict[str, torch.Tensor]],
    chunk_positions: int = CHUNK_POSITIONS,
):
    """Yield, chunk by chunk, every model's next-token log-probs at the same positions.

    Args:
        models: Models scored on the same inputs (their vocabularies must agree).
        batches: Pre-encoded batches (``encode_batches``).
        chunk_positions: Response positions per chunk; bounds the memory to about
            ``len(models) x chunk_positions x vocabulary`` floats.

    Yields:
        ``(log_probs, rows)``: a list with one ``[C, V]`` float32 tensor per model,
        and the index of each position's input in the whole set (``[C]``).
    """
    if chunk_positions < 1:
        raise ValueError(f"chunk_positions must be >= 1, got {chunk_positions}")
    models = [to_inference_device(m) for m in models]
    was_training = [m.training for m in models]
    for m in models:
        m.eval()
    offset = 0
    try:
        for batch in batches:
            states = [response_states(m, batch) for m in models]
            rows = states[0][1].cpu() + offset
            offset += batch["input_ids"].shape[0]
            for start in range(0, rows.shape[0], chunk_positions):
                end = start + chunk_positions
                log_probs = []
                for h, _, head in states:
                    logits = h[start:end] if head is None else head(h[start:end])
                    log_probs.append(torch.log_softmax(logits.float(), dim=-1))
                yield log_probs, rows[start:end]
    finally:
        for m, training in zip(models, was_training, strict=True):
            m.train(training)
