"""Parameter sections as typed configs: ``pretrain``, ``finetune`` + ``stages.X``, ``unlearn``.

The nodes and the experiment plan build their configs here, so a bad key or
value fails the same way (a one-line ``ConfigError``) whether it is caught when
the plan is resolved, before any model is built, or when a node runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

from path_unlearning.config import bounded, check_ranges, from_params
from path_unlearning.errors import ConfigError, quoted
from path_unlearning.modeling.launch import LaunchSettings
from path_unlearning.modeling.train import OPTIMIZERS, OptimConfig, TrainConfig
from path_unlearning.unlearning.loop import UnlearnConfig
from path_unlearning.unlearning.losses import LOSSES, get_loss, needs_reference

# Keys a section may hold besides its config's fields; they are read elsewhere.
# Data-parallel workers (modeling/launch.py), per section: finetune and unlearn.
LAUNCH_KEYS = ("num_processes", "accelerate_config")
FINETUNE_EXTRA = ("cache_dir", "lora", *LAUNCH_KEYS)
STAGE_EXTRA = ("dataset",)
UNLEARN_EXTRA = (
    "methods",
    "hparams",
    "lora",
    "continue_adapter",
    "eval_subset",
    "eval_batch_size",
    "variants",
    *LAUNCH_KEYS,
)


@dataclass(frozen=True)
class ProbeSettings:
    """``unlearn``'s per-step probes: how many examples, in batches of what size."""

    eval_subset: int = bounded(32, 1, integer=True)
    eval_batch_size: int = bounded(64, 1, integer=True)


@dataclass(frozen=True)
class EvaluateSettings:
    """The ``evaluate`` section."""

    batch_size: int = bounded(128, 1, integer=True)
    math_max_new_tokens: int = bounded(24, 1, integer=True)
    math_samples: int = bounded(0, 0, integer=True)  # 0: greedy answers only
    math_temperature: float = bounded(0.7, 0, low_open=True)
    seed: int = bounded(0, 0, integer=True)
    # Score the end-of-turn token after full responses (facts, math); the paper's code
    # scores none (add_end_tokens=False), conf/paper sets false.
    score_end_token: bool = True


@dataclass(frozen=True)
class SyntheticDataSizes:
    """The synthetic ``data_prep`` section: every set must have at least one row."""

    seed: int = bounded(0, 0, integer=True)
    n_authors: int = bounded(40, 1, integer=True)
    n_math_train: int = bounded(600, 1, integer=True)
    n_math_test: int = bounded(100, 1, integer=True)
    n_refusals: int = bounded(300, 1, integer=True)
    n_pretrain: int = bounded(3000, 1, integer=True)
    n_generic_test: int = bounded(96, 3, integer=True)  # a third from each stage
    n_facts_eval: int = bounded(96, 1, integer=True)
    n_forget_eval: int = bounded(32, 1, integer=True)


@dataclass(frozen=True)
class RunSettings:
    """Top-level settings of the process."""

    torch_threads: int | None = bounded(None, 1, integer=True, optional=True)


def project_folder(value: Any, key: str) -> str:
    """Check that an output folder is a relative path inside the project.

    Raises:
        ConfigError: Absolute paths and paths that climb out with ``..``.
    """
    path = PurePath(str(value))
    if path.is_absolute() or ".." in path.parts or not str(value).strip():
        raise ConfigError(
            f"{key}={quoted(value)} must be a folder inside the project, written relative to its "
            "root (e.g. data/06_models/training_cache)"
        )
    return str(value)


def launch_settings(section: Mapping[str, Any] | None, name: str) -> LaunchSettings:
    """``<name>.num_processes`` and ``<name>.accelerate_config`` of ``finetune`` or ``unlearn``.

    Raises:
        ConfigError: A count below 1, or a config file that does not exist
            (relative paths resolve against the working directory).
    """
    section = section or {}
    values = {k: section[k] for k in LAUNCH_KEYS if k in section}
    settings = from_params(LaunchSettings, values, name)
    config = settings.accelerate_config
    if config is not None and (not isinstance(config, str) or not Path(config).is_file()):
        raise ConfigError(
            f"{name}.accelerate_config={quoted(config)}: no such file; give the path of an "
            "`accelerate config` YAML file, or null"
        )
    return settings


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
            f"unlearn.variants.{name}.method={quoted(loss)}: name a registered loss "
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


def check_optimiser(config: OptimConfig, section: str) -> None:
    """Raise ``ConfigError`` unless the optimiser and the schedule are known by name.

    Both are looked up only when training starts, after a model is built; this
    checks them at plan time (the schedule names are transformers' own).
    """
    from transformers import SchedulerType  # noqa: PLC0415 - transformers is slow to import

    schedules = [kind.value for kind in SchedulerType]
    if config.scheduler not in schedules:
        raise ConfigError(
            f"{section}.scheduler={quoted(config.scheduler)}: use one of {', '.join(schedules)}"
        )
    if config.optimizer not in OPTIMIZERS:
        raise ConfigError(
            f"{section}.optimizer={quoted(config.optimizer)}: use one of {', '.join(OPTIMIZERS)}"
        )


def validate_sections(params: Mapping[str, Any], methods: tuple[str, ...]) -> None:
    """Build every config the run will build, so bad settings fail before compute."""
    check_ranges(
        from_params(RunSettings, {"torch_threads": params.get("torch_threads")}, "parameters"),
        "parameters",
    )
    if "evaluate" in params:
        from_params(EvaluateSettings, params["evaluate"], "evaluate")
    data_prep = params.get("data_prep") or {}
    if data_prep and data_prep.get("source", "synthetic") == "synthetic":
        from_params(SyntheticDataSizes, data_prep, "data_prep", ignore=("source",))
    finetune = params.get("finetune")
    if finetune is not None:
        if finetune.get("cache_dir"):
            project_folder(finetune["cache_dir"], "finetune.cache_dir")
        launch_settings(finetune, "finetune")
        for letter, stage in (params.get("stages") or {}).items():
            check_optimiser(stage_config(finetune, stage, letter, seed=0), f"stages.{letter}")
        if not (params.get("model") or {}).get("name_or_path") and "pretrain" in params:
            pretrain_config(params["pretrain"], finetune.get("precision", "no"), seed=0)
    if "unlearn" in params:
        probes = {k: params["unlearn"][k] for k in ("eval_subset", "eval_batch_size")
                  if k in params["unlearn"]}  # fmt: skip
        from_params(ProbeSettings, probes, "unlearn")
        launch_settings(params["unlearn"], "unlearn")
        for method in methods:
            config = unlearn_config(params["unlearn"], method, seed=0)
            check_optimiser(config, "unlearn")
            try:
                get_loss(config.method, **config.hparams)
            except ValueError as error:  # an unknown or out-of-range hyper-parameter
                raise ConfigError(f"unlearn.hparams.{config.method}: {error}") from None
