"""Tests of forget score, facts utility and GSM8K-style answer extraction."""

from __future__ import annotations

import pytest

from path_unlearning.metrics.scores import (
    extract_answer,
    facts_utility,
    forget_score,
    math_accuracy,
)


def test_forget_score():
    assert forget_score(-2.0, -5.5) == pytest.approx(3.5)
    assert forget_score(-2.0, -1.0) == pytest.approx(-1.0)
    assert forget_score(-3.0, -3.0) == 0.0


def test_facts_utility():
    assert facts_utility(-2.0, -2.0) == 1.0
    assert facts_utility(-2.0, -2.25) == pytest.approx(0.75)
    assert facts_utility(-2.0, -1.75) == pytest.approx(0.75)
    assert facts_utility(-1.0, -4.0) == pytest.approx(-2.0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("She has 3 + 4 = 7 apples.\n#### 7", "7"),
        ("####7", "7"),
        ("#### 1,200", "1200"),
        ("#### -15", "-15"),
        ("#### +4", "4"),
        ("#### 3.50", "3.5"),
        ("#### 12.0", "12"),
        ("#### 0.25", "0.25"),
        ("#### -0", "0"),
        ("#### $1,000,000 in total.", "1000000"),
        ("#### 42 apples\nand some trailing text 99", "42"),
        ("#### 5.", "5"),
        ("#### 8, the answer", "8"),
        ("step 1 #### 10\nstep 2 #### 20", "20"),
        ("#####   6", "6"),
        ("   ####  \n  13  ", "13"),
        ("The answer is 7", None),
        ("", None),
        ("#### 7\n####", None),
        ("#### seven", None),
    ],
)
def test_extract_answer(text, expected):
    assert extract_answer(text) == expected


def test_math_accuracy_with_full_solutions_and_bare_numbers():
    generations = [
        "2 + 2 = 4\n#### 4",
        "#### 1,200",
        "I think it is 9",  # no #### -> wrong
        "#### -3",
        "#### 5",
    ]
    references = ["Add them.\n#### 4", "1200", "9", "#### -3.0", "6"]
    assert math_accuracy(generations, references) == pytest.approx(3 / 5)


def test_math_accuracy_all_correct_and_all_wrong():
    assert math_accuracy(["#### 1", "#### 2"], ["1", "#### 2"]) == 1.0
    assert math_accuracy(["#### 3", "nothing"], ["1", "#### 2"]) == 0.0


def test_math_accuracy_errors():
    with pytest.raises(ValueError, match="references"):
        math_accuracy(["#### 1"], ["1", "2"])
    with pytest.raises(ValueError):
        math_accuracy([], [])
    with pytest.raises(ValueError, match="numeric answer"):
        math_accuracy(["#### 1"], ["one"])
    with pytest.raises(ValueError, match="numeric answer"):
        math_accuracy(["#### 1"], ["solution without an answer ####"])
