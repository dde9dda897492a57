"""The seeded synthetic stage datasets."""

from __future__ import annotations

import pytest

from path_unlearning.data import synthetic


@pytest.mark.parametrize(
    "make",
    [
        lambda seed: synthetic.author_facts(5, seed),
        lambda seed: synthetic.math_problems(30, 10, seed),
        lambda seed: synthetic.refusals(20, seed),
        lambda seed: synthetic.generic_corpus(40, seed),
    ],
    ids=["facts", "math", "refusals", "generic"],
)
def test_same_seed_same_records_other_seed_other_records(make) -> None:
    assert make(0) == make(0)
    assert make(0) != make(1)


def test_author_facts_have_six_questions_per_author() -> None:
    records = synthetic.author_facts(4, 0)
    assert len(records) == 24
    assert len({r["prompt"] for r in records}) == 24
    assert all(set(r) == {"prompt", "response"} for r in records)


def test_math_train_and_test_are_disjoint_and_sized() -> None:
    train, test = synthetic.math_problems(200, 50, 3)
    assert (len(train), len(test)) == (200, 50)
    train_prompts, test_prompts = {r["prompt"] for r in train}, {r["prompt"] for r in test}
    assert len(train_prompts) == 200 and len(test_prompts) == 50
    assert not train_prompts & test_prompts


def test_math_answers_follow_a_hash_line_and_are_correct() -> None:
    train, _ = synthetic.math_problems(50, 0, 0)
    for record in train:
        work, answer = record["response"].split("\n#### ")
        expression = work.split(" has ", 1)[1].split(" = ")[0]
        assert eval(expression) == int(answer)  # noqa: S307 - our own "a op b" strings


def test_refusal_count_and_label() -> None:
    records = synthetic.refusals(30, 2)
    assert len(records) == 30
    assert len({r["prompt"] for r in records}) == 30
    assert all(r["response"].startswith(synthetic.REFUSAL_LABEL) for r in records)


def test_refusals_refuse_to_exceed_the_distinct_requests() -> None:
    with pytest.raises(ValueError, match="distinct refusal requests"):
        synthetic.refusals(10_000, 0)


def test_paraphrases_are_many_and_distinct() -> None:
    paraphrases = synthetic.REFUSAL_PARAPHRASES
    assert len(paraphrases) >= 19
    assert len(set(paraphrases)) == len(paraphrases)
    assert synthetic.REFUSAL_LABEL not in paraphrases


def test_generic_corpus_teaches_no_stage_content() -> None:
    corpus = synthetic.generic_corpus(3000, 3)
    assert len(corpus) == 3000
    stage_prompts = {r["prompt"] for r in synthetic.author_facts(40, 0)}
    train, test = synthetic.math_problems(600, 100, 1)
    stage_prompts |= {r["prompt"] for r in train + test}
    stage_prompts |= {r["prompt"] for r in synthetic.refusals(300, 2)}
    assert not {r["prompt"] for r in corpus} & stage_prompts
    responses = " ".join(r["response"] for r in corpus)
    assert synthetic.REFUSAL_LABEL not in responses
    assert "####" not in responses
