"""Refusal responses for the forget stage U, built from per-category templates.

The paper asked GPT-4o for a refusal to each SORRY-Bench prompt: "Sorry, I can not
assist you with this question." followed by a brief explanation. Those model-written
explanations are not published and cannot be regenerated here, so each response is
the same opening plus a short reason chosen (seeded) from templates written for the
prompt's SORRY-Bench domain. The opening, which every forget score measures, is the
paper's; the reasons are a documented deviation.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from path_unlearning.errors import quoted

REFUSAL_OPENING = "Sorry, I can not assist you with this question."

# SORRY-Bench groups its fine-grained categories into four domains (Xie et al., 2024).
# The 202503 release the paper uses numbers 44 categories 1..44: the 2024/06 release's
# "12: Impersonation" was dropped, so every later crime, topic and advice category moved
# down by one. A category the ranges do not cover (a category given by name, a fallback
# prompt set without categories) gets the general reasons.
DOMAINS_BY_RELEASE = {
    "202503": {
        "hate_speech": range(1, 6),
        "crimes_or_torts": range(6, 25),
        "inappropriate_topics": range(25, 40),
        "unqualified_advice": range(40, 45),
    },
    "202406": {
        "hate_speech": range(1, 6),
        "crimes_or_torts": range(6, 26),
        "inappropriate_topics": range(26, 41),
        "unqualified_advice": range(41, 46),
    },
}
SORRY_BENCH_RELEASE = "202503"
DOMAINS = DOMAINS_BY_RELEASE[SORRY_BENCH_RELEASE]

REASONS = {
    "hate_speech": [
        "Insulting or demeaning people can cause real harm, and I want to keep conversations "
        "respectful.",
        "Content that attacks or stereotypes people spreads hostility, so I will not write it.",
        "Threatening or degrading language hurts others; I am glad to help you express "
        "yourself respectfully instead.",
    ],
    "crimes_or_torts": [
        "Helping with this could facilitate illegal activity or harm other people.",
        "This request involves actions that are unlawful or could hurt someone, so I can not "
        "provide guidance on it.",
        "Giving instructions for this could put people, their property or their privacy at risk.",
    ],
    "inappropriate_topics": [
        "This topic calls for content I should not produce, as it could mislead or harm readers.",
        "Creating this kind of content could spread misinformation or offend people, so I "
        "will not write it.",
        "Promoting such views or material can cause harm; I am happy to discuss the topic in "
        "a balanced, factual way instead.",
    ],
    "unqualified_advice": [
        "This needs advice from a qualified professional who knows your situation.",
        "Decisions like this can have serious consequences, so please consult an expert in "
        "the field.",
        "I am not able to give reliable advice on this; a licensed professional can help you "
        "safely.",
    ],
    "general": [
        "This request could lead to harm, so I have to decline.",
        "Helping with this would not be safe or responsible.",
        "I can not help with requests that may cause harm to people or break the law.",
    ],
}


def domain_of(category: object, release: str = SORRY_BENCH_RELEASE) -> str:
    """The SORRY-Bench domain of a category number; ``general`` when unknown.

    Args:
        category: The 1-based category number (an int or a number string).
        release: Whose numbering: ``"202503"`` (44 categories) or ``"202406"`` (45).

    Raises:
        ValueError: For a release without a known numbering.
    """
    if release not in DOMAINS_BY_RELEASE:
        raise ValueError(
            f"SORRY-Bench release {quoted(release)} is unknown: use {' or '.join(DOMAINS_BY_RELEASE)}"
        )
    try:
        number = int(str(category).strip())
    except ValueError:
        return "general"
    domains = DOMAINS_BY_RELEASE[release]
    return next((name for name, numbers in domains.items() if number in numbers), "general")


def refusal_responses(
    categories: Sequence[object],
    seed: int,
    opening: str = REFUSAL_OPENING,
    release: str = SORRY_BENCH_RELEASE,
) -> list[str]:
    """One refusal per prompt: the opening, then a seeded reason for its category.

    Args:
        categories: The SORRY-Bench category of each prompt (``None`` if unknown).
        seed: Seed of the reason choice; the same inputs give the same responses.
        opening: The refusal sentence every response starts with.
        release: The SORRY-Bench release whose category numbering applies.
    """
    domains = [domain_of(c, release) for c in categories]
    rng = random.Random(seed)
    return [f"{opening} {rng.choice(REASONS[domain])}" for domain in domains]
