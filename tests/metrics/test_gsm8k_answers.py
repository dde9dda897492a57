"""GSM8K answers in the paper's output format (App. F): a "####" line, then the number."""

from __future__ import annotations

import pytest

from path_unlearning.data.paper import clean_gsm8k_solution
from path_unlearning.metrics.scores import extract_answer, math_accuracy


@pytest.mark.parametrize(
    ("generation", "expected"),
    [
        ("Add them: 1000 + 234 = 1234.\n####\n1,234", "1234"),
        ("So she pays 3.50 dollars.\n####\n3.50", "3.5"),
        ("The temperature drops below zero.\n####\n-3", "-3"),
        ("####\n-3.50", "-3.5"),
        ("#### 1,234.50", "1234.5"),
        ("**####**\n**18**", "18"),
        ("#### \\$18", "18"),
        ("#### 18\n\nNote: the example in the prompt ends with #### 42", "42"),
        ("####\n18\n\nI hope this helps! The total was 20 apples.", "18"),
        ("The answer is 18.", None),  # no #### line
        ("####\nnone", None),
    ],
)
def test_answers_in_the_paper_format(generation, expected) -> None:
    assert extract_answer(generation) == expected


def test_references_match_cleaned_human_solutions() -> None:
    reference = clean_gsm8k_solution("2 crates cost 2*1250 = $<<2*1250=2500>>2,500.\n#### 2,500")
    assert extract_answer(reference) == "2500"
    assert math_accuracy(["####\n2500", "#### 2,500.00", "#### 2,050"], [reference] * 3) == 2 / 3


def test_accuracy_over_k_samples_per_question() -> None:
    references = ["#### 7", "#### -2"]
    samples = [["#### 7", "####\n7", "#### 8"], ["#### -2", "no answer", "#### 2"]]
    flat = [s for group in samples for s in group]
    expanded = [r for r in references for _ in range(3)]
    # the paper averages each question's ratio of correct samples: (2/3 + 1/3) / 2
    assert math_accuracy(flat, expanded) == pytest.approx(0.5)
