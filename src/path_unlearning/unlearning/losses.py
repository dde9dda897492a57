"""Unlearning losses: the local methods GA, NPO, SimNPO, and the non-local GradDiff.

A method is one :class:`Method` object in the registry :data:`LOSSES`: its
hyper-parameters (a pydantic :class:`Hparams` model with ranges), the inputs it
declares (:class:`Input`: reference log-probs, retain batches) and its loss.
The loop, the pipeline and the data-parallel workers ask the method what it
needs; adding one is one :func:`register` call (docs/how_to_add_method.md).

Every loss takes per-example tensors of shape ``[B]``:

* ``logp``: summed log-probability of the response tokens under the model being
  unlearned (differentiable),
* ``n_tokens``: number of response tokens of each example,
* ``ref_logp``: summed log-probability under the reference model (the model
  before unlearning), without gradient; only methods that declare
  :attr:`Input.REFERENCE` get it (NPO),
* ``retain_logp``: summed log-probability of a retain batch (differentiable);
  only methods that declare :attr:`Input.RETAIN` get it (GradDiff).

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
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

import torch
import torch.nn.functional as F
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from torch import Tensor

from path_unlearning.errors import ConfigError, quoted


class UnknownMethodError(ConfigError):
    """An unlearning method name that is not registered in :data:`LOSSES`."""


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


class Input(StrEnum):
    """What a method may ask the loop for besides the forget batch's own log-probs.

    The value is the :class:`ForgetBatch` field the loop fills in.
    """

    REFERENCE = "ref_logp"
    """Forget log-probs under the model before unlearning, scored once before the first step."""
    RETAIN = "retain_logp"
    """Log-probs of a retain batch (``batch_size`` examples drawn with the unlearning seed)."""


_INPUT_MEANING = {
    Input.REFERENCE: "log-probs under the reference model",
    Input.RETAIN: "log-probs of a retain batch",
}


class Hparams(BaseModel):
    """Base of every method's hyper-parameters: no unknown keys, immutable once bound."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class NoHparams(Hparams):
    """GA has no hyper-parameters."""


class NPOHparams(Hparams):
    """NPO's hyper-parameters."""

    beta: float = Field(0.5, gt=0, description="inverse temperature, > 0 (0.5 in the paper)")


class SimNPOHparams(Hparams):
    """SimNPO's hyper-parameters (the path-dependence paper's variant)."""

    beta: float = Field(1.0, gt=0, description="inverse temperature, > 0 (1 in the paper)")
    gamma: float = Field(0.0, description="reward margin, any real (0: none)")


class SimNPOOriginalHparams(SimNPOHparams):
    """Original SimNPO's hyper-parameters: Fan et al.'s TOFU settings by default."""

    beta: float = Field(2.5, gt=0, description="inverse temperature, > 0 (2.5 on TOFU)")


class GradDiffHparams(Hparams):
    """GradDiff's hyper-parameters."""

    retain_weight: float = Field(
        1.0, ge=0, description="weight of the retain NLL, >= 0 (0 is plain GA)"
    )


LossFn = Callable[[ForgetBatch], Tensor]


@dataclass(frozen=True)
class Method:
    """An unlearning method: everything the loop, the pipeline and the workers ask about it.

    Attributes:
        name: Registry key; also part of node and dataset names (``s0.BCA.<name>.trajectory``).
        hparams: Its hyper-parameters (a :class:`Hparams` model); the field defaults
            are the method's defaults and the field constraints their ranges.
        loss: ``loss(batch, hparams)``: the scalar loss of a :class:`ForgetBatch`,
            given an instance of ``hparams``. It may read ``batch.logp`` and
            ``batch.n_tokens``, and the fields of the declared ``inputs``.
        inputs: What the loop must provide besides the forget batch.
        description: One line for logs and docs.
    """

    name: str
    hparams: type[Hparams]
    loss: Callable[[ForgetBatch, Any], Tensor]
    inputs: frozenset[Input] = frozenset()
    description: str = ""

    def needs(self, what: Input) -> bool:
        """Whether the loop must provide ``what`` to this method."""
        return what in self.inputs

    @property
    def defaults(self) -> dict[str, Any]:
        """Hyper-parameter names and their default values."""
        return {name: info.default for name, info in self.hparams.model_fields.items()}

    def bind(self, **hparams: object) -> LossFn:
        """The loss as a function of a batch, with ``hparams`` over the defaults.

        Raises:
            ValueError: An unknown hyper-parameter, a non-number, or a value out
                of its range; the message is one line.
        """
        unknown = sorted(set(hparams) - set(self.hparams.model_fields))
        if unknown:
            allowed = ", ".join(sorted(self.hparams.model_fields)) or "none"
            raise ValueError(
                f"unknown hyper-parameter(s) {', '.join(unknown)} for {quoted(self.name)}; "
                f"allowed: {allowed}"
            )
        try:
            numbers = {k: float(v) for k, v in hparams.items()}  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise ValueError(
                f"hyper-parameters of {quoted(self.name)} must be numbers, got {quoted(hparams)}"
            ) from None
        try:
            bound = self.hparams(**numbers)
        except ValidationError as error:
            raise ValueError(_one_line(error)) from None
        return functools.partial(self._loss, bound)

    def _loss(self, hparams: Hparams, batch: ForgetBatch) -> Tensor:
        for what in sorted(self.inputs):
            if getattr(batch, what.value) is None:
                raise ValueError(f"{self.name} needs {what.value} ({_INPUT_MEANING[what]})")
        return self.loss(batch, hparams)


_BOUNDS = {
    "greater_than": ">",
    "greater_than_equal": ">=",
    "less_than": "<",
    "less_than_equal": "<=",
}


def _one_line(error: ValidationError) -> str:
    """The first problem of a validation error, as ``beta must be > 0, got 0.0``."""
    first = error.errors()[0]
    field = ".".join(str(part) for part in first["loc"])
    ctx = first.get("ctx") or {}
    if first["type"] in _BOUNDS and ctx:
        (bound,) = ctx.values()
        return f"{field} must be {_BOUNDS[first['type']]} {bound:g}, got {quoted(first['input'])}"
    return f"{field}: {first['msg']}, got {quoted(first['input'])}"


LOSSES: dict[str, Method] = {}
"""The registered methods, by name (see :func:`register`)."""

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def register(method: Method) -> Method:
    """Add a method to :data:`LOSSES`; the one step that makes it usable everywhere.

    Raises:
        ValueError: If the name is taken or is not a lower-case identifier (it
            becomes part of node and dataset names).
    """
    if not _NAME.match(method.name):
        raise ValueError(f"method name {quoted(method.name)} must match {_NAME.pattern}")
    if method.name in LOSSES:
        raise ValueError(f"unlearning method {quoted(method.name)} is already registered")
    LOSSES[method.name] = method
    return method


def _ga(batch: ForgetBatch, hparams: NoHparams) -> Tensor:
    return ga_loss(batch.logp)


def _npo(batch: ForgetBatch, hparams: NPOHparams) -> Tensor:
    return npo_loss(batch.logp, batch.ref_logp, beta=hparams.beta)


def _simnpo(batch: ForgetBatch, hparams: SimNPOHparams) -> Tensor:
    return simnpo_loss(batch.logp, batch.n_tokens, beta=hparams.beta, gamma=hparams.gamma)


def _simnpo_original(batch: ForgetBatch, hparams: SimNPOOriginalHparams) -> Tensor:
    return simnpo_loss(
        batch.logp, batch.n_tokens, beta=hparams.beta, gamma=hparams.gamma, length_normalized=True
    )


def _gradiff(batch: ForgetBatch, hparams: GradDiffHparams) -> Tensor:
    return gradiff_loss(batch.logp, batch.retain_logp, retain_weight=hparams.retain_weight)


register(Method("ga", NoHparams, _ga, description="gradient ascent: minimise mean log p(y|x)"))
register(
    Method(
        "npo",
        NPOHparams,
        _npo,
        frozenset({Input.REFERENCE}),
        "NPO against the pre-unlearning model, beta=0.5",
    )
)
register(
    Method(
        "simnpo",
        SimNPOHparams,
        _simnpo,
        description="SimNPO as in the paper: summed log-prob, beta=1, no margin",
    )
)
# Original SimNPO (Fan et al. 2024): length-normalised log-prob and a margin
# gamma; beta=2.5, gamma=0 are that paper's TOFU settings.
register(
    Method(
        "simnpo_original",
        SimNPOOriginalHparams,
        _simnpo_original,
        description="SimNPO of Fan et al. 2024: log-prob / length, beta=2.5, gamma=0",
    )
)
# Non-local contrast: the retain set is the plan's other stages' training data.
register(
    Method(
        "gradiff",
        GradDiffHparams,
        _gradiff,
        frozenset({Input.RETAIN}),
        "GradDiff: GA on the forget set plus retain_weight x NLL of a retain set",
    )
)


def get_method(name: str) -> Method:
    """The registered method called ``name``.

    Raises:
        UnknownMethodError: If ``name`` is not registered (one line, naming the known ones).
    """
    try:
        return LOSSES[name]
    except (KeyError, TypeError):
        known = ", ".join(sorted(LOSSES))
        raise UnknownMethodError(
            f"unknown unlearning method {quoted(name)}; known methods: {known}"
        ) from None


def get_loss(name: str, **hparams: object) -> LossFn:
    """Bind a registered method's loss to its hyper-parameters (``get_method(name).bind``).

    Raises:
        UnknownMethodError: If ``name`` is not registered.
        ValueError: If a hyper-parameter name is unknown or a value is out of its range.
    """
    return get_method(name).bind(**hparams)


def _registered(name: str) -> str:
    get_method(name)  # a one-line UnknownMethodError (a ConfigError)
    return name


MethodName = Annotated[str, AfterValidator(_registered)]
"""A config field holding a registered method's name.

Checked against :data:`LOSSES` when the config is built, not when a module is
imported, so a method registered later (a plugin, a test) is accepted too; a
``Literal`` of the names at import time would reject it.
"""


def needs_reference(name: str) -> bool:
    """Whether the named method declares :attr:`Input.REFERENCE` (True for ``npo``).

    Raises:
        UnknownMethodError: If ``name`` is not registered.
    """
    return get_method(name).needs(Input.REFERENCE)


def needs_retain(name: str) -> bool:
    """Whether the named method declares :attr:`Input.RETAIN` (True for ``gradiff``).

    Raises:
        UnknownMethodError: If ``name`` is not registered.
    """
    return get_method(name).needs(Input.RETAIN)
