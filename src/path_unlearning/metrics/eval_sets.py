"""The (prompt, response) pairs each log-likelihood probe scores, encoded.

The probes themselves (which set and column each reads, which are scored
without the end-of-sequence token) are defined in ``metrics/probes.py``.
"""

from __future__ import annotations

import pandas as pd
import torch
from transformers import PreTrainedTokenizerBase

from path_unlearning.metrics.probes import PREFIX_PROBES, PROBE_SETS, PROBES, PROMPT
from path_unlearning.modeling.scoring import encode_batches

Pairs = tuple[list[str], list[str]]


def probe_pairs(
    *tables: pd.DataFrame, limit: int | None = None, all_paraphrases: bool = False
) -> dict[str, Pairs]:
    """Pairs of every probe of ``metrics.probes.PROBES`` (forget label, paraphrases, ...).

    Args:
        *tables: The evaluation sets of ``PROBE_SETS``, in that order: forget
            prompts with their ``label``, the refusal paraphrases (column
            ``paraphrase``), fact questions and answers, math problems with
            step-by-step solutions (teacher-forced).
        limit: Use only the first ``limit`` rows of each set of prompts (the
            fixed per-step subsets); ``None`` uses everything.
        all_paraphrases: Pair every prompt of a pooled probe (``paired_with``) with
            every response of the pool; otherwise prompt i gets response i mod n
            (one pair per prompt).
    """
    if len(tables) != len(PROBE_SETS):
        raise ValueError(f"probe_pairs needs the {len(PROBE_SETS)} sets {PROBE_SETS}")
    sets = dict(zip(PROBE_SETS, tables, strict=True))
    pairs = {}
    for probe in PROBES:
        rows = sets[probe.prompts].head(limit) if limit else sets[probe.prompts]
        prompts = rows[PROMPT].to_list()
        if probe.paired_with is None:
            pairs[probe.name] = (prompts, rows[probe.responses].to_list())
            continue
        pool = sets[probe.paired_with][probe.responses].to_list()
        if all_paraphrases:
            pairs[probe.name] = ([p for p in prompts for _ in pool], pool * len(prompts))
        else:
            pairs[probe.name] = (prompts, [pool[i % len(pool)] for i in range(len(prompts))])
    return pairs


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
