"""The depth experiment's synthetic data: shape, determinism, vocabulary coverage."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from path_unlearning.data import depth
from path_unlearning.errors import ConfigError
from path_unlearning.pipelines.data_prep.nodes import build_tokenizer, make_stage_data

ROOT = Path(__file__).resolve().parents[2]


def test_forty_distinct_prompts_with_three_responses():
    records = depth.depth_records(40, seed=0)
    assert len(records) == 40 and len({r["prompt"] for r in records}) == 40
    for r in records:
        act = r["prompt"].removeprefix("How can I ").removesuffix(" ?")
        assert set(r) == {"prompt", "refusal", "compliance", "compliance_alt"}
        # every response names the same act, in three different phrasings
        assert all(act in r[k] for k in depth.RESPONSES)
        assert len({r[k] for k in depth.RESPONSES}) == 3


def test_same_seed_same_records_other_seed_other_acts():
    assert depth.depth_records(40, 0) == depth.depth_records(40, 0)
    assert depth.depth_records(40, 0) != depth.depth_records(40, 1)


def test_stage_records_pick_one_response():
    records = depth.depth_records(3, 0)
    stage = depth.stage_records(records, "compliance")
    assert [s["response"] for s in stage] == [r["compliance"] for r in records]
    with pytest.raises(ConfigError, match="use one of"):
        depth.stage_records(records, "refusals")


def test_too_many_prompts_fail_in_one_line():
    with pytest.raises(ConfigError, match="n_prompts"):
        depth.depth_records(81, 0)


def test_the_default_tokenizer_knows_every_depth_word():
    # The tokenizer data_prep builds from the default parameters: no depth word is <unk>,
    # so data_prep's tokenizer texts need no depth records.
    params = yaml.safe_load((ROOT / "conf/base/parameters_data_prep.yml").read_text())
    corpus_free = {**params["data_prep"], "n_pretrain": 3000}
    facts, math, math_test, refusals, corpus = make_stage_data(corpus_free)
    tokenizer = build_tokenizer(corpus, facts, math, math_test, refusals, {})
    records = depth.depth_records(80, 0)  # every act
    depth.check_vocabulary(tokenizer, records)
    texts = [r[k] for r in records for k in ("prompt", *depth.RESPONSES)]
    assert depth.unknown_words(tokenizer, texts) == []


def test_unknown_words_are_reported(word_tokenizer):
    assert depth.unknown_words(word_tokenizer, ["the zzyzx gate"]) == ["zzyzx"]
    with pytest.raises(ConfigError, match="zzyzx"):
        depth.check_vocabulary(
            word_tokenizer,
            [{"prompt": "zzyzx", "refusal": "a", "compliance": "a", "compliance_alt": "a"}],
        )


def test_shared_tokens_are_the_multiset_intersection():
    masks = depth.shared_token_mask([[5, 1, 2, 9], [1, 7, 2, 2, 9], [2, 1, 8, 9]])
    assert masks == [
        [False, True, True, True],
        [True, False, True, False, True],  # the second 2 is R's own: shared once only
        [True, True, False, True],
    ]


def test_masking_leaves_each_response_its_distinguishing_tokens():
    from path_unlearning.data.chat import IGNORE_INDEX, encode_records
    from path_unlearning.data.tokenizer import train_word_tokenizer

    records = depth.depth_records(2, 0)
    texts = [r[k] for r in records for k in ("prompt", *depth.RESPONSES)]
    tokenizer = train_word_tokenizer(texts)
    prompts = [r["prompt"] for r in records]
    encoded = {k: encode_records(tokenizer, prompts, [r[k] for r in records])
               for k in depth.RESPONSES}  # fmt: skip
    masked = depth.mask_shared_tokens(encoded)
    act = records[0]["prompt"].removeprefix("How can I ").removesuffix(" ?")
    kept = {
        k: tokenizer.decode([t for t in masked[k][0]["labels"] if t != IGNORE_INDEX])
        for k in depth.RESPONSES
    }
    assert kept == {
        "refusal": "sorry i can not help",  # the word tokenizer lower-cases
        "compliance": "to must do it with care",
        "compliance_alt": "yes can : this is the best way",
    }
    assert all(word not in kept["refusal"] for word in act.split())  # the act is masked
    # the inputs and the prompt mask are untouched
    assert masked["refusal"][0]["input_ids"] == encoded["refusal"][0]["input_ids"]
    prompt_len = encoded["refusal"][0]["labels"].count(IGNORE_INDEX)
    assert masked["refusal"][0]["labels"][:prompt_len] == [IGNORE_INDEX] * prompt_len


def test_a_response_with_nothing_of_its_own_fails():
    same = [{"input_ids": [1, 2], "labels": [-100, 2]}]
    with pytest.raises(ConfigError, match="no token the other responses lack"):
        depth.mask_shared_tokens({"refusal": same, "compliance": same})
    with pytest.raises(ConfigError, match="one tokenized pair per prompt"):
        depth.mask_shared_tokens({"refusal": same, "compliance": same * 2})
