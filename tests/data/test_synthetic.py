"""The seeded synthetic stage datasets."""

from __future__ import annotations

from itertools import product

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


def _stage_and_eval_prompts() -> set[str]:
    """Every prompt of the default stage datasets and of the held-out evaluation pools."""
    prompts = {r["prompt"] for r in synthetic.author_facts(80, 0)}
    prompts |= {r["prompt"] for r in synthetic.author_facts(80, 5)}  # generic-eval authors
    train, test = synthetic.math_problems(600, 100, 1)
    prompts |= {r["prompt"] for r in train + test}
    return prompts | {r["prompt"] for r in synthetic.refusals(320, 2)}


def test_generic_corpus_teaches_no_stage_content() -> None:
    corpus = synthetic.generic_corpus(3000, 3)
    assert len(corpus) == 3000
    assert not {r["prompt"] for r in corpus} & _stage_and_eval_prompts()
    responses = " ".join(r["response"] for r in corpus)
    assert synthetic.REFUSAL_LABEL not in responses
    assert not any(p in responses for p in synthetic.REFUSAL_PARAPHRASES)
    # No stage-A author, stage-B person or item, or stage-C request word occurs.
    # (Echo exchanges repeat random vocabulary words, which may pair two name parts.)
    said = [r for r in corpus if not r["prompt"].startswith("Repeat :")]
    text = " ".join(r["prompt"] + " " + r["response"] for r in said)
    stage_names = {f"{f} {s}" for f, s in product(synthetic._FIRST, synthetic._LAST)}
    assert not any(name in text for name in stage_names)
    math_prompts = [r["prompt"] for r in corpus if "How many" in r["prompt"]]
    assert math_prompts
    assert not {w for p in math_prompts for w in p.split()} & set(synthetic._PEOPLE)
    assert not {w for p in math_prompts for w in p.split()} & set(synthetic._ITEMS)


def test_generic_corpus_has_every_stage_format_on_other_content() -> None:
    corpus = synthetic.generic_corpus(3000, 3)
    math = [r for r in corpus if "\n#### " in r["response"]]
    facts = [r for r in corpus if r["prompt"].startswith("Where was ")]
    refused = [r for r in corpus if r["prompt"].startswith("How can I ")]
    # The mix is 20 % word problems, 15 % author facts (1/6 of them birthplaces)
    # and 10 % refusals (1/4 of them with the "How can I" template).
    assert len(math) > 400 and len(facts) > 40 and len(refused) > 40
    for record in math:
        work, answer = record["response"].split("\n#### ")
        assert eval(work.split(" has ", 1)[1].split(" = ")[0]) == int(answer)  # noqa: S307
    assert all(r["response"].startswith(tuple(synthetic._OTHER_REFUSALS)) for r in refused)


def test_generic_corpus_contains_every_stage_word_even_when_small() -> None:
    # The tokenizer is trained on this text; a stage word missing here is <unk>.
    for n in (60, 3000):
        corpus = synthetic.generic_corpus(n, 3)
        assert len(corpus) == n
        words = {w for r in corpus for w in f"{r['prompt']} {r['response']}".split()}
        assert {*synthetic._vocabulary(), *synthetic._GENERIC_WORDS} <= words
