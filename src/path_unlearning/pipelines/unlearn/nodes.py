"""Nodes of unlearn: thin wrappers over ``path_unlearning.unlearning``."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import pandas as pd
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from path_unlearning.data.chat import encode_records
from path_unlearning.metrics.eval_sets import encode_probes, probe_pairs
from path_unlearning.modeling.lora import AdapterCheckpoint, AdapterSeries
from path_unlearning.modeling.model import configure_torch_for_cpu
from path_unlearning.paths import forget_position
from path_unlearning.unlearning.loop import UnlearnConfig, start_model, unlearn

_CONFIG_KEYS = {f.name for f in fields(UnlearnConfig)} - {"method", "seed", "hparams"}
_START_COLUMNS = ["forget_label_ll", "paraphrase_ll", "facts_ll", "math_ll"]


def unlearn_path(
    base_model: PreTrainedModel,
    path_adapter: AdapterCheckpoint,
    tokenizer: PreTrainedTokenizerBase,
    forget_records: pd.DataFrame,
    forget_eval: pd.DataFrame,
    paraphrase_eval: pd.DataFrame,
    facts_eval: pd.DataFrame,
    math_eval: pd.DataFrame,
    params: dict[str, Any],
    forget_stage: str,
    path: str,
    method: str,
    seeds: list[int],
) -> tuple[pd.DataFrame, AdapterSeries]:
    """Unlearn the forget stage from one path's model with one method, per seed.

    Returns:
        The trajectory (one row per seed x step, with the starting values on
        every row) and the adapters saved along the way.
    """
    configure_torch_for_cpu()
    pairs = probe_pairs(
        forget_eval, paraphrase_eval, facts_eval, math_eval, limit=params["eval_subset"]
    )
    probes = encode_probes(tokenizer, pairs, params["eval_batch_size"])
    forget = encode_records(tokenizer, forget_records["prompt"], forget_records["response"])
    settings = {k: v for k, v in params.items() if k in _CONFIG_KEYS}
    hparams = (params.get("hparams") or {}).get(method) or {}
    tables, adapters = [], {}
    for seed in seeds:
        model = start_model(
            base_model, path_adapter, params["lora"], seed, params.get("continue_adapter", False)
        )
        config = UnlearnConfig(method=method, seed=seed, hparams=hparams, **settings)
        result = unlearn(model, forget, probes, config, tokenizer.pad_token_id)
        table = result.trajectory
        for column in _START_COLUMNS:
            table[f"start_{column}"] = table[column].iloc[0]
        table.insert(0, "seed", seed)
        tables.append(table)
        adapters.update({(seed, step): a for step, a in result.checkpoints.items()})
    trajectory = pd.concat(tables, ignore_index=True)
    trajectory.insert(0, "position", forget_position(path, forget_stage))
    trajectory.insert(0, "method", method)
    trajectory.insert(0, "path", path)
    meta = {
        "path": path,
        "method": method,
        "seeds": list(seeds),
        "continue_adapter": bool(params.get("continue_adapter", False)),
        "path_adapter": path_adapter.metadata.get("fingerprint"),
        "config": settings,
        "hparams": hparams,
    }
    return trajectory, AdapterSeries(adapters, meta)
