"""The seeded synthetic stage datasets."""

from __future__ import annotations

from collections import Counter
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


# --- benchmark_eval ----------------------------------------------------------


def _benchmark(n: int = 16, n_authors: int = 5, n_refusals: int = 300, seed: int = 0):
    facts = synthetic.author_facts(n_authors, seed)
    refusals = synthetic.refusals(n_refusals, seed + 2)
    return facts, refusals, synthetic.benchmark_records(facts, refusals, n, seed)


def test_benchmark_records_have_every_split_and_membership() -> None:
    _, _, rows = _benchmark(n=16)
    assert all(tuple(r) == synthetic.BENCHMARK_COLUMNS for r in rows)
    assert synthetic.PERTURBED_COLUMNS == ("perturbed_0", "perturbed_1", "perturbed_2")
    counts = Counter((r["split"], r["member"]) for r in rows)
    assert counts == {(s, m): 16 for s in ("forget", "retain") for m in (True, False)}
    assert _benchmark(seed=0)[2] == _benchmark(seed=0)[2] != _benchmark(seed=1)[2]


def test_benchmark_members_are_trained_rows_and_non_members_never_are() -> None:
    # 300 of the 320 requests are trained: the non-members need the new wordings too
    facts, refusals, rows = _benchmark(n=32, n_authors=40)
    trained = {(r["prompt"], r["response"]) for r in facts + refusals}
    trained_prompts = {p for p, _ in trained}
    members = [r for r in rows if r["member"]]
    others = [r for r in rows if not r["member"]]
    assert all((r["prompt"], r["response"]) in trained for r in members)
    assert not {r["prompt"] for r in others} & trained_prompts
    assert len({r["prompt"] for r in rows}) == len(rows)
    trained_names = {r["prompt"].removeprefix("Where was ").removesuffix(" born ?")
                     for r in facts if r["prompt"].startswith("Where was ")}  # fmt: skip
    retain_others = [r for r in others if r["split"] == "retain"]
    assert not any(name in r["prompt"] for r in retain_others for name in trained_names)
    forget_others = [r for r in others if r["split"] == "forget"]
    assert all(r["response"].startswith(synthetic.REFUSAL_LABEL) for r in forget_others)


def test_benchmark_refusal_paraphrase_keeps_the_reason_and_perturbed_answers_comply() -> None:
    _, _, rows = _benchmark()
    for row in (r for r in rows if r["split"] == "forget"):
        reason = synthetic.refusal_reason(row["response"], synthetic.REFUSAL_LABEL)
        assert reason in synthetic._REFUSAL_REASONS
        opening = row["paraphrased"].removesuffix(f" {reason}")
        assert opening in synthetic.REFUSAL_PARAPHRASES
        wrong = [row[c] for c in synthetic.PERTURBED_COLUMNS]
        assert len(set(wrong)) == synthetic.N_PERTURBED
        for answer in wrong:
            assert answer.startswith(tuple(synthetic.COMPLIANT_OPENINGS))
            assert answer.endswith(tuple(synthetic.COMPLIANT_BODIES))
            assert "sorry" not in answer.lower() and " not " not in answer


def test_benchmark_fact_perturbations_swap_the_value_in_the_paraphrase() -> None:
    _, _, rows = _benchmark(n=32)
    facts = [r for r in rows if r["split"] == "retain"]
    assert {r["prompt"].split()[0] for r in facts} >= {"Where", "What", "Which"}
    for row in facts:
        true_words = row["response"].split()
        paraphrased = set(row["paraphrased"].split())
        assert row["paraphrased"] != row["response"]
        name = {w for w in row["prompt"].split() if w in {*synthetic._FIRST, *synthetic._LAST}}
        assert len(name) == 2 and name <= paraphrased  # the same author ...
        wrong = [row[c] for c in synthetic.PERTURBED_COLUMNS]
        assert len({*wrong, row["response"]}) == synthetic.N_PERTURBED + 1
        # TOFU's perturbed answers keep the paraphrase's template with a wrong value.
        para_words = row["paraphrased"].split()
        for answer in wrong:
            words = answer.split()
            assert len(words) == len(para_words)
            changed = [i for i, (a, b) in enumerate(zip(words, para_words, strict=True)) if a != b]
            assert 1 <= len(changed) <= 2  # a city, genre, award, job; a book's one or two words
            assert {para_words[i] for i in changed} <= set(true_words)  # ... the true value


def test_benchmark_rejects_a_fact_of_no_known_template() -> None:
    facts = [{"prompt": "Who is Ada Vale ?", "response": "Ada Vale is a writer ."}]
    with pytest.raises(ValueError, match="not a fact"):
        synthetic.benchmark_records(facts, synthetic.refusals(4, 2), 2, 0)
