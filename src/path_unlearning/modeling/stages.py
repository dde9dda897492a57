"""Pretraining of the tiny base model and the LoRA fine-tuning stages of a path."""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd
from transformers import AutoModelForCausalLM, PreTrainedModel, PreTrainedTokenizerBase

from path_unlearning.data.chat import encode_records
from path_unlearning.modeling.cache import TrainingCache
from path_unlearning.modeling.launch import LaunchSettings, launch_training
from path_unlearning.modeling.lora import AdapterCheckpoint, new_adapter
from path_unlearning.modeling.model import (
    FINGERPRINT_KEY,
    build_tiny_llama,
    fingerprint,
    model_fingerprint,
)
from path_unlearning.modeling.train import LOSS_NORMALISATION, TrainConfig, train

logger = logging.getLogger(__name__)


def records_fingerprint(records: pd.DataFrame) -> str:
    """A hash of a table's content, so changed stage data retrains the stage."""
    return fingerprint(pd.util.hash_pandas_object(records, index=False).tolist())


def pretrain_base_model(
    corpus: pd.DataFrame,
    tokenizer: PreTrainedTokenizerBase,
    architecture: dict[str, Any],
    train_config: TrainConfig,
    cache: TrainingCache,
) -> tuple[PreTrainedModel, pd.DataFrame]:
    """Build the tiny Llama and pretrain all its weights on the generic corpus.

    Returns:
        The model, with its fingerprint recorded on its config, and the log.
    """
    key = fingerprint(
        "base", architecture, train_config, records_fingerprint(corpus), tokenizer.get_vocab()
    )
    cached = cache.load(
        key,
        lambda d: AutoModelForCausalLM.from_pretrained(
            d, use_safetensors=True, attn_implementation="eager"
        ),
    )
    if cached is not None:
        logger.info("base model %s found in the training cache; not pretraining again", key)
        return cached
    model = build_tiny_llama(len(tokenizer), architecture, train_config.seed)
    examples = encode_records(tokenizer, corpus["prompt"], corpus["response"])
    log = train(model, examples, train_config, tokenizer.pad_token_id, "pretrain")
    setattr(model.config, FINGERPRINT_KEY, key)
    cache.store(key, model, log)
    return model, log


def train_stage(
    base_model: PreTrainedModel,
    parent: AdapterCheckpoint | None,
    stage_records: pd.DataFrame,
    tokenizer: PreTrainedTokenizerBase,
    prefix: str,
    lora_params: dict[str, Any],
    train_config: TrainConfig,
    cache: TrainingCache,
    launch: LaunchSettings | None = None,
) -> tuple[AdapterCheckpoint, pd.DataFrame]:
    """Train the last stage of ``prefix``, continuing the parent's LoRA adapter.

    Args:
        base_model: The shared base model (never modified).
        parent: Adapter after ``prefix[:-1]``; ``None`` for a one-stage prefix,
            which starts a fresh adapter.
        stage_records: ``prompt``/``response`` table of the stage's data.
        tokenizer: Tokenizer with a chat template.
        prefix: The path prefix this training completes, e.g. ``"BC"``.
        lora_params: peft ``LoraConfig`` arguments.
        train_config: Optimiser settings; its seed must already be derived from
            the prefix.
        cache: Finished trainings to reuse.
        launch: With more than one process, train data-parallel in ``accelerate
            launch`` workers. The loop is the same for any number of processes,
            so the number joins no fingerprint; with ``grad_accum > 1`` the loss
            normalisation does, so trainings cached before the loop averaged
            over the tokens of the optimizer step are not reused.

    Returns:
        The adapter after the stage and the stage's training log.
    """
    data_parallel = launch is not None and launch.data_parallel
    parent_key = parent.metadata["fingerprint"] if parent else model_fingerprint(base_model)
    key = fingerprint(
        "stage",
        prefix,
        parent_key,
        records_fingerprint(stage_records),
        lora_params,
        train_config,
        *([LOSS_NORMALISATION] if train_config.grad_accum > 1 else []),
    )
    cached = cache.load(key, AdapterCheckpoint.from_pretrained)
    if cached is not None:
        logger.info("stage %s found in the training cache (%s); not training again", prefix, key)
        return cached
    if parent is None:
        model = new_adapter(base_model, lora_params, train_config.seed)
    elif not data_parallel:  # the workers attach the parent themselves
        model = parent.attach(base_model)
    examples = encode_records(tokenizer, stage_records["prompt"], stage_records["response"])
    metadata = {
        "fingerprint": key,
        "prefix": prefix,
        "parent": parent_key,
        "seed": train_config.seed,
        "train_config": vars(train_config),
    }
    if data_parallel:
        start = parent if parent is not None else AdapterCheckpoint.from_model(model, {})
        trained, log = launch_training(
            base_model, start, examples, train_config, tokenizer.pad_token_id,
            f"stage {prefix}", launch,
        )  # fmt: skip
        metadata["num_processes"] = launch.num_processes
        checkpoint = AdapterCheckpoint(trained.config, trained.state, metadata)
    else:
        log = train(model, examples, train_config, tokenizer.pad_token_id, f"stage {prefix}")
        checkpoint = AdapterCheckpoint.from_model(model, metadata)
    log.insert(0, "prefix", prefix)
    cache.store(key, checkpoint, log)
    return checkpoint, log
