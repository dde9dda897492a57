"""Unlearning losses: the local methods GA, NPO, SimNPO, and the non-local GradDiff.

Every loss takes per-example tensors of shape ``[B]``:

* ``logp``: summed log-probability of the response tokens under the model being
  unlearned (differentiable),
* ``n_tokens``: number of response tokens of each example,
* ``ref_logp``: summed log-probability under the reference model (the model
  before unlearning), without gradient; only NPO needs it,
* ``retain_logp``: summed log-probability of a retain batch (differentiable);
  only GradDiff needs it.

Minimising any of these losses lowers ``logp`` on the forget set: the gradient
with respect to each ``logp`` entry is positive.

Definitions:

* GA: ``mean(logp)`` (gradient ascent on the negative log-likelihood).
* NPO (Zhang et al. 2024): ``-(2/beta) * mean(logsigmoid(-beta * (logp - ref_logp)))``.
* SimNPO, paper variant (Yu et al. 2025): ``-(2/beta) * mean(logsigmoid(-beta * logp))``
  with the summed log-probability and no margin.
* SimNPO, original (Fan et al. 2024):
  ``-(2/beta) * mean(logsigmoid(-beta * logp / n_tokens - gamma))``.
* GradDiff (gradient difference, Liu et al. 2022; Maini et al. 2024):
  ``mean(logp) - retain_weight * mean(retain_logp)``: GA on the forget batch plus
  the NLL of a retain batch. It is *not* local: its gradient also uses data
  outside the forget set. Both terms use summed log-probabilities, like GA.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor

from path_unlearning.errors import ConfigError, quoted


class UnknownMethodError(ConfigError):
    """An unlearning method name that is not in :data:`LOSSES`."""


def _check_positive_beta(beta: float) -> None:
    if not beta > 0:
        raise ValueError(f"beta must be > 0, got {quoted(beta)}")


def _check_same_shape(name: str, a: Tensor, b: Tensor) -> None:
    if a.shape != b.shape:
        raise ValueError(f"{name} has shape {tuple(b.shape)}, expected {tuple(a.shape)} like logp")


def ga_loss(logp: Tensor) -> Tensor:
    """Gradient-ascent loss: the mean log-likelihood of the forget responses.

    Args:
        logp: Summed response log-probabilities, shape ``[B]``.

    Returns:
        Scalar loss ``mean(logp)``.
    """
    return logp.mean()


def npo_loss(logp: Tensor, ref_logp: Tensor, beta: float = 0.5) -> Tensor:
    """Negative Preference Optimization loss (Zhang et al. 2024).

    ``-(2/beta) * mean(logsigmoid(-beta * (logp - ref_logp)))``. Its gradient with
    respect to ``logp[i]`` is ``(2/B) * sigmoid(beta * (logp[i] - ref_logp[i]))``,
    which equals the GA gradient ``1/B`` where ``logp == ref_logp``.

    Args:
        logp: Summed response log-probabilities under the current model, ``[B]``.
        ref_logp: The same under the reference model (detached), ``[B]``.
        beta: Inverse temperature, > 0 (0.5 in the paper).

    Returns:
        Scalar loss.
    """
    _check_positive_beta(beta)
    _check_same_shape("ref_logp", logp, ref_logp)
    ratio = logp - ref_logp.detach().to(logp.dtype)
    return -(2.0 / beta) * F.logsigmoid(-beta * ratio).mean()


def simnpo_loss(
    logp: Tensor,
    n_tokens: Tensor,
    beta: float = 1.0,
    gamma: float = 0.0,
    length_normalized: bool = False,
) -> Tensor:
    """SimNPO loss: NPO without a reference model.

    With ``length_normalized=False`` and ``gamma=0`` this is the variant of the
    path-dependence paper, ``-(2/beta) * mean(logsigmoid(-beta * logp))``. With
    ``length_normalized=True`` it is the original SimNPO of Fan et al. (2024),
    ``-(2/beta) * mean(logsigmoid(-beta * logp / n_tokens - gamma))``.

    Args:
        logp: Summed response log-probabilities, shape ``[B]``.
        n_tokens: Number of response tokens per example (> 0), shape ``[B]``.
        beta: Inverse temperature, > 0.
        gamma: Reward margin of the original SimNPO.
        length_normalized: Divide ``logp`` by ``n_tokens`` before scaling.

    Returns:
        Scalar loss.
    """
    _check_positive_beta(beta)
    reward = logp
    if length_normalized:
        n_tokens = torch.as_tensor(n_tokens, device=logp.device)
        _check_same_shape("n_tokens", logp, n_tokens)
        reward = logp / n_tokens.to(logp.dtype)
    return -(2.0 / beta) * F.logsigmoid(-beta * reward - gamma).mean()


def gradiff_loss(logp: Tensor, retain_logp: Tensor, retain_weight: float = 1.0) -> Tensor:
    """Gradient difference: GA on the forget batch plus the retain batch's NLL.

    ``mean(logp) - retain_weight * mean(retain_logp)``; the two batches may differ
    in size.

    Args:
        logp: Summed forget-response log-probabilities, shape ``[B]``.
        retain_logp: Summed retain-response log-probabilities, shape ``[B']``.
        retain_weight: Weight of the retain NLL, >= 0 (0 is plain GA).

    Returns:
        Scalar loss.
    """
    if not retain_weight >= 0:
        raise ValueError(f"retain_weight must be >= 0, got {quoted(retain_weight)}")
    return ga_loss(logp) - retain_weight * retain_logp.to(logp.dtype).mean()


@dataclass(frozen=True)
class ForgetBatch:
    """Per-example quantities of a forget batch that the losses consume.

    Attributes:
        logp: Summed response log-probabilities under the current model, ``[B]``.
        n_tokens: Response lengths in tokens, ``[B]``.
        ref_logp: Summed response log-probabilities under the reference model,
            ``[B]``, or ``None`` when the method does not need it.
        retain_logp: Summed log-probabilities of a retain batch, ``[B']``, or
            ``None`` when the method does not need it.
    """

    logp: Tensor
    n_tokens: Tensor
    ref_logp: Tensor | None = None
    retain_logp: Tensor | None = None


LossFn = Callable[[ForgetBatch], Tensor]


@dataclass(frozen=True)
class LossSpec:
    """A registered unlearning loss.

    Attributes:
        fn: Loss of a :class:`ForgetBatch` and keyword hyper-parameters.
        defaults: Hyper-parameter names and their default values.
        needs_reference: Whether the loss reads ``ForgetBatch.ref_logp``.
        description: One line for logs and docs.
        needs_retain: Whether the loss reads ``ForgetBatch.retain_logp``.
    """

    fn: Callable[..., Tensor]
    defaults: Mapping[str, float] = field(default_factory=dict)
    needs_reference: bool = False
    description: str = ""
    needs_retain: bool = False


def _ga(batch: ForgetBatch) -> Tensor:
    return ga_loss(batch.logp)


def _npo(batch: ForgetBatch, beta: float) -> Tensor:
    if batch.ref_logp is None:
        raise ValueError("npo needs ref_logp (log-probs under the reference model)")
    return npo_loss(batch.logp, batch.ref_logp, beta=beta)


def _simnpo(batch: ForgetBatch, beta: float, gamma: float) -> Tensor:
    return simnpo_loss(batch.logp, batch.n_tokens, beta=beta, gamma=gamma)


def _simnpo_original(batch: ForgetBatch, beta: float, gamma: float) -> Tensor:
    return simnpo_loss(batch.logp, batch.n_tokens, beta=beta, gamma=gamma, length_normalized=True)


def _gradiff(batch: ForgetBatch, retain_weight: float) -> Tensor:
    if batch.retain_logp is None:
        raise ValueError("gradiff needs retain_logp (log-probs of a retain batch)")
    return gradiff_loss(batch.logp, batch.retain_logp, retain_weight=retain_weight)


LOSSES: dict[str, LossSpec] = {
    "ga": LossSpec(_ga, {}, False, "gradient ascent: minimise mean log p(y|x)"),
    "npo": LossSpec(_npo, {"beta": 0.5}, True, "NPO against the pre-unlearning model, beta=0.5"),
    "simnpo": LossSpec(
        _simnpo,
        {"beta": 1.0, "gamma": 0.0},
        False,
        "SimNPO as in the paper: summed log-prob, beta=1, no margin",
    ),
    # Original SimNPO (Fan et al. 2024): length-normalised log-prob and a margin
    # gamma; beta=2.5, gamma=0 are that paper's TOFU settings.
    "simnpo_original": LossSpec(
        _simnpo_original,
        {"beta": 2.5, "gamma": 0.0},
        False,
        "SimNPO of Fan et al. 2024: log-prob / length, beta=2.5, gamma=0",
    ),
    # Non-local contrast: the retain set is the plan's other stages' training data.
    "gradiff": LossSpec(
        _gradiff,
        {"retain_weight": 1.0},
        False,
        "GradDiff: GA on the forget set plus retain_weight x NLL of a retain set",
        needs_retain=True,
    ),
}


def _spec(name: str) -> LossSpec:
    try:
        return LOSSES[name]
    except (KeyError, TypeError):
        known = ", ".join(sorted(LOSSES))
        raise UnknownMethodError(
            f"unknown unlearning method {quoted(name)}; known methods: {known}"
        ) from None


def get_loss(name: str, **hparams: object) -> LossFn:
    """Bind a registered loss to its hyper-parameters.

    Args:
        name: A key of :data:`LOSSES` (``ga``, ``npo``, ``simnpo``,
            ``simnpo_original``, ``gradiff``).
        **hparams: Overrides of the loss's default hyper-parameters.

    Returns:
        A function of a :class:`ForgetBatch` returning the scalar loss.

    Raises:
        UnknownMethodError: If ``name`` is not registered.
        ValueError: If a hyper-parameter name is unknown or beta is not > 0.
    """
    spec = _spec(name)
    unknown = sorted(set(hparams) - set(spec.defaults))
    if unknown:
        allowed = ", ".join(sorted(spec.defaults)) or "none"
        raise ValueError(
            f"unknown hyper-parameter(s) {', '.join(unknown)} for {quoted(name)}; allowed: {allowed}"
        )
    try:
        bound = {k: float(v) for k, v in {**spec.defaults, **hparams}.items()}
    except (TypeError, ValueError):
        raise ValueError(
            f"hyper-parameters of {quoted(name)} must be numbers, got {quoted(hparams)}"
        ) from None
    if "beta" in bound:
        _check_positive_beta(bound["beta"])
    if bound.get("retain_weight", 0.0) < 0:
        raise ValueError(f"retain_weight must be >= 0, got {quoted(bound['retain_weight'])}")
    return functools.partial(spec.fn, **bound)


def needs_reference(name: str) -> bool:
    """Whether the named loss needs reference-model log-probs (True for ``npo``).

    Raises:
        UnknownMethodError: If ``name`` is not registered.
    """
    return _spec(name).needs_reference


def needs_retain(name: str) -> bool:
    """Whether the named loss needs retain batches (True for ``gradiff``).

    Raises:
        UnknownMethodError: If ``name`` is not registered.
    """
    return _spec(name).needs_retain
