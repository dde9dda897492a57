"""Batched generation with left padding and the KV cache."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from path_unlearning.data.chat import prompt_text


@torch.no_grad()
def generate_responses(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    prompts: Sequence[str],
    max_new_tokens: int = 32,
    batch_size: int = 64,
    num_samples: int = 1,
    temperature: float = 0.0,
    seed: int = 0,
) -> list[list[str]]:
    """Responses to each prompt: greedy when ``temperature`` is 0, else sampled.

    Returns:
        For each prompt, ``num_samples`` decoded responses.
    """
    device = next(model.parameters()).device
    model.eval()
    side = tokenizer.padding_side
    tokenizer.padding_side = "left"  # generation appends on the right
    torch.manual_seed(seed)
    sampling = temperature > 0
    results: list[list[str]] = []
    try:
        for start in range(0, len(prompts), batch_size):
            chunk = [prompt_text(tokenizer, p) for p in prompts[start : start + batch_size]]
            enc = tokenizer(chunk, add_special_tokens=False, padding=True, return_tensors="pt")
            out = model.generate(
                **enc.to(device),
                max_new_tokens=max_new_tokens,
                do_sample=sampling,
                temperature=temperature if sampling else None,
                top_p=None,
                top_k=None,
                num_return_sequences=num_samples,
                pad_token_id=tokenizer.pad_token_id,
                eos_token_id=tokenizer.eos_token_id,
                use_cache=True,
            )
            texts = tokenizer.batch_decode(
                out[:, enc["input_ids"].shape[1] :], skip_special_tokens=True
            )
            results += [texts[i : i + num_samples] for i in range(0, len(texts), num_samples)]
    finally:
        tokenizer.padding_side = side
    return results
