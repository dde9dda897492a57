"""A word-level tokenizer trained locally, saved as a transformers fast tokenizer."""

from __future__ import annotations

import json
from collections.abc import Iterable

from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers
from transformers import AutoTokenizer, PreTrainedTokenizerBase, PreTrainedTokenizerFast

from path_unlearning.data.chat import ChatTemplateError, end_of_turn_id
from path_unlearning.data.hub import HubAccessError, is_gated

# Llama-style special tokens; the chat template puts a role marker before each
# turn and ends every assistant turn with the end-of-sequence token, which the
# model must learn to emit (it is part of the response loss).
SPECIAL_TOKENS = ["<pad>", "<unk>", "<s>", "</s>", "<|user|>", "<|assistant|>"]
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] == 'user' %}<|user|> {{ message['content'] }} "
    "{% else %}<|assistant|> {{ message['content'] }}</s>{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def train_word_tokenizer(texts: Iterable[str]) -> PreTrainedTokenizerFast:
    """Train a lower-cased word-level tokenizer with a chat template.

    Words and runs of punctuation are single tokens, so numbers up to 99 are one
    token each: the tiny model learns arithmetic facts as a lookup, which is
    what makes the math stage learnable on a CPU in seconds.
    """
    tokenizer = Tokenizer(models.WordLevel(unk_token="<unk>"))
    tokenizer.normalizer = normalizers.Lowercase()
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    trainer = trainers.WordLevelTrainer(special_tokens=SPECIAL_TOKENS, min_frequency=1)
    tokenizer.train_from_iterator(texts, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        pad_token="<pad>",
        unk_token="<unk>",
        bos_token="<s>",
        eos_token="</s>",
        additional_special_tokens=["<|user|>", "<|assistant|>"],
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


# Padding tokens to prefer when a tokenizer has none: Llama 3's reserved fine-tuning
# pad token. Padding is masked out of attention and labels, so EOS works too, but a
# dedicated token keeps padded rows easy to read.
_PAD_CANDIDATES = ("<|finetune_right_pad_id|>", "<|pad|>", "<pad>")


def with_system_prompt(template: str, system_prompt: str) -> str:
    """A chat template that opens every conversation without a system turn with one.

    The prefix rebinds ``messages`` before the template runs, so the template
    renders the system turn its own way (and skips its default one, Qwen's
    "You are Qwen, ..."). Saved with the tokenizer, it formats every example the
    same way in training, scoring and generation.
    """
    literal = json.dumps(system_prompt)  # a valid Jinja string literal
    prefix = (
        "{%- if messages and messages[0]['role'] != 'system' %}"
        "{%- set messages = [{'role': 'system', 'content': " + literal + "}] + messages %}"
        "{%- endif %}"
    )
    return prefix + template


def load_chat_tokenizer(
    name_or_path: str,
    trust_remote_code: bool = False,
    pad_token: str | None = None,
    system_prompt: str | None = None,
) -> PreTrainedTokenizerBase:
    """The instruct tokenizer whose chat template formats every example.

    Args:
        name_or_path: Hub id (``meta-llama/Llama-3.2-1B-Instruct``) or local folder.
        trust_remote_code: Allow custom tokenizer code (off unless configured).
        pad_token: Padding token to set; ``None`` keeps the tokenizer's, or picks
            a reserved token, or falls back to EOS.
        system_prompt: System turn for every conversation (the paper's code:
            "You are a helpful assistant."); ``None`` keeps the template's default.

    Raises:
        HubAccessError: Gated model without access, or the Hub is unreachable.
        ChatTemplateError: The tokenizer has no usable chat template.
    """
    try:
        tokenizer = AutoTokenizer.from_pretrained(name_or_path, trust_remote_code=trust_remote_code)
    except OSError as error:
        if is_gated(error):
            raise HubAccessError(
                f"{name_or_path} is gated: accept its license on its Hub page, then log in "
                "with your own token (`hf auth login`) or set HF_TOKEN"
            ) from error
        raise HubAccessError(
            f"cannot load tokenizer {name_or_path!r}: {str(error).strip().splitlines()[0]}"
        ) from error
    vocab = tokenizer.get_vocab()
    if pad_token is not None:
        if pad_token not in vocab:
            raise ChatTemplateError(
                f"pad_token {pad_token!r} is not in {name_or_path}'s vocabulary"
            )
        tokenizer.pad_token = pad_token
    elif tokenizer.pad_token is None:
        tokenizer.pad_token = next((t for t in _PAD_CANDIDATES if t in vocab), tokenizer.eos_token)
    if system_prompt is not None and tokenizer.chat_template is not None:
        if not isinstance(tokenizer.chat_template, str):
            raise ChatTemplateError(
                f"{name_or_path} has several named chat templates; a system_prompt "
                "needs one template (set data_prep.hub.system_prompt: null)"
            )
        tokenizer.chat_template = with_system_prompt(tokenizer.chat_template, system_prompt)
    end_of_turn_id(tokenizer)  # fails now, in one line, if the template is unusable
    return tokenizer
