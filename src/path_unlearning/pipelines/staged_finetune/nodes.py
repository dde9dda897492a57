"""Nodes of staged_finetune: thin wrappers over ``path_unlearning.modeling``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from kedro.utils import find_kedro_project
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from path_unlearning.modeling.cache import TrainingCache
from path_unlearning.modeling.lora import AdapterCheckpoint
from path_unlearning.modeling.model import load_base_model
from path_unlearning.modeling.stages import pretrain_base_model, train_stage
from path_unlearning.modeling.train import TrainConfig
from path_unlearning.parameters import build, plain
from path_unlearning.paths import prefix_seed
from path_unlearning.sections import (
    FinetuneSection,
    StageSection,
    launch_settings,
    pretrain_config,
    stage_config,
)


def project_cache(folder: str | None) -> TrainingCache:
    """The training cache in ``folder``, relative to the project's root (None: off).

    ``folder`` was checked to lie inside the project when its section was built.
    """
    if not folder:
        return TrainingCache(None)
    root = Path(find_kedro_project(Path.cwd()) or Path.cwd())  # the project's root folder
    return TrainingCache(root / folder)


def training_cache(finetune: FinetuneSection | dict[str, Any]) -> TrainingCache:
    """The training cache of ``finetune.cache_dir``, a folder of the project (None: off)."""
    return project_cache(build(FinetuneSection, finetune, "finetune").cache_dir)


def prepare_base_model(
    tokenizer: PreTrainedTokenizerBase,
    corpus: pd.DataFrame,
    model: dict[str, Any],
    pretrain: TrainConfig,
    finetune: FinetuneSection,
    seed: int,
) -> tuple[PreTrainedModel, pd.DataFrame]:
    """Load the configured model, or build and pretrain the tiny default.

    ``pretrain`` and ``finetune`` arrive validated (Kedro reads the type hints);
    plain mappings are validated here.
    """
    finetune = build(FinetuneSection, finetune, "finetune")
    if model.get("name_or_path"):
        loaded = load_base_model(
            model["name_or_path"], model.get("trust_remote_code", False), model.get("dtype", "auto")
        )
        return loaded, pd.DataFrame(columns=["step", "loss", "lr", "tokens"])
    config = pretrain_config(pretrain, finetune.precision, prefix_seed(seed, ""))
    return pretrain_base_model(
        corpus, tokenizer, model["architecture"], config, training_cache(finetune)
    )


def train_prefix(
    base_model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    stage_records: pd.DataFrame,
    stage: StageSection,
    finetune: FinetuneSection,
    seed: int,
    prefix: str,
    parent: AdapterCheckpoint | None = None,
) -> tuple[AdapterCheckpoint, pd.DataFrame]:
    """Train the last stage of ``prefix`` on top of its parent's adapter.

    The training seed is derived from the replica's seed and the prefix only, so
    the prefix gives the same checkpoint whichever path it belongs to. With
    ``finetune.num_processes > 1`` the stage trains in ``accelerate launch``
    workers on files in a temporary folder (docs/distributed.md); this node
    still returns the adapter and log, and the session saves them as usual.
    """
    finetune = build(FinetuneSection, finetune, "finetune")
    config = stage_config(finetune, stage, prefix[-1], prefix_seed(seed, prefix))
    return train_stage(
        base_model,
        parent,
        stage_records,
        tokenizer,
        prefix,
        plain(finetune.lora),
        config,
        training_cache(finetune),
        launch_settings(finetune, "finetune"),
    )
