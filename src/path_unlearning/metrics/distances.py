"""Distances between models' next-token distributions, and growth-rate fits.

The retrain-equivalence distance (Definition 2.1 of the paper) is the mean over
test inputs of ``||Pred(theta_u, x) - Pred(theta_r, x)||^2``. Here ``Pred`` is the
next-token distribution at every response position: :func:`re_distance` returns
one value per input (averaged over its masked positions), and callers take the
mean over inputs. :func:`pairwise_distances` computes both from models, a chunk of
response positions at a time, so real vocabularies (128k) fit in memory.
:func:`fit_growth_rate` fits ``log(distance) = slope * step +
intercept`` to check exponential divergence.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from scipy import optimize
from torch import Tensor

from path_unlearning.modeling.scoring import CHUNK_POSITIONS, chunked_log_probs
from path_unlearning.schemas import KL, RE_DISTANCE


def _check_inputs(logits_a: Tensor, logits_b: Tensor, mask: Tensor) -> Tensor:
    if logits_a.dim() != 3 or logits_a.shape != logits_b.shape:
        raise ValueError(
            "logits must both have shape [B, T, V], got "
            f"{tuple(logits_a.shape)} and {tuple(logits_b.shape)}"
        )
    if tuple(mask.shape) != tuple(logits_a.shape[:2]):
        raise ValueError(
            f"mask has shape {tuple(mask.shape)}, expected {tuple(logits_a.shape[:2])}"
        )
    weights = mask.to(device=logits_a.device, dtype=torch.float32)
    if bool((weights.sum(dim=1) == 0).any()):
        raise ValueError("every input needs at least one masked (response) position")
    return weights


def _masked_mean(values: Tensor, weights: Tensor) -> Tensor:
    return (values * weights).sum(dim=1) / weights.sum(dim=1)


def re_distance(logits_a: Tensor, logits_b: Tensor, mask: Tensor) -> Tensor:
    """Squared L2 distance between next-token distributions, per input.

    Args:
        logits_a: Logits of the first model, shape ``[B, T, V]``.
        logits_b: Logits of the second model, same shape.
        mask: ``[B, T]`` bool or 0/1; positions to compare (response tokens).

    Returns:
        ``[B]`` float32 tensor: for each input, the mean over masked positions of
        ``sum_v (softmax(a) - softmax(b))^2``.

    Raises:
        ValueError: On mismatched shapes or an input with no masked position.
    """
    weights = _check_inputs(logits_a, logits_b, mask)
    p_a = torch.softmax(logits_a.float(), dim=-1)
    p_b = torch.softmax(logits_b.float(), dim=-1)
    per_position = (p_a - p_b).pow(2).sum(dim=-1)
    return _masked_mean(per_position, weights)


def kl_divergence(logits_a: Tensor, logits_b: Tensor, mask: Tensor) -> Tensor:
    """``KL(p_a || p_b)`` between next-token distributions, per input.

    Computed from ``log_softmax`` of both logits for numerical stability; tokens
    with ``p_a = 0`` (e.g. ``-inf`` logits) contribute 0. Tiny negative values from
    rounding are clipped to 0.

    Args:
        logits_a: Logits of the first model, shape ``[B, T, V]``.
        logits_b: Logits of the second model, same shape.
        mask: ``[B, T]`` bool or 0/1; positions to compare (response tokens).

    Returns:
        ``[B]`` float32 tensor: for each input, the mean over masked positions of
        ``sum_v p_a * (log p_a - log p_b)``.

    Raises:
        ValueError: On mismatched shapes or an input with no masked position.
    """
    weights = _check_inputs(logits_a, logits_b, mask)
    log_p_a = F.log_softmax(logits_a.float(), dim=-1)
    log_p_b = F.log_softmax(logits_b.float(), dim=-1)
    p_a = log_p_a.exp()
    terms = torch.where(p_a > 0, p_a * (log_p_a - log_p_b), torch.zeros_like(p_a))
    per_position = terms.sum(dim=-1)
    return _masked_mean(per_position.clamp_min(0.0), weights)


def position_distances(log_p_a: Tensor, log_p_b: Tensor) -> tuple[Tensor, Tensor]:
    """Squared L2 distance and ``KL(p_a || p_b)`` per position, from log-probs.

    Args:
        log_p_a: ``[..., V]`` log-softmax of the first model.
        log_p_b: Same shape, second model.

    Returns:
        ``(re, kl)``, each of shape ``[...]``; KL terms with ``p_a = 0`` are 0.
    """
    p_a, p_b = log_p_a.exp(), log_p_b.exp()
    re = (p_a - p_b).pow(2).sum(dim=-1)
    terms = torch.where(p_a > 0, p_a * (log_p_a - log_p_b), torch.zeros_like(p_a))
    return re, terms.sum(dim=-1)


def pairwise_distances(
    models: Mapping[Hashable, torch.nn.Module],
    pairs: Sequence[tuple[Hashable, Hashable]],
    batches: list[dict[str, Tensor]],
    chunk_positions: int = CHUNK_POSITIONS,
) -> dict[tuple[Hashable, Hashable], dict[str, float]]:
    """RE distance and KL between pairs of models, chunk by chunk (memory-safe).

    Every model runs once per batch; its next-token distributions are formed a
    chunk of response positions at a time and compared there, so memory stays
    at about ``len(models) x chunk_positions x vocabulary`` floats, whatever the
    size of the set. The values equal :func:`re_distance` and
    :func:`kl_divergence` on full logits, averaged over inputs.

    Args:
        models: Models by key (paths, or "model" and "reference").
        pairs: Which ``(a, b)`` keys to compare; KL is ``KL(a || b)``.
        batches: The pre-encoded test set.
        chunk_positions: Response positions per chunk.

    Returns:
        For each pair, ``{RE_DISTANCE: ..., KL: ...}``: means over inputs of the
        per-input means over response positions.
    """
    keys = list(models)
    index = {k: i for i, k in enumerate(keys)}
    n_inputs = sum(int(b["input_ids"].shape[0]) for b in batches)
    counts = torch.zeros(n_inputs, dtype=torch.float64)
    sums = {
        pair: (
            torch.zeros(n_inputs, dtype=torch.float64),
            torch.zeros(n_inputs, dtype=torch.float64),
        )
        for pair in pairs
    }
    for log_probs, rows in chunked_log_probs([models[k] for k in keys], batches, chunk_positions):
        counts.index_add_(0, rows, torch.ones(rows.shape[0], dtype=torch.float64))
        for (a, b), (re_sum, kl_sum) in sums.items():
            re, kl = position_distances(log_probs[index[a]], log_probs[index[b]])
            re_sum.index_add_(0, rows, re.double().cpu())
            kl_sum.index_add_(0, rows, kl.double().cpu())
    if bool((counts == 0).any()):
        raise ValueError("every input needs at least one masked (response) position")
    return {
        pair: {
            RE_DISTANCE: (re_sum / counts).mean().item(),
            KL: (kl_sum / counts).clamp_min(0.0).mean().item(),
        }
        for pair, (re_sum, kl_sum) in sums.items()
    }


def fit_growth_rate(steps: Sequence[float], distances: Sequence[float]) -> dict[str, float | int]:
    """Least-squares fit of ``log(distance) = slope * step + intercept``.

    Points whose distance is not positive or whose step or distance is not finite
    are skipped. With fewer than 2 usable points (or all at the same step) the
    fit is undefined and slope, intercept and r2 are NaN.

    Args:
        steps: Step indices (e.g. unlearning steps).
        distances: Distances at those steps.

    Returns:
        ``{"slope", "intercept", "r2", "n_points"}``; ``r2`` is the coefficient of
        determination in log space (1.0 for an exact fit).
    """
    x = np.asarray(steps, dtype=np.float64).ravel()
    y = np.asarray(distances, dtype=np.float64).ravel()
    if x.shape != y.shape:
        raise ValueError(f"{x.size} steps but {y.size} distances")
    keep = np.isfinite(x) & np.isfinite(y) & (y > 0)
    x, log_y = x[keep], np.log(y[keep])
    n_points = int(x.size)
    nan = {"slope": math.nan, "intercept": math.nan, "r2": math.nan}
    if n_points < 2:
        return {**nan, "n_points": n_points}
    x_centred = x - x.mean()
    sxx = float(np.dot(x_centred, x_centred))
    if sxx == 0.0:
        return {**nan, "n_points": n_points}
    slope = float(np.dot(x_centred, log_y - log_y.mean())) / sxx
    intercept = float(log_y.mean() - slope * x.mean())
    residuals = log_y - (slope * x + intercept)
    ss_res = float(np.dot(residuals, residuals))
    ss_tot = float(np.dot(log_y - log_y.mean(), log_y - log_y.mean()))
    r2 = 1.0 - ss_res / ss_tot if ss_tot > 0 else 1.0
    return {"slope": slope, "intercept": intercept, "r2": r2, "n_points": n_points}


GROWTH_MODELS = ("exponential", "linear", "saturating")


def _aic(rss: float, n: int, k: int) -> float:
    return n * math.log(max(rss, 1e-300) / n) + 2 * k


def growth_fits(steps: Sequence[float], distances: Sequence[float]) -> dict[str, dict]:
    """Least-squares fits of three growth models, each with its AIC.

    * exponential ``d = a exp(b t)``
    * linear ``d = a + b t``
    * saturating ``d = c - (c - a) exp(-b t)`` (rises to the plateau ``c``)

    Fitted on the distance scale, so the AICs compare; ``b`` is the rate in
    every model. Fewer than 4 finite points: every fit is NaN.
    """
    t = np.asarray(steps, float)
    d = np.asarray(distances, float)
    keep = np.isfinite(t) & np.isfinite(d)
    t, d = t[keep], d[keep]
    empty = {"a": math.nan, "b": math.nan, "c": math.nan, "aic": math.nan, "n": int(t.size)}
    if t.size < 4 or np.ptp(t) == 0:
        return {m: dict(empty) for m in GROWTH_MODELS}
    t0 = t - t.min()
    fits = {}
    b, a = np.polyfit(t0, d, 1)
    fits["linear"] = {**empty, "a": float(a), "b": float(b),
                      "aic": _aic(float(((a + b * t0 - d) ** 2).sum()), t.size, 2)}  # fmt: skip
    positive = d > 0
    guess = np.polyfit(t0[positive], np.log(d[positive]), 1) if positive.sum() >= 2 else (0, 0)
    models = {
        "exponential": (lambda x, a, b: a * np.exp(b * x), [math.exp(guess[1]), guess[0]]),
        "saturating": (
            lambda x, a, b, c: c - (c - a) * np.exp(-b * x),
            [d[0], 1.0 / max(np.ptp(t0), 1.0), d.max()],
        ),
    }
    for name, (f, p0) in models.items():
        try:
            with np.errstate(all="ignore"):
                params, _ = optimize.curve_fit(f, t0, d, p0=p0, maxfev=20_000)
            rss = float(((f(t0, *params) - d) ** 2).sum())
            values = dict(zip("abc", map(float, params), strict=False))
            fits[name] = {**empty, **values, "aic": _aic(rss, t.size, len(params))}
        except (RuntimeError, ValueError, optimize.OptimizeWarning):
            fits[name] = dict(empty)
    return {m: fits[m] for m in GROWTH_MODELS}
