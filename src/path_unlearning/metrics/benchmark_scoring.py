"""Per-row statistics of the benchmark metrics (``metrics/benchmark.py``) from a model.

One pass over the (prompt, response) pairs, tokenized and masked as every probe
is (``modeling.scoring.encode_batches``: the chat template of our tokenizer,
the response labelled, with or without the end-of-turn token). The next-token
distributions are projected to the vocabulary a chunk of response positions at
a time (``modeling.scoring.chunked_log_probs``), so the logits of the whole set
never exist at once; per position only five numbers are kept.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from path_unlearning.data.chat import IGNORE_INDEX
from path_unlearning.metrics.benchmark import (
    DEFAULT_K,
    exact_memorization,
    extraction_strength,
    loss_statistic,
    min_k_pp_statistic,
    min_k_statistic,
    zlib_statistic,
)
from path_unlearning.modeling.scoring import CHUNK_POSITIONS, chunked_log_probs, encode_batches

# Per response position: log-prob of the label, mean and std of log p(z) under the
# model's next-token distribution, the argmax prediction, the label.
POSITION_FIELDS = ("token_logprobs", "mu", "sigma", "pred_ids", "label_ids")
ROW_COLUMNS = (
    "ll", "ll_tok", "n_tokens", "loss", "zlib", "min_k", "min_k_pp",
    "extraction_strength", "exact_memorization",
)  # fmt: skip


def _position_stats(log_probs: torch.Tensor, targets: torch.Tensor) -> list[torch.Tensor]:
    """The ``POSITION_FIELDS`` of a ``[C, V]`` chunk of next-token log-probs."""
    probs = log_probs.exp()
    # Where p underflows to 0 the term is 0 (log p may be -inf there).
    finite = torch.where(probs > 0, log_probs, torch.zeros_like(log_probs))
    mu = (probs * finite).sum(-1)
    # E[(log p - mu)^2]: open-unlearning's E[log p^2] - mu^2 without the cancellation.
    variance = (probs * (finite - mu.unsqueeze(-1)).square()).sum(-1)
    sigma = variance.sqrt()
    target_lp = log_probs.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    return [target_lp, mu, sigma, log_probs.argmax(-1), targets]


@torch.no_grad()
def response_position_statistics(
    model: PreTrainedModel,
    batches: list[dict[str, torch.Tensor]],
    chunk_positions: int = CHUNK_POSITIONS,
) -> list[dict[str, np.ndarray]]:
    """Per row, the ``POSITION_FIELDS`` at each labelled (response) token, in order.

    Args:
        model: The scored model (put in eval mode for the pass, then restored).
        batches: Pre-encoded batches (``encode_batches``).
        chunk_positions: Response positions projected to the vocabulary at once.

    Returns:
        One dict per row of the batches, each field an array of the row's
        ``n_tokens`` positions: ``token_logprobs`` (log p of the label),
        ``mu`` and ``sigma`` (mean and standard deviation of ``log p(z)``, ``z``
        drawn from the model's next-token distribution), ``pred_ids`` (argmax),
        ``label_ids``.
    """
    if not batches:
        return []
    masks = [b["labels"][:, 1:] != IGNORE_INDEX for b in batches]
    targets = torch.cat([b["labels"][:, 1:][m] for b, m in zip(batches, masks, strict=True)])
    counts = torch.cat([m.sum(-1) for m in masks])
    parts: list[list[torch.Tensor]] = [[] for _ in POSITION_FIELDS]
    seen_rows = []
    start = 0
    for (log_probs,), rows in chunked_log_probs([model], batches, chunk_positions):
        chunk_targets = targets[start : start + rows.shape[0]].to(log_probs.device)
        start += rows.shape[0]
        seen_rows.append(rows)
        for part, values in zip(parts, _position_stats(log_probs, chunk_targets), strict=True):
            part.append(values.cpu())
    expected_rows = torch.repeat_interleave(torch.arange(counts.shape[0]), counts)
    seen = torch.cat(seen_rows) if seen_rows else expected_rows
    if start != targets.shape[0] or not torch.equal(seen, expected_rows):
        raise RuntimeError("response positions out of step with the batches' labels")
    sizes = counts.tolist()
    fields = {}
    for name, part in zip(POSITION_FIELDS, parts, strict=True):
        flat = torch.cat(part) if part else torch.zeros(0)
        fields[name] = [t.numpy() for t in torch.split(flat, sizes)]
    return [{name: fields[name][i] for name in POSITION_FIELDS} for i in range(len(sizes))]


@torch.no_grad()
def row_statistics(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    prompts: list[str],
    responses: list[str],
    batch_size: int,
    end_token: bool = True,
    k: float = DEFAULT_K,
    chunk_positions: int = CHUNK_POSITIONS,
) -> pd.DataFrame:
    """One row of benchmark statistics per (prompt, response) pair, on the response tokens.

    Columns (``ROW_COLUMNS``): ``ll`` (summed response log-likelihood), ``ll_tok``
    (per-token mean), ``n_tokens`` (labelled tokens), and, as ``metrics.benchmark``
    defines them, ``loss``, ``zlib``, ``min_k``, ``min_k_pp``,
    ``extraction_strength``, ``exact_memorization``.

    ``ll``, ``ll_tok``, ``loss`` and ``zlib`` read every labelled token, the end
    token included when ``end_token`` (open-unlearning's ``evaluate_probability``
    includes its EOS). ``min_k``, ``min_k_pp`` and the two memorization measures
    leave the end token out, as open-unlearning's ``tokenwise_logprobs`` and
    ``tokenwise_vocab_logprobs`` drop the last labelled token ("ignore eos
    prediction"); without ``end_token`` there is none to drop and they read all.

    Args:
        model: The scored model.
        tokenizer: The chat tokenizer.
        prompts: User turns.
        responses: Assistant turns; the zlib statistic compresses these texts.
        batch_size: Pairs per forward pass.
        end_token: Label the end-of-turn token after each response.
        k: Fraction of lowest token scores of Min-K% and Min-K%++.
        chunk_positions: Response positions projected to the vocabulary at once.
    """
    batches = encode_batches(tokenizer, prompts, responses, batch_size, eos=end_token)
    rows = response_position_statistics(model, batches, chunk_positions)
    logprobs = [r["token_logprobs"].astype(np.float64) for r in rows]
    drop = 1 if end_token else 0
    body = [{name: r[name][: len(r[name]) - drop] for name in r} for r in rows]
    n_tokens = np.array([len(lp) for lp in logprobs], dtype=np.int64)
    ll = np.array([lp.sum() for lp in logprobs])
    with np.errstate(invalid="ignore", divide="ignore"):
        ll_tok = ll / n_tokens
    table = {
        "ll": ll,
        "ll_tok": ll_tok,
        "n_tokens": n_tokens,
        "loss": loss_statistic(logprobs),
        "zlib": zlib_statistic(logprobs, list(responses)),
        "min_k": min_k_statistic([b["token_logprobs"] for b in body], k),
        "min_k_pp": min_k_pp_statistic(
            [b["token_logprobs"] for b in body],
            [b["mu"] for b in body],
            [b["sigma"] for b in body],
            k,
        ),
        "extraction_strength": [extraction_strength(b["pred_ids"], b["label_ids"]) for b in body],
        "exact_memorization": [exact_memorization(b["pred_ids"], b["label_ids"]) for b in body],
    }
    return pd.DataFrame(table, columns=list(ROW_COLUMNS))
