"""Response-only labels from real-format chat templates (Llama 3 and Qwen 2.5 style)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from path_unlearning.data.chat import (
    IGNORE_INDEX,
    ChatTemplateError,
    conversation_text,
    encode_pair,
    encode_records,
    end_of_turn_id,
    prompt_text,
    stop_token_ids,
)
from path_unlearning.data.tokenizer import load_chat_tokenizer

MODEL = Path(__file__).resolve().parents[1] / "fixtures" / "paper" / "model"

# Qwen 2.5's layout: <|im_start|>role\n...<|im_end|>\n, a default system turn.
QWEN_STYLE_TEMPLATE = (
    "{%- if messages[0]['role'] != 'system' %}"
    "{{- '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{%- endif %}"
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)
PAIRS = [
    ("Where was Ada Vale born?", "Ada Vale was born in the coastal town of Karsk."),
    ("Solve 12 + 30.", "12 + 30 = 42\n####\n42"),
    ("  Leading and trailing spaces  ", " Sorry, I can not assist you with this question. "),
]


@pytest.fixture(scope="module")
def llama3_style():
    """The fixture's instruct tokenizer: Llama 3 special tokens and template layout."""
    return load_chat_tokenizer(str(MODEL))


@pytest.fixture(scope="module")
def qwen_style(llama3_style):
    tokenizer = copy.deepcopy(llama3_style)
    tokenizer.add_special_tokens({"additional_special_tokens": ["<|im_start|>", "<|im_end|>"]})
    tokenizer.eos_token = "<|im_end|>"
    tokenizer.chat_template = QWEN_STYLE_TEMPLATE
    return tokenizer


def test_llama3_template_has_a_fixed_date_and_header_markers(llama3_style) -> None:
    text = prompt_text(llama3_style, "Hi")
    assert text.startswith("<|begin_of_text|><|start_header_id|>system<|end_header_id|>")
    assert "Today Date: 26 Jul 2024" in text  # not the clock's date
    assert text.endswith("<|start_header_id|>assistant<|end_header_id|>\n\n")
    assert llama3_style.convert_ids_to_tokens(end_of_turn_id(llama3_style)) == "<|eot_id|>"


@pytest.mark.parametrize(("prompt", "response"), PAIRS)
def test_labels_are_the_rendered_response_and_end_of_turn(llama3_style, prompt, response) -> None:
    encoded = encode_pair(llama3_style, prompt, response)
    ids, labels = encoded["input_ids"], encoded["labels"]
    prompt_ids = llama3_style(prompt_text(llama3_style, prompt), add_special_tokens=False)
    n = len(prompt_ids["input_ids"])
    assert ids[:n] == prompt_ids["input_ids"]
    assert labels[:n] == [IGNORE_INDEX] * n
    assert labels[n:] == ids[n:] and IGNORE_INDEX not in labels[n:]
    # the ids are exactly the template's rendering of the whole conversation
    full = llama3_style(conversation_text(llama3_style, prompt, response), add_special_tokens=False)
    assert ids == full["input_ids"]
    assert llama3_style.convert_ids_to_tokens(labels[-1]) == "<|eot_id|>"
    assert llama3_style.decode(labels[n:-1]) == response.strip()  # the template trims
    assert llama3_style.bos_token_id not in labels[n:]
    assert ids.count(llama3_style.bos_token_id) == 1  # no second BOS from tokenization


def test_prefix_probes_have_no_end_of_turn(llama3_style) -> None:
    encoded = encode_pair(
        llama3_style, "How do I pick a lock?", "Sorry, I can not assist you", False
    )
    labelled = [t for t in encoded["labels"] if t != IGNORE_INDEX]
    assert end_of_turn_id(llama3_style) not in labelled
    assert llama3_style.decode(labelled) == "Sorry, I can not assist you"


def test_qwen_style_drops_the_newline_after_the_end_of_turn(qwen_style) -> None:
    encoded = encode_pair(qwen_style, "Hi there", "Hello!")
    labelled = [t for t in encoded["labels"] if t != IGNORE_INDEX]
    assert qwen_style.convert_ids_to_tokens(labelled[-1]) == "<|im_end|>"
    assert qwen_style.decode(labelled) == "Hello!<|im_end|>"
    full = qwen_style(conversation_text(qwen_style, "Hi there", "Hello!"), add_special_tokens=False)
    assert encoded["input_ids"] == full["input_ids"][: len(encoded["input_ids"])]
    assert qwen_style.decode(full["input_ids"][len(encoded["input_ids"]) :]) == "\n"


def test_stop_tokens_are_end_of_turn_and_eos(llama3_style, qwen_style) -> None:
    names = llama3_style.convert_ids_to_tokens(stop_token_ids(llama3_style))
    # The instruct tokenizer's EOS is the end of turn; the base model's end of text too.
    assert names == ["<|end_of_text|>", "<|eot_id|>"]
    assert "<|im_end|>" in qwen_style.convert_ids_to_tokens(stop_token_ids(qwen_style))


def test_batched_encoding_equals_one_by_one(llama3_style) -> None:
    prompts, responses = zip(*PAIRS, strict=True)
    batched = encode_records(llama3_style, prompts, responses)
    assert batched == [encode_pair(llama3_style, p, r) for p, r in PAIRS]


def test_template_whose_prompt_is_not_a_prefix_is_rejected(llama3_style) -> None:
    tokenizer = copy.deepcopy(llama3_style)
    # The generation prompt says "ASSISTANT:", the rendered turn "Assistant:".
    tokenizer.chat_template = (
        "{%- for m in messages %}"
        "{%- if m['role'] == 'user' %}{{ 'User: ' + m['content'] + '\\n' }}"
        "{%- else %}{{ 'Assistant: ' + m['content'] + '<|eot_id|>' }}{%- endif %}"
        "{%- endfor %}{%- if add_generation_prompt %}{{ 'ASSISTANT:' }}{%- endif %}"
    )
    with pytest.raises(ChatTemplateError, match="not a token prefix") as info:
        encode_pair(tokenizer, "Hi", "Hello")
    assert "\n" not in str(info.value)


def test_tokenizer_without_template_is_a_clear_error(llama3_style) -> None:
    tokenizer = copy.deepcopy(llama3_style)
    tokenizer.chat_template = None
    with pytest.raises(ChatTemplateError, match="no chat template"):
        prompt_text(tokenizer, "Hi")
