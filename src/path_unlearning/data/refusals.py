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

REFUSAL_OPENING = "Sorry, I can not assist you with this question."

# SORRY-Bench groups its fine-grained categories into four domains; the category
# numbers below follow the benchmark's taxonomy (Xie et al., 2024). A category the
# ranges do not cover (another numbering, a category given by name, a fallback
# prompt set without categories) gets the general reasons.
DOMAINS = {
    "hate_speech": range(1, 6),
    "crimes_or_torts": range(6, 26),
    "inappropriate_topics": range(26, 41),
    "unqualified_advice": range(41, 46),
}

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


def domain_of(category: object) -> str:
    """The SORRY-Bench domain of a category number; ``general`` when unknown."""
    try:
        number = int(str(category).strip())
    except ValueError:
        return "general"
    return next((name for name, numbers in DOMAINS.items() if number in numbers), "general")


def refusal_responses(
    categories: Sequence[object], seed: int, opening: str = REFUSAL_OPENING
) -> list[str]:
    """One refusal per prompt: the opening, then a seeded reason for its category.

    Args:
        categories: The SORRY-Bench category of each prompt (``None`` if unknown).
        seed: Seed of the reason choice; the same inputs give the same responses.
        opening: The refusal sentence every response starts with.
    """
    rng = random.Random(seed)
    return [f"{opening} {rng.choice(REASONS[domain_of(c)])}" for c in categories]
