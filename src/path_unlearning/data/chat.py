"""Chat formatting and tokenization with the loss on response tokens only.

The paper formats every example with the chat template of the model's *instruct*
tokenizer, also when fine-tuning the base weights. The labels are built from the
template itself: the prompt is rendered with the generation prompt, the whole
conversation is rendered, and the first rendering must be a token prefix of the
second. The tokens after it (the response and the end-of-turn token) are the
labels. Tokenizing prompt and response apart would not do for BPE tokenizers,
whose merges across the boundary differ from the full rendering.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from transformers import PreTrainedTokenizerBase

from path_unlearning.errors import ConfigError

IGNORE_INDEX = -100  # label value that torch's cross-entropy skips

# Variables passed to every chat template. Llama 3 templates put today's date in
# their default system turn (``strftime_now``); a fixed date keeps the token ids,
# and so the training-cache fingerprints, the same on every day.
TEMPLATE_VARIABLES = {"date_string": "26 Jul 2024"}

_PROBE = "\u2063probe\u2063"  # response text that cannot occur in a real template


class ChatTemplateError(ConfigError):
    """The tokenizer's chat template cannot separate the prompt from the response."""


def _render(
    tokenizer: PreTrainedTokenizerBase,
    messages: list[dict[str, str]],
    add_generation_prompt: bool,
) -> str:
    if not tokenizer.chat_template:
        raise ChatTemplateError(
            f"tokenizer {tokenizer.name_or_path!r} has no chat template: "
            "use the instruct model's tokenizer (data_prep.hub.tokenizer)"
        )
    return tokenizer.apply_chat_template(
        messages,
        tokenize=False,
        add_generation_prompt=add_generation_prompt,
        **TEMPLATE_VARIABLES,
    )


def prompt_text(tokenizer: PreTrainedTokenizerBase, prompt: str) -> str:
    """The prompt as one user turn followed by the assistant's turn marker."""
    return _render(tokenizer, [{"role": "user", "content": prompt}], True)


def conversation_text(tokenizer: PreTrainedTokenizerBase, prompt: str, response: str) -> str:
    """A user turn and the assistant's complete answer, as the template renders them."""
    messages = [{"role": "user", "content": prompt}, {"role": "assistant", "content": response}]
    return _render(tokenizer, messages, False)


def end_of_turn_id(tokenizer: PreTrainedTokenizerBase) -> int:
    """The token that closes an assistant turn: labelled in training, the stop token in generation.

    It is the first special token the template writes after the assistant's text
    (``<|eot_id|>`` for Llama 3, ``<|im_end|>`` for Qwen 2.5, ``</s>`` for the tiny
    default). A template that closes the turn with plain text only gets the
    tokenizer's EOS token appended.
    """
    full = conversation_text(tokenizer, "x", _PROBE)
    suffix = full[full.rindex(_PROBE) + len(_PROBE) :]
    special = set(tokenizer.all_special_ids)
    for token in tokenizer(suffix, add_special_tokens=False)["input_ids"]:
        if token in special:
            return token
    if tokenizer.eos_token_id is None:
        raise ChatTemplateError(
            f"tokenizer {tokenizer.name_or_path!r}: its chat template ends assistant turns "
            "without a special token and it has no EOS token"
        )
    return tokenizer.eos_token_id


# End-of-text and end-of-turn markers of the common model families. A base model
# fine-tuned with an instruct template may still end an answer with its own marker
# (Llama 3's <|end_of_text|> or <|eom_id|>, Qwen's <|endoftext|>) instead of the
# template's end of turn; generation stops at any of them the vocabulary holds.
END_MARKERS = (
    "<|end_of_text|>", "<|eom_id|>", "<|eot_id|>", "<|endoftext|>", "<|im_end|>",
    "<|end|>", "<end_of_turn>", "</s>",
)  # fmt: skip


def stop_token_ids(
    tokenizer: PreTrainedTokenizerBase, generation_config: Any | None = None
) -> list[int]:
    """Token ids that end a generated answer.

    The template's end-of-turn token, the tokenizer's EOS, every id of
    ``END_MARKERS`` among the added tokens, and the model generation config's
    ``eos_token_id`` (one id or a list), except a config id that is the
    tokenizer's BOS or padding token (a randomly initialised model's config
    keeps transformers' default ids, which name no end token).

    Args:
        tokenizer: The chat tokenizer.
        generation_config: The model's ``generation_config``, if any.
    """
    ids = {end_of_turn_id(tokenizer), tokenizer.eos_token_id}
    added = tokenizer.added_tokens_encoder  # special tokens, not text that spells one
    ids |= {added[marker] for marker in END_MARKERS if marker in added}
    named = getattr(generation_config, "eos_token_id", None)
    named = [named] if isinstance(named, int) else list(named or [])
    not_ends = {tokenizer.bos_token_id, tokenizer.pad_token_id}
    ids |= {i for i in named if i not in not_ends and 0 <= i < len(tokenizer)}
    return sorted(i for i in ids if i is not None)


def _labelled_tail(
    prompt_ids: list[int], full_ids: list[int], eot: int, eos: bool, prompt: str
) -> list[int]:
    n = len(prompt_ids)
    if full_ids[:n] != prompt_ids:
        raise ChatTemplateError(
            "chat template: the prompt rendered with the generation prompt is not a token "
            f"prefix of the rendered conversation (prompt {prompt[:40]!r}); cannot mask the prompt"
        )
    tail = full_ids[n:]
    # Drop what the template writes after the end-of-turn token (Qwen's newline):
    # the model never has to predict past the end of its answer.
    if eot in tail:
        tail = tail[: len(tail) - 1 - tail[::-1].index(eot)]
    return tail + [eot] if eos else tail


def encode_records(
    tokenizer: PreTrainedTokenizerBase,
    prompts: Sequence[str],
    responses: Sequence[str],
    eos: bool = True,
) -> list[dict[str, list[int]]]:
    """Token ids of each chat-formatted pair, and labels masking the prompt.

    Args:
        tokenizer: Tokenizer with a chat template.
        prompts: The user turns.
        responses: The assistant turns, aligned with ``prompts``.
        eos: End each response with the end-of-turn token (labelled). Off when
            scoring a response that is only the start of what the model was
            trained to say (the refusal label is followed by a reason in
            training, so the end of turn after it would dominate).

    Returns:
        Per pair, ``input_ids`` and ``labels`` of equal length; labels are
        ``IGNORE_INDEX`` on the prompt.

    Raises:
        ChatTemplateError: If the template renders the prompt differently when
            the answer follows it.
        ValueError: If the lists differ in length.
    """
    prompts, responses = list(prompts), list(responses)
    if len(prompts) != len(responses):
        raise ValueError(f"{len(prompts)} prompts but {len(responses)} responses")
    if not prompts:
        return []
    eot = end_of_turn_id(tokenizer)
    prompt_texts = [prompt_text(tokenizer, p) for p in prompts]
    full_texts = [
        conversation_text(tokenizer, p, r) for p, r in zip(prompts, responses, strict=True)
    ]
    prompt_ids = tokenizer(prompt_texts, add_special_tokens=False)["input_ids"]
    full_ids = tokenizer(full_texts, add_special_tokens=False)["input_ids"]
    examples = []
    for p_ids, f_ids, prompt in zip(prompt_ids, full_ids, prompts, strict=True):
        tail = _labelled_tail(list(p_ids), list(f_ids), eot, eos, prompt)
        examples.append(
            {"input_ids": list(p_ids) + tail, "labels": [IGNORE_INDEX] * len(p_ids) + tail}
        )
    return examples


def encode_pair(
    tokenizer: PreTrainedTokenizerBase, prompt: str, response: str, eos: bool = True
) -> dict[str, list[int]]:
    """``encode_records`` for one (prompt, response) pair."""
    return encode_records(tokenizer, [prompt], [response], eos)[0]
