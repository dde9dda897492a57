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
