"""Nodes of depth: thin wrappers over ``data.depth``, the trainer, the loop and ``analysis``."""

from __future__ import annotations

from typing import Any

import pandas as pd
from matplotlib.figure import Figure
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from path_unlearning.config import from_params
from path_unlearning.data import depth as depth_data
from path_unlearning.data.chat import encode_records
from path_unlearning.modeling.cache import TrainingCache
from path_unlearning.modeling.lora import AdapterCheckpoint
from path_unlearning.modeling.scoring import encode_batches
from path_unlearning.modeling.stages import train_stage
from path_unlearning.modeling.train import TrainConfig
from path_unlearning.paths import prefix_seed
from path_unlearning.pipelines.depth import analysis
from path_unlearning.unlearning.loop import UnlearnConfig, start_model, unlearn

UNLEARN_EXTRA = ("epochs", "continue_adapter")


def _stage_table(records: pd.DataFrame, params: dict[str, Any], letter: str) -> pd.DataFrame:
    rows = depth_data.stage_records(records.to_dict("records"), params["stages"][letter])
    return pd.DataFrame(rows, columns=["prompt", "response"])


def steps_per_epoch(params: dict[str, Any]) -> int:
    """Unlearning steps in one epoch: the loop draws full batches only."""
    return max(1, params["n_prompts"] // params["unlearn"]["batch_size"])


def unlearn_settings(params: dict[str, Any]) -> UnlearnConfig:
    """``depth.unlearn`` as an ``UnlearnConfig``: epochs become steps."""
    section = params["unlearn"]
    epochs = int(section.get("epochs", 20))
    return from_params(
        UnlearnConfig,
        section,
        "depth.unlearn",
        ignore=UNLEARN_EXTRA,
        steps=epochs * steps_per_epoch(params),
        checkpoint_every=epochs * steps_per_epoch(params),
        seed=int(params["seed"]),
    )


def make_depth_records(tokenizer: PreTrainedTokenizerBase, params: dict[str, Any]) -> pd.DataFrame:
    """The prompts with their three responses; fails if the tokenizer lacks a word."""
    records = depth_data.depth_records(params["n_prompts"], params["seed"])
    depth_data.check_vocabulary(tokenizer, records)
    unlearn_settings(params)  # a bad unlearn section fails before any training
    return pd.DataFrame(records)


def train_depth_prefix(
    base_model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    depth_records: pd.DataFrame,
    params: dict[str, Any],
    prefix: str,
    parent: AdapterCheckpoint | None = None,
) -> tuple[AdapterCheckpoint, pd.DataFrame]:
    """Train the last stage of ``prefix`` (e.g. ``RC`` trains C after R)."""
    config = from_params(
        TrainConfig,
        params["finetune"],
        "depth.finetune",
        seed=prefix_seed(int(params["seed"]), prefix),
    )
    return train_stage(
        base_model,
        parent,
        _stage_table(depth_records, params, prefix[-1]),
        tokenizer,
        prefix,
        params["lora"],
        config,
        TrainingCache(params.get("cache_dir")),
    )


def unlearn_depth_order(
    base_model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    path_adapter: AdapterCheckpoint,
    depth_records: pd.DataFrame,
    params: dict[str, Any],
    path: str,
) -> pd.DataFrame:
    """Gradient ascent on the forget stage from one order's model.

    Returns:
        The loop's trajectory; probes are named by stage letter and score every
        prompt with that stage's response.
    """
    config = unlearn_settings(params)
    forget = _stage_table(depth_records, params, params["forget_stage"])
    examples = encode_records(tokenizer, forget["prompt"], forget["response"])
    probes = {
        letter: encode_batches(
            tokenizer,
            depth_records["prompt"],
            _stage_table(depth_records, params, letter)["response"],
            batch_size=len(depth_records),
        )
        for letter in params["stages"]
    }
    continue_adapter = bool(params["unlearn"].get("continue_adapter", False))
    model = start_model(base_model, path_adapter, params["lora"], config.seed, continue_adapter)
    result = unlearn(model, examples, probes, config, tokenizer.pad_token_id)
    trajectory = result.trajectory
    trajectory.insert(0, "order", path)
    return trajectory


def summarise_depth(
    params: dict[str, Any], **trajectories: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, Figure]:
    """Per-epoch log-probabilities, the class of every order, the verdict and Figure 4.

    Args:
        params: The ``depth`` section.
        **trajectories: One trajectory per order, keyed by the order.
    """
    thetas = analysis.theta_labels(params["paths"])
    spe = steps_per_epoch(params)
    logprobs = pd.concat(
        [
            analysis.epoch_logprobs(trajectories[p], p, thetas[p], list(params["stages"]), spe)
            for p in params["paths"]
            if p in trajectories
        ],
        ignore_index=True,
    )
    rule_params = dict(params.get("classification") or {})
    rule = from_params(
        analysis.DepthRule, rule_params, "depth.classification", forget=params["forget_stage"]
    )
    classification = analysis.classify(logprobs, rule)
    verdict = analysis.verdict(classification, rule, params.get("expected_deep") or ())
    figure = analysis.plot_depth(logprobs, classification, params["stages"])
    return logprobs, classification, verdict, figure
