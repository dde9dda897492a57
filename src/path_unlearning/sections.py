"""Parameter sections as typed configs: ``pretrain``, ``finetune`` + ``stages.X``, ``unlearn``.

The nodes and the experiment plan build their configs here, so a bad key or
value fails the same way (a one-line ``ConfigError``) whether it is caught when
the plan is resolved, before any model is built, or when a node runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from path_unlearning.config import from_params
from path_unlearning.errors import ConfigError
from path_unlearning.modeling.train import TrainConfig
from path_unlearning.unlearning.loop import UnlearnConfig
from path_unlearning.unlearning.losses import LOSSES, needs_reference

# Keys a section may hold besides its config's fields; they are read elsewhere.
FINETUNE_EXTRA = ("cache_dir", "lora")
STAGE_EXTRA = ("dataset",)
UNLEARN_EXTRA = (
    "methods",
    "hparams",
    "lora",
    "continue_adapter",
    "eval_subset",
    "eval_batch_size",
    "variants",
)


def pretrain_config(pretrain: Mapping[str, Any], precision: str, seed: int) -> TrainConfig:
    """The tiny base model's pretraining settings."""
    return from_params(TrainConfig, pretrain, "pretrain", precision=precision, seed=seed)


def stage_config(
    finetune: Mapping[str, Any], stage: Mapping[str, Any], letter: str, seed: int
) -> TrainConfig:
    """One stage's settings: ``finetune`` defaults overridden by ``stages.<letter>``."""
    from_params(TrainConfig, finetune, "finetune", ignore=FINETUNE_EXTRA)
    shared = {k: v for k, v in finetune.items() if k not in FINETUNE_EXTRA}
    return from_params(
        TrainConfig, {**shared, **stage}, f"stages.{letter}", ignore=STAGE_EXTRA, seed=seed
    )


def resolve_method(unlearn: Mapping[str, Any] | None, name: str) -> tuple[str, dict[str, Any]]:
    """The registered loss behind a method name, and the overrides of a variant.

    A method is a registered loss (``ga``) or a *variant*: a named entry of
    ``unlearn.variants`` such as ``ga_cosine: {method: ga, scheduler: cosine}``,
    whose other keys override the ``unlearn`` section (``hparams`` merges into
    the loss's ``hparams``). Variants name a loss, never another variant.

    Raises:
        ConfigError: Unknown method, a variant without a registered ``method``,
            or a variant that shadows a loss name.
    """
    variants = (unlearn or {}).get("variants") or {}
    if name not in variants:
        needs_reference(name)  # raises a one-line UnknownMethodError
        return name, {}
    if name in LOSSES:
        raise ConfigError(f"unlearn.variants.{name}: a variant may not reuse a loss name")
    overrides = dict(variants[name] or {})
    loss = overrides.pop("method", None)
    if loss not in LOSSES:
        raise ConfigError(
            f"unlearn.variants.{name}.method={loss!r}: name a registered loss "
            f"({', '.join(sorted(LOSSES))})"
        )
    return str(loss), overrides


def unlearn_config(unlearn: Mapping[str, Any], method: str, seed: int) -> UnlearnConfig:
    """One unlearning run's settings; ``hparams.<loss>`` holds the loss's own.

    ``method`` may be a variant (see :func:`resolve_method`): its overrides apply
    on top of the section, and the config's ``method`` is the variant's loss.
    """
    loss, overrides = resolve_method(unlearn, method)
    hparams = dict((unlearn.get("hparams") or {}).get(loss) or {})
    hparams.update(overrides.pop("hparams", None) or {})
    section = "unlearn" if loss == method else f"unlearn.variants.{method}"
    return from_params(
        UnlearnConfig,
        {**unlearn, **overrides},
        section,
        ignore=UNLEARN_EXTRA,
        method=loss,
        seed=seed,
        hparams=hparams,
    )


def validate_sections(params: Mapping[str, Any], methods: tuple[str, ...]) -> None:
    """Build every config the run will build, so bad settings fail before compute."""
    finetune = params.get("finetune")
    if finetune is not None:
        for letter, stage in (params.get("stages") or {}).items():
            stage_config(finetune, stage, letter, seed=0)
        if not (params.get("model") or {}).get("name_or_path") and "pretrain" in params:
            pretrain_config(params["pretrain"], finetune.get("precision", "no"), seed=0)
    if "unlearn" in params:
        for method in methods:
            unlearn_config(params["unlearn"], method, seed=0)
