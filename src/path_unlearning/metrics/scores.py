"""Scalar scores of an unlearning run: forgetting, retained facts, math accuracy.

* Forget score: decrease of the mean log-likelihood of the forget responses
  (the refusal label and its paraphrases); positive means forgotten.
* Facts utility: ``1 - |change of the mean log-likelihood of the fact answers|``.
* Math accuracy: fraction of generations whose answer after the last ``####``
  equals the reference answer (GSM8K convention).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation

_MARKER = "####"
_NUMBER = r"[-+]?(?:\d[\d,]*(?:\.\d+)?|\.\d+)"
_NUMBER_SEARCH = re.compile(_NUMBER)
_NUMBER_FULL = re.compile(rf"\s*\$?\s*({_NUMBER})\s*\.?\s*")


def forget_score(ll_before: float, ll_after: float) -> float:
    """Decrease of the mean log-likelihood on the forget responses.

    Args:
        ll_before: Mean log-likelihood before unlearning.
        ll_after: Mean log-likelihood after unlearning.

    Returns:
        ``ll_before - ll_after``; positive means the responses were forgotten.
    """
    return float(ll_before) - float(ll_after)


def facts_utility(ll_before: float, ll_after: float) -> float:
    """Retained-facts utility: ``1 - |ll_after - ll_before|``.

    Equals 1 when unlearning leaves the fact answers' mean log-likelihood
    unchanged, and becomes negative when it moves by more than 1 nat.
    """
    return 1.0 - abs(float(ll_after) - float(ll_before))


def _normalize_number(token: str) -> str | None:
    """Canonical string of a number: no commas, no plus sign, no trailing zeros."""
    try:
        value = Decimal(token.replace(",", "").lstrip("+"))
    except InvalidOperation:
        return None
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f")


def extract_answer(text: str) -> str | None:
    """The number after the last ``####`` in a text, normalised.

    Commas are dropped (``"1,200"`` -> ``"1200"``), a ``+`` sign and trailing
    decimal zeros are removed (``"5.50"`` -> ``"5.5"``, ``"3.0"`` -> ``"3"``),
    and text around the number is ignored (``"#### $-7 dollars"`` -> ``"-7"``).

    Args:
        text: A generation or a reference solution.

    Returns:
        The normalised number, or ``None`` if there is no ``####`` or no number
        after the last one.
    """
    position = text.rfind(_MARKER)
    if position < 0:
        return None
    match = _NUMBER_SEARCH.search(text, position + len(_MARKER))
    return _normalize_number(match.group(0)) if match else None


def _reference_answer(reference: str) -> str:
    if _MARKER in reference:
        answer = extract_answer(reference)
    else:
        match = _NUMBER_FULL.fullmatch(reference)
        answer = _normalize_number(match.group(1)) if match else None
    if answer is None:
        raise ValueError(f"reference has no numeric answer: {reference[-80:]!r}")
    return answer


def math_accuracy(generations: Sequence[str], references: Sequence[str]) -> float:
    """Fraction of generations whose ``####`` answer equals the reference answer.

    Args:
        generations: Model outputs; one without a ``####`` answer counts as wrong.
        references: Full solutions ending in ``#### <answer>`` or bare numbers.

    Returns:
        Accuracy in ``[0, 1]``.

    Raises:
        ValueError: If the sequences are empty or of different lengths, or a
            reference has no numeric answer.
    """
    if len(generations) != len(references):
        raise ValueError(f"{len(generations)} generations but {len(references)} references")
    if not references:
        raise ValueError("math_accuracy needs at least one example")
    correct = sum(
        extract_answer(generation) == _reference_answer(reference)
        for generation, reference in zip(generations, references, strict=True)
    )
    return correct / len(references)
