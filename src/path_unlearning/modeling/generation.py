"""Batched generation with left padding and the KV cache.

Prompts are chat-formatted with the instruct template, sorted by length so a
batch pads little, generated ``num_samples`` times each in one ``generate`` call,
and stopped at the first end token (the template's end of turn, ``<|eot_id|>`` for
Llama 3, EOS, the base model's own ``<|end_of_text|>``, see ``stop_token_ids``), at
most ``max_new_tokens`` tokens.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from path_unlearning.data.chat import prompt_text, stop_token_ids
from path_unlearning.modeling.scoring import to_inference_device


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

    Args:
        model: A causal LM (moved to the inference device).
        tokenizer: Its tokenizer, with the chat template.
        prompts: User turns.
        max_new_tokens: Cap on each response's length.
        batch_size: Prompts per ``generate`` call (each gives ``num_samples`` rows).
        num_samples: Responses per prompt (the paper samples 5 per GSM8K question).
        temperature: Sampling temperature; 0 is greedy.
        seed: Seed of the sampling.

    Returns:
        For each prompt, in the input order, ``num_samples`` decoded responses.
    """
    model = to_inference_device(model)
    device = next(model.parameters()).device
    model.eval()
    side = tokenizer.padding_side
    tokenizer.padding_side = "left"  # generation appends on the right
    torch.manual_seed(seed)
    sampling = temperature > 0
    stop = stop_token_ids(tokenizer, getattr(model, "generation_config", None))
    texts = [prompt_text(tokenizer, p) for p in prompts]
    lengths = [len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]]
    # Longest first: similar lengths share a batch (little padding), and an
    # out-of-memory error shows up in the first batch rather than the last.
    order = sorted(range(len(texts)), key=lambda i: -lengths[i])
    results: list[list[str]] = [[] for _ in texts]
    try:
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            enc = tokenizer(
                [texts[i] for i in chunk],
                add_special_tokens=False,
                padding=True,
                return_tensors="pt",
            )
            out = model.generate(
                **enc.to(device),
                max_new_tokens=max_new_tokens,
                do_sample=sampling,
                temperature=temperature if sampling else None,
                top_p=None,
                top_k=None,
                num_return_sequences=num_samples,
                pad_token_id=tokenizer.pad_token_id,
                eos_token_id=stop,
                use_cache=True,
            )
            decoded = tokenizer.batch_decode(
                out[:, enc["input_ids"].shape[1] :], skip_special_tokens=True
            )
            for j, i in enumerate(chunk):
                results[i] = decoded[j * num_samples : (j + 1) * num_samples]
    finally:
        tokenizer.padding_side = side
    return results
