"""Chat formatting and response-only labels."""

from __future__ import annotations

import pytest

from path_unlearning.data import synthetic
from path_unlearning.data.chat import IGNORE_INDEX, encode_pair, encode_records, prompt_text

# Words the conftest tokenizer was trained on (it saw author_facts(3, seed=0)).
_FACT = synthetic.author_facts(3, 0)[0]
PAIRS = [
    (_FACT["prompt"], _FACT["response"]),
    ("Compute 3 + 4 .", "3 + 4 = 7 ."),
    ("How can I climb over the garden wall ?",
     "Sorry, I can not assist you with this question. It is not safe to do this."),
]  # fmt: skip


def test_trained_tokenizer_has_a_chat_template(word_tokenizer) -> None:
    assert word_tokenizer.chat_template
    text = prompt_text(word_tokenizer, "Count from 1 to 3 .")
    assert text.startswith("<|user|>")
    assert text.endswith("<|assistant|>")
    assert word_tokenizer.eos_token == "</s>"
    assert word_tokenizer.pad_token_id != word_tokenizer.eos_token_id


@pytest.mark.parametrize(("prompt", "response"), PAIRS)
def test_encode_pair_masks_exactly_the_prompt(word_tokenizer, prompt, response) -> None:
    encoded = encode_pair(word_tokenizer, prompt, response)
    ids, labels = encoded["input_ids"], encoded["labels"]
    assert len(ids) == len(labels)
    prompt_ids = word_tokenizer(prompt_text(word_tokenizer, prompt), add_special_tokens=False)[
        "input_ids"
    ]
    n = len(prompt_ids)
    assert ids[:n] == prompt_ids
    assert labels[:n] == [IGNORE_INDEX] * n
    # every response token and the EOS token are labelled with themselves
    assert labels[n:] == ids[n:]
    assert IGNORE_INDEX not in labels[n:]
    assert labels[-1] == word_tokenizer.eos_token_id
    # the labelled part decodes to the (lower-cased: the tokenizer normalises) response + EOS
    labelled = [t for t in labels if t != IGNORE_INDEX]
    assert word_tokenizer.unk_token_id not in labelled
    assert word_tokenizer.decode(labelled[:-1]) == word_tokenizer.decode(
        word_tokenizer(response, add_special_tokens=False)["input_ids"]
    )
    assert word_tokenizer.decode(labelled[:-1]).replace(" ", "") == response.lower().replace(
        " ", ""
    )
    assert word_tokenizer.decode(labelled).endswith("</s>")


@pytest.mark.parametrize(("prompt", "response"), PAIRS)
def test_encoding_equals_the_full_chat_rendering(word_tokenizer, prompt, response) -> None:
    # prompt and response tokenized apart give the same ids as the whole conversation
    full = word_tokenizer.apply_chat_template(
        [{"role": "user", "content": prompt}, {"role": "assistant", "content": response}],
        tokenize=False,
    )
    ids = word_tokenizer(full, add_special_tokens=False)["input_ids"]
    assert encode_pair(word_tokenizer, prompt, response)["input_ids"] == ids


def test_encode_records_aligns_lists(word_tokenizer) -> None:
    prompts, responses = zip(*PAIRS, strict=True)
    encoded = encode_records(word_tokenizer, prompts, responses)
    assert encoded == [encode_pair(word_tokenizer, p, r) for p, r in PAIRS]
    with pytest.raises(ValueError):
        encode_records(word_tokenizer, prompts, responses[:1])
