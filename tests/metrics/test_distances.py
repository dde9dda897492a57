"""Tests of distribution distances and the exponential growth-rate fit."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from path_unlearning.metrics.distances import (
    fit_growth_rate,
    kl_divergence,
    re_distance,
)


def _two_vocab_example() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One input, three positions, vocabulary of 2; the last position is masked out.

    Position 0: p_a = [1/4, 3/4], p_b = [1/2, 1/2]
    Position 1: p_a = [1/5, 4/5], p_b = [4/5, 1/5]
    Position 2: very different, but excluded by the mask.
    """
    logits_a = torch.tensor([[[0.0, math.log(3)], [0.0, math.log(4)], [9.0, -9.0]]])
    logits_b = torch.tensor([[[0.0, 0.0], [math.log(4), 0.0], [-9.0, 9.0]]])
    mask = torch.tensor([[True, True, False]])
    return logits_a, logits_b, mask


def test_identical_logits_give_zero():
    torch.manual_seed(0)
    logits = torch.randn(3, 5, 11)
    mask = torch.ones(3, 5, dtype=torch.bool)
    assert torch.allclose(re_distance(logits, logits.clone(), mask), torch.zeros(3))
    assert torch.allclose(kl_divergence(logits, logits.clone(), mask), torch.zeros(3))


def test_shift_invariance():
    torch.manual_seed(1)
    logits = torch.randn(2, 4, 7)
    mask = torch.ones(2, 4)
    assert re_distance(logits, logits + 3.0, mask).abs().max() < 1e-6


def test_hand_computed_two_vocab_distance():
    # position 0: 2 * (1/4)^2 = 0.125; position 1: 2 * (3/5)^2 = 0.72
    logits_a, logits_b, mask = _two_vocab_example()
    distance = re_distance(logits_a, logits_b, mask)
    assert distance.shape == (1,)
    assert distance.item() == pytest.approx((0.125 + 0.72) / 2, abs=1e-6)


def test_hand_computed_two_vocab_kl():
    # position 0: 1/4 log(1/2) + 3/4 log(3/2); position 1: 1/5 log(1/4) + 4/5 log 4
    logits_a, logits_b, mask = _two_vocab_example()
    expected = (0.13081203594113697 + 0.8317766166719343) / 2
    assert kl_divergence(logits_a, logits_b, mask).item() == pytest.approx(expected, abs=1e-6)


def test_mask_ignores_positions():
    logits_a, logits_b, mask = _two_vocab_example()
    garbage_a, garbage_b = logits_a.clone(), logits_b.clone()
    garbage_a[0, 2] = torch.tensor([100.0, -50.0])
    garbage_b[0, 2] = torch.tensor([-3.0, 40.0])
    for fn in (re_distance, kl_divergence):
        assert fn(garbage_a, garbage_b, mask).item() == pytest.approx(
            fn(logits_a, logits_b, mask).item()
        )
    only_first = torch.tensor([[1, 0, 0]])
    assert re_distance(logits_a, logits_b, only_first).item() == pytest.approx(0.125, abs=1e-6)


def test_per_input_results_and_masks():
    torch.manual_seed(2)
    logits_a, logits_b = torch.randn(2, 6, 5), torch.randn(2, 6, 5)
    mask = torch.tensor([[1, 1, 1, 0, 0, 0], [0, 0, 1, 1, 1, 1]])
    batch = re_distance(logits_a, logits_b, mask)
    for i in range(2):
        single = re_distance(logits_a[i : i + 1], logits_b[i : i + 1], mask[i : i + 1])
        assert batch[i].item() == pytest.approx(single.item(), abs=1e-6)


def test_kl_nonnegative_and_matches_torch_kl_div():
    torch.manual_seed(3)
    logits_a, logits_b = 3 * torch.randn(4, 7, 13), 3 * torch.randn(4, 7, 13)
    mask = torch.ones(4, 7, dtype=torch.bool)
    mask[1, 4:] = False
    ours = kl_divergence(logits_a, logits_b, mask)
    assert (ours >= 0).all()
    per_position = F.kl_div(
        F.log_softmax(logits_b, dim=-1),
        F.log_softmax(logits_a, dim=-1),
        reduction="none",
        log_target=True,
    ).sum(dim=-1)
    m = mask.float()
    expected = (per_position * m).sum(dim=1) / m.sum(dim=1)
    assert torch.allclose(ours, expected, atol=1e-5)
    assert not torch.allclose(ours, kl_divergence(logits_b, logits_a, mask))


def test_kl_handles_minus_inf_logits_in_first_distribution():
    logits_a = torch.tensor([[[0.0, -math.inf]]])
    logits_b = torch.tensor([[[0.0, 0.0]]])
    kl = kl_divergence(logits_a, logits_b, torch.ones(1, 1))
    assert kl.item() == pytest.approx(math.log(2), abs=1e-6)


def test_bfloat16_logits_give_float32():
    logits_a, logits_b, mask = _two_vocab_example()
    out = re_distance(logits_a.bfloat16(), logits_b.bfloat16(), mask)
    assert out.dtype == torch.float32
    assert out.item() == pytest.approx((0.125 + 0.72) / 2, abs=1e-2)


def test_shape_errors():
    a = torch.zeros(2, 3, 4)
    with pytest.raises(ValueError, match="shape"):
        re_distance(a, torch.zeros(2, 3, 5), torch.ones(2, 3))
    with pytest.raises(ValueError, match="mask"):
        kl_divergence(a, a, torch.ones(2, 4))
    with pytest.raises(ValueError, match="masked"):
        re_distance(a, a, torch.tensor([[1, 0, 0], [0, 0, 0]]))


def test_growth_fit_recovers_exact_exponential():
    steps = np.arange(0, 30)
    distances = 3.0 * np.exp(0.2 * steps)
    fit = fit_growth_rate(steps.tolist(), distances.tolist())
    assert fit["slope"] == pytest.approx(0.2, abs=1e-9)
    assert fit["intercept"] == pytest.approx(math.log(3.0), abs=1e-9)
    assert fit["r2"] == pytest.approx(1.0, abs=1e-9)
    assert fit["n_points"] == 30


def test_growth_fit_skips_unusable_points():
    steps = [0, 1, 2, 3, 4, 5, 6]
    distances = [3.0, 0.0, 3.0 * math.exp(0.4), -1.0, math.nan, math.inf, 3.0]
    distances[6] = 3.0 * math.exp(1.2)
    fit = fit_growth_rate(steps, distances)
    assert fit["n_points"] == 3
    assert fit["slope"] == pytest.approx(0.2, abs=1e-9)


def test_growth_fit_r2_below_one_for_noisy_data():
    rng = np.random.default_rng(0)
    steps = np.arange(50)
    distances = np.exp(0.1 * steps + rng.normal(0, 0.5, size=50))
    fit = fit_growth_rate(steps, distances)
    assert 0.0 < fit["r2"] < 1.0
    assert fit["slope"] == pytest.approx(0.1, abs=0.03)


@pytest.mark.parametrize(
    ("steps", "distances", "n_points"),
    [([], [], 0), ([1], [2.0], 1), ([0, 1, 2], [0.0, -1.0, 5.0], 1), ([2, 2], [1, 3], 2)],
)
def test_growth_fit_too_few_points(steps, distances, n_points):
    fit = fit_growth_rate(steps, distances)
    assert fit["n_points"] == n_points
    assert all(math.isnan(fit[key]) for key in ("slope", "intercept", "r2"))


def test_growth_fit_length_mismatch():
    with pytest.raises(ValueError):
        fit_growth_rate([0, 1], [1.0])
