"""The benchmark metrics of TOFU / MUSE / open-unlearning, on hand values.

Some are also checked against open-unlearning's own code: the ``ou_*`` functions
below are the relevant lines of github.com/locuslab/open-unlearning at commit
d3d7cf9e6b3c125d16687d4232680d8d83548f1a (``src/evals/metrics/``), copied with
only the surrounding plumbing (data loaders, ``kwargs``) removed.
"""

from __future__ import annotations

import math
import zlib

import numpy as np
import pytest
import torch

from path_unlearning.metrics.benchmark import (
    exact_memorization,
    extraction_strength,
    forget_quality,
    loss_statistic,
    mia_auc,
    min_k_pp_statistic,
    min_k_statistic,
    model_utility,
    privleak,
    truth_ratio,
    truth_score_forget,
    truth_score_retain,
    zlib_statistic,
)

# --- open-unlearning reference implementations (commit d3d7cf9e) -------------------


def ou_truth_ratio(correct_avg_losses, wrong_avg_losses, aggregator):
    """memorization.py::truth_ratio, from the average losses on."""

    def closer_to_1_better(arr):
        return np.mean(np.minimum(arr, 1 / (arr + 1e-10)))

    def true_better(arr):
        return np.mean(np.maximum(0, 1 - arr))

    def aggregate_to_1D(x):  # utils.py
        return np.mean(x, axis=tuple(range(1, x.ndim)))

    correct_avg_losses = aggregate_to_1D(np.array(correct_avg_losses))
    wrong_avg_losses = aggregate_to_1D(np.array(wrong_avg_losses))
    correct_prob = np.exp(-correct_avg_losses)
    wrong_prob = np.exp(-wrong_avg_losses)
    truth_ratios = wrong_prob / (correct_prob + 1e-10)
    agg = {"closer_to_1_better": closer_to_1_better, "true_better": true_better}[aggregator]
    return truth_ratios, agg(truth_ratios)


def ou_min_k_score(lp, k):
    """mia/min_k.py::MinKProbAttack.compute_score."""
    if lp.size == 0:
        return 0
    num_k = max(1, int(len(lp) * k))
    sorted_vals = np.sort(lp)
    return -np.mean(sorted_vals[:num_k])


def ou_min_k_plus_plus_score(all_probs, target_prob, k):
    """mia/min_k_plus_plus.py::MinKPlusPlusAttack.compute_score (``all_probs``: [N, V] log-probs)."""
    if len(target_prob) == 0:
        return 0
    mu = (torch.exp(all_probs) * all_probs).sum(-1)
    sigma = (torch.exp(all_probs) * torch.square(all_probs)).sum(-1) - torch.square(mu)
    sigma = torch.clamp(sigma, min=1e-6)
    scores = (target_prob.float().cpu().numpy() - mu.float().cpu().numpy()) / torch.sqrt(
        sigma
    ).cpu().numpy()
    num_k = max(1, int(len(scores) * k))
    return -np.mean(sorted(scores)[:num_k])


def ou_extraction_strength(preds, labels):
    """memorization.py::extraction_strength, the inner loop on one row."""
    valid_len = len(labels)
    for k in range(valid_len):
        suff_preds = preds[k:]
        suff_labels = labels[k:]
        if torch.equal(suff_preds, suff_labels):
            break
    if valid_len == 0:
        return 0
    return 1 - (k / valid_len)


def ou_privleak(score, ref):
    """privacy.py::privleak."""
    score = 1 - score
    ref = 1 - ref
    return (score - ref) / (ref + 1e-10) * 100


# --- truth ratio, forget quality --------------------------------------------------


def test_truth_ratio_on_hand_log_probs() -> None:
    paraphrased = np.log([0.5, 0.2])
    # row 0: both perturbed at 0.25; row 1: geometric mean of 0.1 and 0.4 is 0.2
    perturbed = np.log([[0.25, 0.25], [0.1, 0.4]])
    assert truth_ratio(paraphrased, perturbed) == pytest.approx([0.5, 1.0])
    # one perturbed answer may come as a vector
    assert truth_ratio(np.log([0.5]), np.log([0.1])) == pytest.approx([0.2])


def test_truth_ratio_rejects_misaligned_rows() -> None:
    with pytest.raises(ValueError, match="shapes"):
        truth_ratio(np.zeros(2), np.zeros((3, 2)))


def test_truth_scores_on_hand_values() -> None:
    tr = np.array([0.5, 1.0, 2.0])
    # min(tr, 1/tr) = 0.5, 1, 0.5
    assert truth_score_forget(tr) == pytest.approx(2 / 3)
    # max(0, 1 - tr) = 0.5, 0, 0
    assert truth_score_retain(tr) == pytest.approx(1 / 6)


def test_truth_ratio_matches_open_unlearning() -> None:
    rng = np.random.default_rng(0)
    ll_para = -rng.uniform(0.1, 3, size=20)
    ll_pert = -rng.uniform(0.1, 3, size=(20, 5))
    ours = truth_ratio(ll_para, ll_pert)
    ref_tr, ref_forget = ou_truth_ratio(-ll_para, -ll_pert, "closer_to_1_better")
    _, ref_retain = ou_truth_ratio(-ll_para, -ll_pert, "true_better")
    np.testing.assert_allclose(ours, ref_tr, rtol=1e-12)
    assert truth_score_forget(ours) == pytest.approx(ref_forget, rel=1e-12)
    assert truth_score_retain(ours) == pytest.approx(ref_retain, rel=1e-12)


def test_forget_quality_of_identical_distributions_is_one() -> None:
    tr = np.array([0.3, 0.7, 1.2, 0.9])
    assert forget_quality(tr, tr.copy()) == pytest.approx(1.0)


def test_forget_quality_of_disjoint_samples() -> None:
    # D = 1 for two disjoint samples of 3: exact p = 2 / C(6, 3) = 0.1
    assert forget_quality([1.0, 2.0, 3.0], [4.0, 5.0, 6.0]) == pytest.approx(0.1)


# --- membership inference ---------------------------------------------------------


def test_mia_auc_separable_reversed_and_ties() -> None:
    # loss-like scores: members (lower loss) perfectly separated -> 1
    assert mia_auc([0.1, 0.2], [0.3, 0.4]) == 1.0
    assert mia_auc([0.3, 0.4], [0.1, 0.2]) == 0.0
    assert mia_auc([1.0, 1.0], [1.0, 1.0, 1.0]) == 0.5


def test_mia_auc_on_hand_pairs() -> None:
    # pairs (non-member > member): 2>1, 4>1, 4>3 of 4 -> 0.75
    assert mia_auc([1.0, 3.0], [2.0, 4.0]) == pytest.approx(0.75)
    # 2>1, 2=2 (one half), 3>1, 3>2 of 4 -> 3.5 / 4
    assert mia_auc([1.0, 2.0], [2.0, 3.0]) == pytest.approx(0.875)


def test_mia_auc_needs_both_sides() -> None:
    with pytest.raises(ValueError, match="members"):
        mia_auc([], [1.0])


def test_loss_and_zlib_statistics() -> None:
    rows = [np.log([0.5, 0.5]), np.array([-1.0, -3.0])]
    np.testing.assert_allclose(loss_statistic(rows), [math.log(2), 2.0])
    texts = ["aaaa", "the answer is 42"]
    sizes = [len(zlib.compress(t.encode("utf-8"))) for t in texts]
    np.testing.assert_allclose(zlib_statistic(rows, texts), [math.log(2) / sizes[0], 2 / sizes[1]])
    with pytest.raises(ValueError, match="texts"):
        zlib_statistic(rows, texts[:1])


def test_min_k_on_hand_values() -> None:
    row = np.array([-1.0, -2.0, -3.0, -4.0, -5.0])
    assert min_k_statistic([row])[0] == pytest.approx(4.5)  # default k=0.4: two lowest
    assert min_k_statistic([row], k=0.2)[0] == pytest.approx(5.0)
    # k=1 is the LOSS statistic
    assert min_k_statistic([row], k=1.0)[0] == pytest.approx(loss_statistic([row])[0])
    # int(2 * 0.4) = 0 -> at least one token; an empty row scores 0
    assert min_k_statistic([np.array([-1.0, -2.0]), np.array([])]).tolist() == [2.0, 0.0]


def test_min_k_pp_on_hand_values() -> None:
    lp, mu, sigma = [np.array([-1.0, -2.0])], [np.array([-1.5, -1.5])], [np.array([0.5, 0.5])]
    # normalised scores are +1 and -1
    assert min_k_pp_statistic(lp, mu, sigma)[0] == pytest.approx(1.0)
    assert min_k_pp_statistic(lp, mu, sigma, k=1.0)[0] == pytest.approx(0.0)
    # a zero sigma is clamped at sqrt(1e-6) = 1e-3: (-1 + 1.001) / 1e-3 = 1
    clamped = min_k_pp_statistic([np.array([-1.0])], [np.array([-1.001])], [np.array([0.0])])
    assert clamped[0] == pytest.approx(-1.0)


def test_min_k_and_min_k_pp_match_open_unlearning() -> None:
    generator = torch.Generator().manual_seed(0)
    for n in (1, 2, 5, 11):
        vocab = torch.log_softmax(3 * torch.randn(n, 13, generator=generator), dim=-1)
        labels = torch.randint(0, 13, (n,), generator=generator)
        target = vocab.gather(-1, labels[:, None]).squeeze(-1)
        p = vocab.exp()
        mu = (p * vocab).sum(-1)
        sigma = ((p * vocab.square()).sum(-1) - mu.square()).clamp(min=0).sqrt()
        for k in (0.2, 0.4, 1.0):
            ours = min_k_statistic([target.numpy()], k)[0]
            assert ours == pytest.approx(ou_min_k_score(target.numpy(), k), rel=1e-6)
            ours_pp = min_k_pp_statistic([target.numpy()], [mu.numpy()], [sigma.numpy()], k)[0]
            assert ours_pp == pytest.approx(ou_min_k_plus_plus_score(vocab, target, k), rel=1e-5)


def test_privleak_on_hand_aucs() -> None:
    # 1 - AUC: 0.25 vs 0.5 -> -50 %
    assert privleak(0.75, 0.5) == pytest.approx(-50.0)
    # 0.7 vs 0.6 -> +16.67 %
    assert privleak(0.3, 0.4) == pytest.approx(100 / 6)
    assert privleak(0.62, 0.62) == pytest.approx(0.0)
    for auc, ref in [(0.75, 0.5), (0.3, 0.4), (0.99, 0.1)]:
        assert privleak(auc, ref) == pytest.approx(ou_privleak(auc, ref), rel=1e-12)


# --- memorization -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("preds", "labels", "expected"),
    [
        ([1, 2, 3, 4], [1, 2, 3, 4], 1.0),  # whole answer extracted: k = 0
        ([1, 2, 3, 4], [9, 2, 3, 4], 0.75),  # suffix from k = 1
        ([5, 2, 3, 4], [1, 9, 3, 4], 0.5),  # suffix from k = 2
        ([1, 2, 3, 4], [1, 2, 3, 9], 0.25),  # last token wrong: their loop stops at n - 1
        ([], [], 0.0),
    ],
)
def test_extraction_strength_on_hand_tokens(preds, labels, expected) -> None:
    assert extraction_strength(np.array(preds), np.array(labels)) == pytest.approx(expected)
    reference = ou_extraction_strength(torch.tensor(preds), torch.tensor(labels))
    assert extraction_strength(np.array(preds), np.array(labels)) == pytest.approx(reference)


def test_exact_memorization_on_hand_tokens() -> None:
    assert exact_memorization(np.array([1, 2, 3, 4]), np.array([1, 0, 3, 0])) == 0.5
    assert exact_memorization(np.array([7]), np.array([7])) == 1.0
    assert math.isnan(exact_memorization(np.array([]), np.array([])))
    with pytest.raises(ValueError, match="labels"):
        exact_memorization(np.array([1, 2]), np.array([1]))


# --- model utility ----------------------------------------------------------------


def test_model_utility_is_the_harmonic_mean() -> None:
    assert model_utility({"a": 1.0, "b": 0.5}) == pytest.approx(2 / 3)  # 2 / (1 + 2)
    assert model_utility({"a": 0.2, "b": 0.5, "c": 1.0}) == pytest.approx(3 / 8)  # 3 / (5+2+1)
    assert model_utility({"a": 0.5, "b": 0.0}) == 0.0
    with pytest.raises(ValueError, match=">= 0"):
        model_utility({"a": -0.1})
