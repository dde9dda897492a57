"""Nodes of depth: thin wrappers over ``data.depth``, the trainer, the loop and ``analysis``."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import pandas as pd
from matplotlib.figure import Figure
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from path_unlearning.data import depth as depth_data
from path_unlearning.data.chat import encode_records
from path_unlearning.modeling.lora import AdapterCheckpoint
from path_unlearning.modeling.model import pad_batch
from path_unlearning.modeling.stages import train_stage
from path_unlearning.modeling.train import TrainConfig
from path_unlearning.parameters import build, given, plain
from path_unlearning.paths import prefix_seed
from path_unlearning.pipelines.depth import analysis
from path_unlearning.pipelines.staged_finetune.nodes import project_cache
from path_unlearning.sections import DepthSection, depth_section
from path_unlearning.unlearning.loop import UnlearnConfig, start_model, unlearn

logger = logging.getLogger(__name__)


def _stage_table(records: pd.DataFrame, params: DepthSection, letter: str) -> pd.DataFrame:
    rows = depth_data.stage_records(records.to_dict("records"), params.stages[letter])
    return pd.DataFrame(rows, columns=["prompt", "response"])


def steps_per_epoch(params: DepthSection | Mapping[str, Any]) -> int:
    """Unlearning steps in one epoch: the loop draws full batches only."""
    params = depth_section(params)
    return max(1, params.n_prompts // params.unlearn.batch_size)


def unlearn_settings(params: DepthSection | Mapping[str, Any], seed: int) -> UnlearnConfig:
    """``depth.unlearn`` for replicate ``seed`` as an ``UnlearnConfig``: epochs become steps."""
    params = depth_section(params)
    section = given(params.unlearn)
    epochs = params.unlearn.epochs
    values = {k: v for k, v in section.items() if k not in ("epochs", "continue_adapter")}
    steps = epochs * steps_per_epoch(params)
    return build(
        UnlearnConfig, values, "depth.unlearn", steps=steps, checkpoint_every=steps, seed=seed
    )


def depth_rule(params: DepthSection | Mapping[str, Any]) -> analysis.DepthRule:
    """``depth.classification`` as a ``DepthRule``; the read epoch must be one that runs."""
    params = depth_section(params)
    return analysis.DepthRule(**given(params.classification), forget=params.forget_stage)


def make_depth_records(tokenizer: PreTrainedTokenizerBase, params: DepthSection) -> pd.DataFrame:
    """The prompts with their three responses; fails if the tokenizer lacks a word."""
    params = depth_section(params)
    records = depth_data.depth_records(params.n_prompts, params.data_seed)
    depth_data.check_vocabulary(tokenizer, records)
    unlearn_settings(params, 0)  # a bad unlearn or classification section fails before
    depth_rule(params)  # any training
    return pd.DataFrame(records)


def train_depth_prefix(
    base_model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    depth_records: pd.DataFrame,
    params: DepthSection,
    seed: int,
    prefix: str,
    parent: AdapterCheckpoint | None = None,
) -> tuple[AdapterCheckpoint, pd.DataFrame]:
    """Train the last stage of ``prefix`` (e.g. ``RC`` trains C after R) in replicate ``seed``."""
    params = depth_section(params)
    config = build(TrainConfig, params.finetune, "depth.finetune", seed=prefix_seed(seed, prefix))
    return train_stage(
        base_model,
        parent,
        _stage_table(depth_records, params, prefix[-1]),
        tokenizer,
        prefix,
        plain(params.lora),
        config,
        project_cache(params.cache_dir),
    )


def depth_probes(
    tokenizer: PreTrainedTokenizerBase, depth_records: pd.DataFrame, params: DepthSection
) -> dict[str, list[dict]]:
    """One batch per stage letter scoring every prompt with that stage's response,
    labels on the tokens that response does not share with the others only."""
    encoded = {
        letter: encode_records(
            tokenizer,
            depth_records["prompt"],
            _stage_table(depth_records, params, letter)["response"],
        )
        for letter in depth_section(params).stages
    }
    masked = depth_data.mask_shared_tokens(encoded)
    return {letter: [pad_batch(examples, tokenizer.pad_token_id)] for letter, examples in
            masked.items()}  # fmt: skip


def unlearn_depth_order(
    base_model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    path_adapter: AdapterCheckpoint,
    depth_records: pd.DataFrame,
    params: DepthSection,
    seed: int,
    path: str,
) -> pd.DataFrame:
    """Gradient ascent on the whole forget responses from one order's model.

    Returns:
        The loop's trajectory with ``seed`` and ``order`` columns; probes are
        named by stage letter (:func:`depth_probes`).
    """
    params = depth_section(params)
    config = unlearn_settings(params, seed)
    forget = _stage_table(depth_records, params, params.forget_stage)
    examples = encode_records(tokenizer, forget["prompt"], forget["response"])
    continue_adapter = params.unlearn.continue_adapter
    model = start_model(base_model, path_adapter, plain(params.lora), config.seed, continue_adapter)
    probes = depth_probes(tokenizer, depth_records, params)
    trajectory = unlearn(model, examples, probes, config, tokenizer.pad_token_id).trajectory
    trajectory.insert(0, "order", path)
    trajectory.insert(0, "seed", seed)
    return trajectory


def summarise_depth(
    params: DepthSection, **trajectories: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame, Figure]:
    """Per-epoch log-probabilities, the class of every replicate x order, the
    per-order counts, the summary and Figure 4.

    Args:
        params: The ``depth`` section.
        **trajectories: One trajectory per replicate x order (their ``seed`` and
            ``order`` columns say which).
    """
    params = depth_section(params)
    thetas = analysis.theta_labels(params.paths)
    spe = steps_per_epoch(params)
    rank = {p: i for i, p in enumerate(params.paths)}
    ordered = sorted(
        trajectories.values(), key=lambda t: (rank[t["order"].iloc[0]], int(t["seed"].iloc[0]))
    )
    logprobs = pd.concat(
        [
            analysis.epoch_logprobs(
                t, int(t["seed"].iloc[0]), t["order"].iloc[0], thetas[t["order"].iloc[0]],
                list(params.stages), spe,
            )
            for t in ordered
        ],
        ignore_index=True,
    )  # fmt: skip
    rule = depth_rule(params)
    classification = analysis.classify(logprobs, rule)
    per_order = analysis.verdict(classification, params.expected_deep or ())
    summary = analysis.summary(per_order, rule)
    logger.info("depth: %s", summary["verdict"].item())
    figure = analysis.plot_depth(logprobs, per_order, params.stages, rule.read_epoch)
    return logprobs, classification, per_order, summary, figure
