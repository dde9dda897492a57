"""Nodes of unlearn: thin wrappers over ``path_unlearning.unlearning``."""

from __future__ import annotations

import pandas as pd
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from path_unlearning.data.chat import encode_records
from path_unlearning.metrics.eval_sets import encode_probes, probe_pairs
from path_unlearning.modeling.lora import AdapterCheckpoint, AdapterSeries
from path_unlearning.parameters import build, plain
from path_unlearning.paths import forget_position
from path_unlearning.schemas import START_COLUMNS
from path_unlearning.sections import UnlearnSection, launch_settings, unlearn_config
from path_unlearning.unlearning.distributed import launch_unlearn, split_start
from path_unlearning.unlearning.loop import start_model, unlearn


def unlearn_path(
    base_model: PreTrainedModel,
    path_adapter: AdapterCheckpoint,
    tokenizer: PreTrainedTokenizerBase,
    forget_records: pd.DataFrame,
    forget_eval: pd.DataFrame,
    paraphrase_eval: pd.DataFrame,
    facts_eval: pd.DataFrame,
    math_eval: pd.DataFrame,
    params: UnlearnSection,
    forget_stage: str,
    path: str,
    method: str,
    seed: int,
    retain_records: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, AdapterSeries]:
    """Unlearn the forget stage from one path's model with one method and seed.

    ``retain_records`` (the other stages' data) is given only to methods that
    declare a retain input (GradDiff; see ``unlearn/pipeline.py``).

    Returns:
        The trajectory (one row per step, with the starting values on every
        row) and the adapters saved along the way.
    """
    params = build(UnlearnSection, params, "unlearn")
    config = unlearn_config(params, method, seed)
    pairs = probe_pairs(
        forget_eval, paraphrase_eval, facts_eval, math_eval, limit=params.eval_subset
    )
    probes = encode_probes(tokenizer, pairs, params.eval_batch_size)
    forget = encode_records(tokenizer, forget_records["prompt"], forget_records["response"])
    continue_adapter = params.continue_adapter
    retain = (
        encode_records(tokenizer, retain_records["prompt"], retain_records["response"])
        if retain_records is not None
        else None
    )
    launch = launch_settings(params, "unlearn")
    model = start_model(base_model, path_adapter, plain(params.lora), seed, continue_adapter)
    if launch.data_parallel:  # accelerate launch workers on a temporary folder
        job_base, start_adapter = split_start(model)
        result = launch_unlearn(
            job_base, start_adapter, forget, probes, config, tokenizer.pad_token_id, retain, launch
        )
    else:
        result = unlearn(model, forget, probes, config, tokenizer.pad_token_id, retain)
    trajectory = result.trajectory
    for column in START_COLUMNS:
        trajectory[column] = trajectory[column.removesuffix("_start")].iloc[0]
    trajectory.insert(0, "seed", seed)
    adapters = {(seed, step): a for step, a in result.checkpoints.items()}
    trajectory.insert(0, "position", forget_position(path, forget_stage))
    trajectory.insert(0, "method", method)
    trajectory.insert(0, "path", path)
    meta = {
        "path": path,
        "method": method,
        "seeds": [seed],
        "continue_adapter": continue_adapter,
        "path_adapter": path_adapter.metadata.get("fingerprint"),
        "config": {k: v for k, v in vars(config).items() if k not in ("method", "seed")},
        "hparams": config.hparams,
    }
    return trajectory, AdapterSeries(adapters, meta)


def make_retain_set(*stage_tables: pd.DataFrame) -> pd.DataFrame:
    """The retain set of GradDiff: the non-forget stages' training data, concatenated.

    Which examples a step uses is drawn later from the unlearning seed.
    """
    return pd.concat([t[["prompt", "response"]] for t in stage_tables], ignore_index=True)
