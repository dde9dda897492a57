"""Parameter sections as typed pydantic models (``parameters.Section``).

Each section that maps to one model is a node's typed input, validated by Kedro
1.7 (``params:finetune`` -> :class:`FinetuneSection`, ``params:stages.A`` ->
:class:`StageSection`, ``params:data_prep`` -> :class:`DataPrepSection`, ...).
Sections that merge (``finetune`` defaults overridden by ``stages.X``; ``unlearn``
and its variants) are built here. The experiment plan validates every section
with the same models (:func:`validate_sections`), so a bad key or value fails
as one line (a ``ConfigError``) before any model is built.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path, PurePath
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from path_unlearning.errors import ConfigError, quoted
from path_unlearning.metrics.evaluation import EvaluateSettings
from path_unlearning.modeling.launch import LaunchSettings
from path_unlearning.modeling.train import OptimConfig, TrainConfig
from path_unlearning.parameters import Count, Real, Section, build, given
from path_unlearning.unlearning.loop import UnlearnConfig
from path_unlearning.unlearning.losses import LOSSES, MethodName, get_loss, needs_reference

# Keys a section may hold besides its config's fields; they are read elsewhere.
# Data-parallel workers (modeling/launch.py), per section: finetune and unlearn.
LAUNCH_KEYS = ("num_processes", "accelerate_config")
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


class ProbeSettings(Section):
    """``unlearn``'s per-step probes: how many examples, in batches of what size."""

    eval_subset: Count = Field(32, ge=1, description="Probe examples scored after every step.")
    eval_batch_size: Count = Field(64, ge=1, description="Probe examples per batch.")


class SyntheticDataSizes(Section):
    """The synthetic ``data_prep`` sizes: every set must have at least one row."""

    seed: Count = Field(0, ge=0, description="Seed of every generator.")
    n_authors: Count = Field(40, ge=1, description="Invented authors (x 6 fact pairs).")
    n_math_train: Count = Field(600, ge=1, description="Word problems of the math stage.")
    n_math_test: Count = Field(100, ge=1, description="Held-out word problems.")
    n_refusals: Count = Field(300, ge=1, description="Refusals of the forget stage.")
    n_pretrain: Count = Field(3000, ge=1, description="Generic exchanges for pretraining.")
    n_generic_test: Count = Field(96, ge=3, description="Held-out prompts, a third per stage.")
    n_facts_eval: Count = Field(96, ge=1, description="Fact pairs scored.")
    n_forget_eval: Count = Field(32, ge=1, description="Forget prompts scored.")
    n_benchmark: Count = Field(
        32, ge=1, description="benchmark_eval rows per split (forget, retain) and membership."
    )


class DataPrepSection(SyntheticDataSizes):
    """The ``data_prep`` section: the synthetic sizes, or ``source: hub`` and ``hub``."""

    source: Literal["synthetic", "hub"] = Field(
        "synthetic", description="synthetic (the default) or hub (the paper's datasets)."
    )
    hub: dict[str, Any] | None = Field(
        None, description="data_prep.hub (data/paper.py's PaperDataConfig), for source: hub."
    )


class RunSettings(Section):
    """Top-level settings of the process."""

    torch_threads: Count | None = Field(None, ge=1, description="torch threads; null: default.")


class LoraSettings(Section):
    """A ``lora:`` section: the peft ``LoraConfig`` arguments the project sets.

    Nodes hand peft the keys as configured (``parameters.plain``), so the adapter
    fingerprints hash the same mapping as before these models.
    """

    r: Count = Field(8, ge=1, description="LoRA rank.")
    lora_alpha: Real = Field(16, gt=0, description="LoRA scaling numerator (alpha / r).")
    lora_dropout: Real = Field(0.0, ge=0, lt=1, description="Dropout on the LoRA input.")
    target_modules: list[str] | str | None = Field(
        None, description="Module names (or a regex) that get adapters; null: peft's default."
    )
    use_rslora: bool = Field(False, description="Rank-stabilised scaling alpha / sqrt(r).")


class FinetuneSection(TrainConfig):
    """The ``finetune`` section: stage defaults, the adapter, the cache and the workers."""

    cache_dir: str | None = Field(
        None, description="Training cache, a folder inside the project; null: off."
    )
    lora: LoraSettings = Field(default_factory=LoraSettings, description="The stage adapters.")
    num_processes: Count = Field(1, ge=1, description="Data-parallel worker processes.")
    accelerate_config: str | None = Field(None, description="An `accelerate config` file.")

    @field_validator("cache_dir", mode="before")
    @classmethod
    def _inside_project(cls, value: Any) -> Any:
        return project_folder(value, "finetune.cache_dir") if value else value


class StageSection(TrainConfig):
    """One ``stages.<letter>`` entry: its dataset and the ``finetune`` keys it overrides."""

    dataset: str | None = Field(
        None, description="The stage table it trains on (facts, math, refusal...)."
    )


class UnlearnSection(OptimConfig, ProbeSettings):
    """The ``unlearn`` section: what every unlearning run shares, its methods and probes.

    One run's settings are :func:`unlearn_config` (a method's variant and
    hyper-parameters applied on top).
    """

    methods: list[str] = Field(
        default_factory=list, description="The methods run: registered losses or variants."
    )
    variants: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Named overrides of this section: {method: loss, ...}."
    )
    steps: Count = Field(20, ge=1, description="Unlearning optimizer steps.")
    checkpoint_every: Count = Field(5, ge=1, description="Save the adapter every this many steps.")
    hparams: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Per loss, its hyper-parameters (checked by its model)."
    )
    lora: LoraSettings = Field(default_factory=LoraSettings, description="The unlearning adapter.")
    continue_adapter: bool = Field(
        False, description="false: merge the path's adapter and unlearn a fresh LoRA (the paper)."
    )
    num_processes: Count = Field(1, ge=1, description="Data-parallel worker processes.")
    accelerate_config: str | None = Field(None, description="An `accelerate config` file.")


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


def launch_settings(section: Mapping[str, Any] | Section | None, name: str) -> LaunchSettings:
    """``<name>.num_processes`` and ``<name>.accelerate_config`` of ``finetune`` or ``unlearn``.

    Raises:
        ConfigError: A count below 1, or a config file that does not exist
            (relative paths resolve against the working directory).
    """
    values = {k: v for k, v in given(section).items() if k in LAUNCH_KEYS}
    settings = build(LaunchSettings, values, name)
    config = settings.accelerate_config
    if config is not None and (not isinstance(config, str) or not Path(config).is_file()):
        raise ConfigError(
            f"{name}.accelerate_config={quoted(config)}: no such file; give the path of an "
            "`accelerate config` YAML file, or null"
        )
    return settings


def pretrain_config(
    pretrain: Mapping[str, Any] | TrainConfig, precision: str, seed: int
) -> TrainConfig:
    """The tiny base model's pretraining settings (``finetune.precision``, a derived seed)."""
    return build(TrainConfig, pretrain, "pretrain", precision=precision, seed=seed)


def stage_config(
    finetune: Mapping[str, Any] | FinetuneSection,
    stage: Mapping[str, Any] | StageSection,
    letter: str,
    seed: int,
) -> TrainConfig:
    """One stage's settings: ``finetune`` defaults overridden by ``stages.<letter>``."""
    shared = given(build(FinetuneSection, finetune, "finetune"))
    own = given(build(StageSection, stage, f"stages.{letter}"))
    values = {k: v for k, v in {**shared, **own}.items() if k in TrainConfig.model_fields}
    return build(TrainConfig, values, f"stages.{letter}", seed=seed)


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


def unlearn_config(
    unlearn: UnlearnSection | Mapping[str, Any], method: str, seed: int
) -> UnlearnConfig:
    """One unlearning run's settings; ``hparams.<loss>`` holds the loss's own.

    ``method`` may be a variant (see :func:`resolve_method`): its overrides apply
    on top of the section, and the config's ``method`` is the variant's loss.
    """
    unlearn = given(unlearn)
    loss, overrides = resolve_method(unlearn, method)
    hparams = dict((unlearn.get("hparams") or {}).get(loss) or {})
    hparams.update(overrides.pop("hparams", None) or {})
    section = "unlearn" if loss == method else f"unlearn.variants.{method}"
    merged = {**given(unlearn), **overrides}
    unknown = sorted(set(merged) - set(UnlearnConfig.model_fields) - set(UNLEARN_EXTRA))
    if unknown:  # one line naming the key, as the model would
        allowed = ", ".join(sorted({*UnlearnConfig.model_fields, *UNLEARN_EXTRA} - {"method"}))
        raise ConfigError(
            f"{section}: unknown parameter {quoted(unknown[0])} ({section}.{unknown[0]}); "
            f"allowed: {allowed}"
        )
    values = {k: v for k, v in merged.items() if k in UnlearnConfig.model_fields}
    return build(UnlearnConfig, values, section, method=loss, seed=seed, hparams=hparams)


def check_loss(config: UnlearnConfig, section: str = "unlearn") -> None:
    """Raise ``ConfigError`` unless ``get_loss`` accepts the config's hyper-parameters."""
    try:
        get_loss(config.method, **config.hparams)
    except ValueError as error:  # an unknown or out-of-range hyper-parameter
        raise ConfigError(f"{section}.hparams.{config.method}: {error}") from None


def validate_sections(params: Mapping[str, Any], methods: tuple[str, ...]) -> None:
    """Build every config the run will build, so bad settings fail before compute.

    The sections that nodes take as typed inputs are validated with the models
    Kedro validates them with, so Kedro's own check never sees a bad value.
    """
    build(RunSettings, {"torch_threads": params.get("torch_threads")}, "")
    if "evaluate" in params:
        build(EvaluateSettings, params["evaluate"], "evaluate")
    if params.get("data_prep") is not None:
        data_prep = build(DataPrepSection, params["data_prep"], "data_prep")
        if data_prep.source == "hub":
            from path_unlearning.data.paper import paper_config  # noqa: PLC0415 - paper only

            paper_config(params["data_prep"])
    finetune = params.get("finetune")
    if finetune is not None:
        launch_settings(build(FinetuneSection, finetune, "finetune"), "finetune")
        for letter, stage in (params.get("stages") or {}).items():
            stage_config(finetune, stage, letter, seed=0)
    if "pretrain" in params:
        precision = (finetune or {}).get("precision", "no")
        pretrain_config(params["pretrain"], precision, seed=0)
    if "theory" in params:
        from path_unlearning.theory.config import theory_section  # noqa: PLC0415

        theory_section(params["theory"])
    if params.get("depth"):
        depth_section(params["depth"])  # the depth pipeline's nodes take it as typed input
    if "unlearn" in params:
        unlearn = build(UnlearnSection, params["unlearn"], "unlearn")
        launch_settings(unlearn, "unlearn")
        for method in methods:
            check_loss(unlearn_config(unlearn, method, seed=0))


# --- the depth pipeline (Sec. 4.3; conf/base/parameters_depth.yml, docs/depth.md) ---


class DepthUnlearn(OptimConfig):
    """``depth.unlearn``: gradient ascent for whole epochs of the forget responses."""

    method: MethodName = Field("ga", description="The registered loss to run.")
    epochs: Count = Field(20, ge=1, description="Unlearning epochs (full batches only).")
    continue_adapter: bool = Field(
        False, description="false: merge the order's adapter and unlearn a fresh LoRA."
    )
    hparams: dict[str, Any] = Field(default_factory=dict, description="The loss's own.")


class DepthClassification(Section):
    """``depth.classification``: the rule fixed before any run (pipelines/depth/analysis.py)."""

    refusal: str = Field("R", description="The stage nothing unlearns.")
    kept: str = Field("C", description="The other phrasing of the forgotten behaviour.")
    read_epoch: Count = Field(10, ge=1, description="The epoch the drops are read at.")
    min_forget_drop: Real = Field(1.0, description="U's smallest drop (nats per token).")
    collapse_ratio: Real = Field(0.5, description="dR/dU above it: collapsed.")
    deep_ratio: Real = Field(0.5, description="dC/dU at least this: deep.")
    superficial_ratio: Real = Field(0.2, ge=0, description="dC/dU below it: superficial.")

    @model_validator(mode="after")
    def _ordered(self) -> DepthClassification:
        if not 0 <= self.superficial_ratio <= self.deep_ratio:
            raise ConfigError(
                f"depth.classification: superficial_ratio {self.superficial_ratio} must lie "
                f"in [0, deep_ratio {self.deep_ratio}]"
            )
        return self


class DepthSection(Section):
    """The ``depth`` section (conf/base/parameters_depth.yml, docs/depth.md)."""

    seeds: list[int] | None = Field(None, description="Replicates; null: every seed.")
    data_seed: Count = Field(0, ge=0, description="Which prompts (one set for all replicates).")
    n_prompts: Count = Field(40, ge=1, description="Prompts every stage trains.")
    stages: dict[str, str] = Field(description="Letter -> the response the stage trains.")
    forget_stage: str = Field(description="The stage unlearned.")
    paths: list[str] = Field(description="The orders trained and unlearned.")
    cache_dir: str | None = Field(
        None, description="Training cache, a folder inside the project; null: off."
    )
    finetune: TrainConfig = Field(default_factory=TrainConfig, description="Stage training.")
    unlearn: DepthUnlearn = Field(default_factory=DepthUnlearn, description="Unlearning.")
    lora: LoraSettings = Field(default_factory=LoraSettings, description="The adapters.")
    classification: DepthClassification = Field(
        default_factory=DepthClassification, description="The classification rule."
    )
    expected_deep: list[str] = Field(default_factory=list, description="The paper's deep orders.")

    @field_validator("cache_dir", mode="before")
    @classmethod
    def _inside_project(cls, value: Any) -> Any:
        return project_folder(value, "depth.cache_dir") if value else value

    @model_validator(mode="after")
    def _read_epoch_runs(self) -> DepthSection:
        read, epochs = self.classification.read_epoch, self.unlearn.epochs
        if not 0 < read <= epochs:
            raise ConfigError(
                f"depth.classification.read_epoch={read}: expected 1 to "
                f"depth.unlearn.epochs={epochs}"
            )
        return self


def depth_section(params: DepthSection | Mapping[str, Any]) -> DepthSection:
    """The ``depth`` section, validated (Kedro passes the model; a mapping is built here)."""
    return build(DepthSection, params, "depth")
