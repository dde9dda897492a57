"""The (prompt, response) pairs each log-likelihood probe scores."""

from __future__ import annotations

import pandas as pd
import torch
from transformers import PreTrainedTokenizerBase

from path_unlearning.modeling.scoring import encode_batches

Pairs = tuple[list[str], list[str]]

# Probes whose response is only the first sentence of what the model learned to
# say (the refusal label, then a reason): scored without the end-of-sequence token.
PREFIX_PROBES = frozenset({"forget_label", "paraphrase"})


def probe_pairs(
    forget_eval: pd.DataFrame,
    paraphrase_eval: pd.DataFrame,
    facts_eval: pd.DataFrame,
    math_eval: pd.DataFrame,
    limit: int | None = None,
    all_paraphrases: bool = False,
) -> dict[str, Pairs]:
    """Pairs for the four probes: forget label, paraphrases, facts, math.

    Args:
        forget_eval: Forget prompts with their ``label``.
        paraphrase_eval: Refusal paraphrases (column ``paraphrase``).
        facts_eval: Fact questions and answers.
        math_eval: Math problems with step-by-step solutions (teacher-forced).
        limit: Use only the first ``limit`` rows of each set (the fixed
            per-step subsets); ``None`` uses everything.
        all_paraphrases: Pair every forget prompt with every paraphrase;
            otherwise prompt i gets paraphrase i mod n (one pair per prompt).
    """
    forget = forget_eval.head(limit) if limit else forget_eval
    prompts = forget["prompt"].to_list()
    paraphrases = paraphrase_eval["paraphrase"].to_list()
    if all_paraphrases:
        para = ([p for p in prompts for _ in paraphrases], paraphrases * len(prompts))
    else:
        para = (prompts, [paraphrases[i % len(paraphrases)] for i in range(len(prompts))])
    facts = facts_eval.head(limit) if limit else facts_eval
    math = math_eval.head(limit) if limit else math_eval
    return {
        "forget_label": (prompts, forget["label"].to_list()),
        "paraphrase": para,
        "facts": (facts["prompt"].to_list(), facts["response"].to_list()),
        "math": (math["prompt"].to_list(), math["response"].to_list()),
    }


def encode_probes(
    tokenizer: PreTrainedTokenizerBase,
    pairs: dict[str, Pairs],
    batch_size: int,
    end_token: bool = True,
) -> dict[str, list[dict[str, torch.Tensor]]]:
    """Padded batches for each probe; prefix probes are encoded without EOS.

    Args:
        tokenizer: The chat tokenizer.
        pairs: ``probe_pairs``.
        batch_size: Rows per batch.
        end_token: Score the end-of-turn token after full responses (facts, math);
            ``False`` scores no probe's end token, as the paper's code does
            (``add_end_tokens=False``).
    """
    return {
        name: encode_batches(
            tokenizer, prompts, responses, batch_size, eos=end_token and name not in PREFIX_PROBES
        )
        for name, (prompts, responses) in pairs.items()
    }
