"""Nodes of staged_finetune: thin wrappers over ``path_unlearning.modeling``."""

from __future__ import annotations

from typing import Any

import pandas as pd
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from path_unlearning.modeling.cache import TrainingCache
from path_unlearning.modeling.lora import AdapterCheckpoint
from path_unlearning.modeling.model import load_base_model
from path_unlearning.modeling.stages import pretrain_base_model, train_stage
from path_unlearning.modeling.train import TrainConfig
from path_unlearning.paths import prefix_seed

_TRAIN_KEYS = set(TrainConfig.__dataclass_fields__)


def train_config(params: dict[str, Any], seed: int, **overrides: Any) -> TrainConfig:
    """A ``TrainConfig`` from a parameter section, ignoring keys that are not its fields."""
    values = {k: v for k, v in {**params, **overrides}.items() if k in _TRAIN_KEYS}
    return TrainConfig(**values, seed=seed)


def prepare_base_model(
    tokenizer: PreTrainedTokenizerBase,
    corpus: pd.DataFrame,
    model: dict[str, Any],
    pretrain: dict[str, Any],
    finetune: dict[str, Any],
    seed: int,
) -> tuple[PreTrainedModel, pd.DataFrame]:
    """Load the configured model, or build and pretrain the tiny default."""
    if model.get("name_or_path"):
        loaded = load_base_model(
            model["name_or_path"], model.get("trust_remote_code", False), model.get("dtype", "auto")
        )
        return loaded, pd.DataFrame(columns=["step", "loss", "lr", "tokens"])
    config = train_config(pretrain, prefix_seed(seed, ""), precision=finetune["precision"])
    return pretrain_base_model(
        corpus, tokenizer, model["architecture"], config, TrainingCache(finetune.get("cache_dir"))
    )


def train_prefix(
    base_model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    stage_records: pd.DataFrame,
    stage: dict[str, Any],
    finetune: dict[str, Any],
    seed: int,
    prefix: str,
    parent: AdapterCheckpoint | None = None,
) -> tuple[AdapterCheckpoint, pd.DataFrame]:
    """Train the last stage of ``prefix`` on top of its parent's adapter.

    The seed is derived from the global seed and the prefix only, so the prefix
    gives the same checkpoint whichever path it belongs to.
    """
    config = train_config(finetune, prefix_seed(seed, prefix), **stage)
    return train_stage(
        base_model,
        parent,
        stage_records,
        tokenizer,
        prefix,
        finetune["lora"],
        config,
        TrainingCache(finetune.get("cache_dir")),
    )
