"""Chat formatting and tokenization with the loss on response tokens only."""

from __future__ import annotations

from collections.abc import Sequence

from transformers import PreTrainedTokenizerBase

IGNORE_INDEX = -100  # label value that torch's cross-entropy skips


def prompt_text(tokenizer: PreTrainedTokenizerBase, prompt: str) -> str:
    """The prompt as one user turn followed by the assistant's turn marker."""
    return tokenizer.apply_chat_template(
        [{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True
    )


def encode_pair(
    tokenizer: PreTrainedTokenizerBase, prompt: str, response: str, eos: bool = True
) -> dict[str, list[int]]:
    """Token ids of prompt + response + EOS, and labels masking the prompt.

    Args:
        tokenizer: Tokenizer with a chat template.
        prompt: The user turn.
        response: The assistant turn.
        eos: End the response with EOS. Off when scoring a response that is only
            the start of what the model was trained to say (the refusal label is
            followed by a reason in training, so EOS after it would dominate).

    Returns:
        ``input_ids`` and ``labels`` of equal length; labels are
        ``IGNORE_INDEX`` on the prompt, so a loss over them covers the response
        (and the end-of-sequence token) only.
    """
    prompt_ids = tokenizer(prompt_text(tokenizer, prompt), add_special_tokens=False)["input_ids"]
    response_ids = tokenizer(response, add_special_tokens=False)["input_ids"]
    if eos:
        response_ids = response_ids + [tokenizer.eos_token_id]
    return {
        "input_ids": prompt_ids + response_ids,
        "labels": [IGNORE_INDEX] * len(prompt_ids) + response_ids,
    }


def encode_records(
    tokenizer: PreTrainedTokenizerBase,
    prompts: Sequence[str],
    responses: Sequence[str],
    eos: bool = True,
) -> list[dict[str, list[int]]]:
    """``encode_pair`` over aligned prompt and response lists."""
    return [encode_pair(tokenizer, p, r, eos) for p, r in zip(prompts, responses, strict=True)]
