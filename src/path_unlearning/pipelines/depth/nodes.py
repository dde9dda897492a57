"""Nodes of depth: thin wrappers over ``data.depth``, the trainer, the loop and ``analysis``."""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd
from matplotlib.figure import Figure
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from path_unlearning.config import from_params
from path_unlearning.data import depth as depth_data
from path_unlearning.data.chat import encode_records
from path_unlearning.errors import ConfigError
from path_unlearning.modeling.cache import TrainingCache
from path_unlearning.modeling.lora import AdapterCheckpoint
from path_unlearning.modeling.model import pad_batch
from path_unlearning.modeling.stages import train_stage
from path_unlearning.modeling.train import TrainConfig
from path_unlearning.paths import prefix_seed
from path_unlearning.pipelines.depth import analysis
from path_unlearning.unlearning.loop import UnlearnConfig, start_model, unlearn

UNLEARN_EXTRA = ("epochs", "continue_adapter")
logger = logging.getLogger(__name__)


def _stage_table(records: pd.DataFrame, params: dict[str, Any], letter: str) -> pd.DataFrame:
    rows = depth_data.stage_records(records.to_dict("records"), params["stages"][letter])
    return pd.DataFrame(rows, columns=["prompt", "response"])


def steps_per_epoch(params: dict[str, Any]) -> int:
    """Unlearning steps in one epoch: the loop draws full batches only."""
    return max(1, params["n_prompts"] // params["unlearn"]["batch_size"])


def unlearn_settings(params: dict[str, Any], seed: int) -> UnlearnConfig:
    """``depth.unlearn`` for replicate ``seed`` as an ``UnlearnConfig``: epochs become steps."""
    section = params["unlearn"]
    epochs = int(section.get("epochs", 20))
    return from_params(
        UnlearnConfig,
        section,
        "depth.unlearn",
        ignore=UNLEARN_EXTRA,
        steps=epochs * steps_per_epoch(params),
        checkpoint_every=epochs * steps_per_epoch(params),
        seed=seed,
    )


def depth_rule(params: dict[str, Any]) -> analysis.DepthRule:
    """``depth.classification`` as a ``DepthRule``; the read epoch must be one that runs."""
    rule = from_params(
        analysis.DepthRule,
        dict(params.get("classification") or {}),
        "depth.classification",
        forget=params["forget_stage"],
    )
    epochs = int(params["unlearn"].get("epochs", 20))
    if not 0 < rule.read_epoch <= epochs:
        raise ConfigError(
            f"depth.classification.read_epoch={rule.read_epoch}: expected 1 to "
            f"depth.unlearn.epochs={epochs}"
        )
    return rule


def make_depth_records(tokenizer: PreTrainedTokenizerBase, params: dict[str, Any]) -> pd.DataFrame:
    """The prompts with their three responses; fails if the tokenizer lacks a word."""
    records = depth_data.depth_records(params["n_prompts"], params["data_seed"])
    depth_data.check_vocabulary(tokenizer, records)
    unlearn_settings(params, 0)  # a bad unlearn or classification section fails before
    depth_rule(params)  # any training
    return pd.DataFrame(records)


def train_depth_prefix(
    base_model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    depth_records: pd.DataFrame,
    params: dict[str, Any],
    seed: int,
    prefix: str,
    parent: AdapterCheckpoint | None = None,
) -> tuple[AdapterCheckpoint, pd.DataFrame]:
    """Train the last stage of ``prefix`` (e.g. ``RC`` trains C after R) in replicate ``seed``."""
    config = from_params(
        TrainConfig, params["finetune"], "depth.finetune", seed=prefix_seed(seed, prefix)
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


def depth_probes(
    tokenizer: PreTrainedTokenizerBase, depth_records: pd.DataFrame, params: dict[str, Any]
) -> dict[str, list[dict]]:
    """One batch per stage letter scoring every prompt with that stage's response,
    labels on the tokens that response does not share with the others only."""
    encoded = {
        letter: encode_records(
            tokenizer,
            depth_records["prompt"],
            _stage_table(depth_records, params, letter)["response"],
        )
        for letter in params["stages"]
    }
    masked = depth_data.mask_shared_tokens(encoded)
    return {letter: [pad_batch(examples, tokenizer.pad_token_id)] for letter, examples in
            masked.items()}  # fmt: skip


def unlearn_depth_order(
    base_model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    path_adapter: AdapterCheckpoint,
    depth_records: pd.DataFrame,
    params: dict[str, Any],
    seed: int,
    path: str,
) -> pd.DataFrame:
    """Gradient ascent on the whole forget responses from one order's model.

    Returns:
        The loop's trajectory with ``seed`` and ``order`` columns; probes are
        named by stage letter (:func:`depth_probes`).
    """
    config = unlearn_settings(params, seed)
    forget = _stage_table(depth_records, params, params["forget_stage"])
    examples = encode_records(tokenizer, forget["prompt"], forget["response"])
    continue_adapter = bool(params["unlearn"].get("continue_adapter", False))
    model = start_model(base_model, path_adapter, params["lora"], config.seed, continue_adapter)
    probes = depth_probes(tokenizer, depth_records, params)
    trajectory = unlearn(model, examples, probes, config, tokenizer.pad_token_id).trajectory
    trajectory.insert(0, "order", path)
    trajectory.insert(0, "seed", seed)
    return trajectory


def summarise_depth(
    params: dict[str, Any], **trajectories: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame, Figure]:
    """Per-epoch log-probabilities, the class of every replicate x order, the
    per-order counts, the summary and Figure 4.

    Args:
        params: The ``depth`` section.
        **trajectories: One trajectory per replicate x order (their ``seed`` and
            ``order`` columns say which).
    """
    thetas = analysis.theta_labels(params["paths"])
    spe = steps_per_epoch(params)
    rank = {p: i for i, p in enumerate(params["paths"])}
    ordered = sorted(
        trajectories.values(), key=lambda t: (rank[t["order"].iloc[0]], int(t["seed"].iloc[0]))
    )
    logprobs = pd.concat(
        [
            analysis.epoch_logprobs(
                t, int(t["seed"].iloc[0]), t["order"].iloc[0], thetas[t["order"].iloc[0]],
                list(params["stages"]), spe,
            )
            for t in ordered
        ],
        ignore_index=True,
    )  # fmt: skip
    rule = depth_rule(params)
    classification = analysis.classify(logprobs, rule)
    per_order = analysis.verdict(classification, params.get("expected_deep") or ())
    summary = analysis.summary(per_order, rule)
    logger.info("depth: %s", summary["verdict"].item())
    figure = analysis.plot_depth(logprobs, per_order, params["stages"], rule.read_epoch)
    return logprobs, classification, per_order, summary, figure
