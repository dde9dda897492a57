"""The standard unlearning benchmark metrics of TOFU, MUSE and open-unlearning.

Pure formulas (numpy/scipy, no torch, no Kedro) on per-row statistics that
``metrics/benchmark_scoring.py`` computes from a model. Every function matches
one in open-unlearning (github.com/locuslab/open-unlearning, ``src/evals/metrics/``,
read at commit d3d7cf9e6b3c125d16687d4232680d8d83548f1a), named in its docstring.

Sign conventions (as open-unlearning's ``mia/__init__.py`` note): every attack
statistic is signed like a loss, so a *higher* statistic means the row looks
*less* like a member; ``mia_auc`` labels the non-members 1, so an AUC of 1 means
the members (forget set) are much more likely under the model than the
non-members (holdout set). See ``docs/metrics.md``.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence

import numpy as np
from scipy import stats

# open-unlearning's guard against division by zero, kept so results agree to the bit.
EPS = 1e-10
# Min-K%++ clamps the variance of log p(z) at this value (min_k_plus_plus.py).
MIN_VARIANCE = 1e-6
# The k of open-unlearning's configs (configs/eval/{tofu,muse}_metrics/mia_min_k*.yaml).
DEFAULT_K = 0.4


# --- truth ratio and forget quality (TOFU) -------------------------------------


def truth_ratio(paraphrased_ll_tok: np.ndarray, perturbed_ll_tok: np.ndarray) -> np.ndarray:
    """Per-row truth ratio: P(perturbed) / P(paraphrased), TOFU's original definition.

    Matches ``memorization.py::truth_ratio`` (aggregators other than ``prob_mean``):
    an answer's probability is ``exp(-avg_loss) = exp(mean token log-prob)``; the
    ``k`` perturbed answers are averaged in log space (``aggregate_to_1D`` of their
    average losses), i.e. their probability is the geometric mean of theirs.

    Args:
        paraphrased_ll_tok: Shape ``(n,)``: per-token mean log-likelihood of the
            paraphrased (correct) answer of each row.
        perturbed_ll_tok: Shape ``(n, k)``: the same for ``k`` perturbed (wrong)
            answers of each row.

    Returns:
        Shape ``(n,)``: ``exp(mean_j perturbed[:, j]) / (exp(paraphrased) + 1e-10)``.
    """
    correct = np.asarray(paraphrased_ll_tok, dtype=np.float64)
    wrong = np.asarray(perturbed_ll_tok, dtype=np.float64)
    if wrong.ndim == 1:
        wrong = wrong[:, None]
    if correct.ndim != 1 or wrong.ndim != 2 or wrong.shape[0] != correct.shape[0]:
        raise ValueError(
            f"truth_ratio needs shapes (n,) and (n, k), got {correct.shape} and {wrong.shape}"
        )
    correct_prob = np.exp(correct)
    wrong_prob = np.exp(wrong.mean(axis=1))
    return wrong_prob / (correct_prob + EPS)


def truth_score_forget(tr: np.ndarray) -> float:
    """Forget-set truth ratio score: ``mean(min(tr, 1/tr))``; 1 when both answers are equally likely.

    Matches ``memorization.py::truth_ratio``'s ``closer_to_1_better`` aggregator
    (``configs/eval/tofu_metrics/forget_Truth_Ratio.yaml``).
    """
    tr = np.asarray(tr, dtype=np.float64)
    return float(np.mean(np.minimum(tr, 1 / (tr + EPS))))


def truth_score_retain(tr: np.ndarray) -> float:
    """Retain-set truth ratio score: ``mean(max(0, 1 - tr))``; higher: the true answer is preferred.

    Matches ``memorization.py::truth_ratio``'s ``true_better`` aggregator
    (``configs/eval/tofu_metrics/retain_Truth_Ratio.yaml``).
    """
    tr = np.asarray(tr, dtype=np.float64)
    return float(np.mean(np.maximum(0, 1 - tr)))


def forget_quality(tr_model: np.ndarray, tr_reference: np.ndarray) -> float:
    """TOFU's forget quality: p-value of a two-sample KS test between truth-ratio samples.

    Matches ``privacy.py::ks_test`` (``scipy.stats.ks_2samp(forget, retain).pvalue``),
    with ``tr_model`` the unlearned model's forget-set truth ratios and
    ``tr_reference`` the retain (retrained) model's on the same set. Higher: the
    two distributions are harder to tell apart (1 for identical samples).
    """
    return float(stats.ks_2samp(np.asarray(tr_model), np.asarray(tr_reference)).pvalue)


# --- membership inference -------------------------------------------------------


def mia_auc(member_scores: np.ndarray, nonmember_scores: np.ndarray) -> float:
    """ROC AUC of a membership attack whose scores are loss-like (higher: non-member).

    Matches ``mia/utils.py::mia_auc``: ``roc_auc_score`` with the forget rows
    (members) labelled 0 and the holdout rows (non-members) labelled 1, i.e. the
    probability that a random non-member scores higher than a random member,
    ties counted one half (Mann-Whitney U / (n1 n2), from average ranks). 1: the
    members are perfectly separated (lower loss); 0.5: chance.
    """
    members = np.asarray(member_scores, dtype=np.float64).ravel()
    nonmembers = np.asarray(nonmember_scores, dtype=np.float64).ravel()
    n_m, n_n = members.size, nonmembers.size
    if n_m == 0 or n_n == 0:
        raise ValueError(f"mia_auc needs members and non-members, got {n_m} and {n_n}")
    ranks = stats.rankdata(np.concatenate([members, nonmembers]))
    u = ranks[n_m:].sum() - n_n * (n_n + 1) / 2
    return float(u / (n_m * n_n))


def loss_statistic(token_logprobs: Sequence[np.ndarray]) -> np.ndarray:
    """LOSS attack statistic per row: the mean token loss ``-mean(log p)``.

    Matches ``mia/loss.py::LOSSAttack`` (``avg_loss`` of ``evaluate_probability``,
    over every labelled token, the end token included).
    """
    return np.array([-np.mean(np.asarray(lp, dtype=np.float64)) for lp in token_logprobs])


def zlib_statistic(token_logprobs: Sequence[np.ndarray], texts: Sequence[str]) -> np.ndarray:
    """zlib attack statistic per row: mean token loss / zlib-compressed length of the text.

    Matches ``mia/zlib.py::ZLIBAttack``: ``avg_loss / len(zlib.compress(text.encode("utf-8")))``.
    """
    if len(token_logprobs) != len(texts):
        raise ValueError(f"{len(token_logprobs)} rows of log-probs but {len(texts)} texts")
    losses = loss_statistic(token_logprobs)
    sizes = np.array([len(zlib.compress(t.encode("utf-8"))) for t in texts], dtype=np.float64)
    return losses / sizes


def _min_k_mean(values: np.ndarray, k: float) -> float:
    """``-mean`` of the lowest ``max(1, int(len * k))`` values; 0 for an empty row."""
    if values.size == 0:
        return 0.0
    num_k = max(1, int(len(values) * k))
    return float(-np.mean(np.sort(values)[:num_k]))


def min_k_statistic(token_logprobs: Sequence[np.ndarray], k: float = DEFAULT_K) -> np.ndarray:
    """Min-K% Prob statistic per row: ``-mean`` of the lowest k fraction of token log-probs.

    Matches ``mia/min_k.py::MinKProbAttack.compute_score`` (``num_k = max(1,
    int(len * k))``, 0 for an empty row); ``k`` defaults to 0.4 as their configs
    (the class default is 0.2). Their token list drops the last labelled token
    (the end of sequence); ``benchmark_scoring.row_statistics`` does the same.
    """
    if not 0 < k <= 1:
        raise ValueError(f"k must be in (0, 1], got {k}")
    return np.array([_min_k_mean(np.asarray(lp, dtype=np.float64), k) for lp in token_logprobs])


def min_k_pp_statistic(
    token_logprobs: Sequence[np.ndarray],
    mu: Sequence[np.ndarray],
    sigma: Sequence[np.ndarray],
    k: float = DEFAULT_K,
) -> np.ndarray:
    """Min-K%++ statistic per row: Min-K% of ``(log p(x_t) - mu_t) / sigma_t``.

    Matches ``mia/min_k_plus_plus.py::MinKPlusPlusAttack.compute_score``: ``mu_t``
    and ``sigma_t`` are the mean and standard deviation of ``log p(z)`` for ``z``
    drawn from the model's own next-token distribution at position ``t``; the
    variance is clamped at 1e-6 (here: ``sigma`` at ``sqrt(1e-6)``, the same).

    Args:
        token_logprobs: Per row, the log-prob of each response token.
        mu: Per row, ``E_z[log p(z)]`` at each position.
        sigma: Per row, ``std_z[log p(z)]`` at each position.
        k: Fraction of lowest normalised scores averaged.
    """
    if not 0 < k <= 1:
        raise ValueError(f"k must be in (0, 1], got {k}")
    if not len(token_logprobs) == len(mu) == len(sigma):
        raise ValueError("min_k_pp_statistic needs as many rows of mu and sigma as of log-probs")
    out = []
    for row in zip(token_logprobs, mu, sigma, strict=True):
        lp, m, s = (np.asarray(a, dtype=np.float64) for a in row)
        scores = (lp - m) / np.maximum(s, np.sqrt(MIN_VARIANCE))
        out.append(_min_k_mean(scores, k))
    return np.array(out)


def privleak(auc_model: float, auc_reference: float) -> float:
    """MUSE's PrivLeak in percent: relative difference of ``1 - AUC`` to the retain model's.

    Matches ``privacy.py::privleak``: with ``s = 1 - auc_model`` and ``r = 1 -
    auc_reference`` (MUSE reports AUC the other way round), ``(s - r) / (r +
    1e-10) * 100``. 0: the model leaks as much as the retrained one; negative:
    members are easier to detect than under the retain model (under-unlearning);
    positive: harder (over-unlearning). Their default reference AUC is 0.5.
    """
    score, ref = 1 - auc_model, 1 - auc_reference
    return float((score - ref) / (ref + EPS) * 100)


# --- memorization ---------------------------------------------------------------


def extraction_strength(pred_ids: np.ndarray, label_ids: np.ndarray) -> float:
    """Extraction strength of one row: ``1 - k / n`` for the first ``k`` whose suffix is predicted.

    Matches ``memorization.py::extraction_strength``: ``pred_ids`` are the
    teacher-forced argmax predictions of the ``n`` answer tokens ``label_ids``;
    ``k`` is the smallest index from which every prediction equals its label.
    As there, the loop stops at ``k = n - 1``, so a row whose last token is
    mispredicted scores ``1 / n`` (not 0); an empty row scores 0.
    """
    preds, labels = np.asarray(pred_ids).ravel(), np.asarray(label_ids).ravel()
    if preds.shape != labels.shape:
        raise ValueError(f"{preds.size} predictions for {labels.size} labels")
    n = labels.size
    if n == 0:
        return 0.0
    k = 0
    for k in range(n):  # the loop variable is the result, as in open-unlearning
        if np.array_equal(preds[k:], labels[k:]):
            break
    return 1 - k / n


def exact_memorization(pred_ids: np.ndarray, label_ids: np.ndarray) -> float:
    """Exact memorization of one row: the fraction of answer tokens the argmax predicts.

    Matches ``memorization.py::exact_memorization`` (``(preds == labels).sum() /
    n``); ``nan`` for an empty row (theirs: ``None``, left out of the mean).
    """
    preds, labels = np.asarray(pred_ids).ravel(), np.asarray(label_ids).ravel()
    if preds.shape != labels.shape:
        raise ValueError(f"{preds.size} predictions for {labels.size} labels")
    if labels.size == 0:
        return float("nan")
    return float(np.mean(preds == labels))


# --- model utility (TOFU) -------------------------------------------------------


def model_utility(components: Mapping[str, float]) -> float:
    """TOFU's model utility: the harmonic mean of its components; 0 if any is 0.

    Matches ``utility.py::hm_aggregate`` (``scipy.stats.hmean`` of the retain,
    real-authors and world-facts probabilities, ROUGE and truth-ratio scores).
    """
    values = np.asarray(list(components.values()), dtype=np.float64)
    if values.size == 0:
        raise ValueError("model_utility needs at least one component")
    if np.any(values < 0) or not np.all(np.isfinite(values)):
        raise ValueError(f"model_utility components must be finite and >= 0, got {values}")
    if np.any(values == 0):
        return 0.0
    return float(stats.hmean(values))
