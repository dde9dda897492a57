"""Nodes of evaluate: thin wrappers over ``path_unlearning.metrics``."""

from __future__ import annotations

from itertools import combinations
from typing import Any

import pandas as pd
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from path_unlearning.metrics.distances import fit_growth_rate
from path_unlearning.metrics.evaluation import (
    EvalSets,
    logits_distance,
    model_distance,
    model_scores,
)
from path_unlearning.metrics.scores import facts_utility, forget_score
from path_unlearning.modeling.lora import AdapterCheckpoint, AdapterSeries, merged_model
from path_unlearning.modeling.model import configure_torch_for_cpu
from path_unlearning.modeling.scoring import response_logits

SCORE_COLUMNS = ["path", "method", "seed", "position", "metric", "value"]


def _unlearned(
    base: PreTrainedModel, path_model: PreTrainedModel, series: AdapterSeries, seed: int, step: int
) -> PreTrainedModel:
    adapter = series.adapters[(seed, step)]
    # A continued stage adapter already contains the path; a fresh one sits on
    # the merged path model. Merged, the model is only scored: plain linear
    # layers run faster than LoRA's extra matmuls.
    on = base if series.metadata.get("continue_adapter") else path_model
    return merged_model(on, adapter)


def prepare_eval_sets(
    tokenizer: PreTrainedTokenizerBase,
    forget_eval: pd.DataFrame,
    paraphrase_eval: pd.DataFrame,
    facts_eval: pd.DataFrame,
    math_eval: pd.DataFrame,
    generic_eval: pd.DataFrame,
    params: dict[str, Any],
) -> EvalSets:
    """Tokenize the evaluation sets once for every evaluation node of the run."""
    return EvalSets(
        tokenizer,
        forget_eval,
        paraphrase_eval,
        facts_eval,
        math_eval,
        generic_eval,
        params["batch_size"],
    )


def evaluate_before(
    base_model: PreTrainedModel,
    path_adapter: AdapterCheckpoint,
    reference_adapter: AdapterCheckpoint,
    eval_sets: EvalSets,
    params: dict[str, Any],
) -> pd.DataFrame:
    """Scores of a path's fine-tuned model, and its distance to the retrain reference.

    Returns:
        One row per metric (``metric``, ``value``).
    """
    configure_torch_for_cpu()
    model = merged_model(base_model, path_adapter)
    scores = model_scores(model, eval_sets, params)
    reference = merged_model(base_model, reference_adapter)
    scores.update(model_distance(model, reference, eval_sets.generic))
    return pd.DataFrame({"metric": list(scores), "value": list(scores.values())})


def evaluate_unlearned(
    base_model: PreTrainedModel,
    path_adapter: AdapterCheckpoint,
    reference_adapter: AdapterCheckpoint,
    unlearned: AdapterSeries,
    before: pd.DataFrame,
    eval_sets: EvalSets,
    params: dict[str, Any],
    position: int,
) -> pd.DataFrame:
    """Forget score, utilities and retrain-equivalence distance after unlearning, per seed.

    Returns:
        Tidy rows ``path, method, seed, position, metric, value``.
    """
    configure_torch_for_cpu()
    b = dict(zip(before["metric"], before["value"], strict=True))
    path_model = merged_model(base_model, path_adapter)
    reference_logits = response_logits(
        merged_model(base_model, reference_adapter), eval_sets.generic
    )
    path, method = unlearned.metadata["path"], unlearned.metadata["method"]
    rows = []
    for seed in unlearned.metadata["seeds"]:
        model = _unlearned(base_model, path_model, unlearned, seed, unlearned.steps(seed)[-1])
        a = model_scores(model, eval_sets, params)
        a.update(logits_distance(response_logits(model, eval_sets.generic), reference_logits))
        label = forget_score(b["ll_forget_label"], a["ll_forget_label"])
        para = forget_score(b["ll_paraphrase"], a["ll_paraphrase"])
        metrics = {
            "forget_score_label": label,
            "forget_score_paraphrase": para,
            "forget_score_both": (label + para) / 2,
            "facts_utility": facts_utility(b["ll_facts"], a["ll_facts"]),
            "math_acc_before": b["math_acc"],
            "math_acc_after": a["math_acc"],
            "math_utility": a["math_acc"] - b["math_acc"],
            "re_distance_before": b["re_distance"],
            "re_distance_after": a["re_distance"],
            "kl_before": b["kl"],
            "kl_after": a["kl"],
        }
        if "math_acc_sampled" in a:
            metrics["math_acc_sampled_before"] = b["math_acc_sampled"]
            metrics["math_acc_sampled_after"] = a["math_acc_sampled"]
        for probe, name in [
            ("forget_label", "label"),
            ("paraphrase", "paraphrase"),
            ("facts", "facts"),
        ]:
            metrics[f"ll_before_{name}"] = b[f"ll_{probe}"]
            metrics[f"ll_after_{name}"] = a[f"ll_{probe}"]
        rows += [(path, method, seed, position, m, v) for m, v in metrics.items()]
    return pd.DataFrame(rows, columns=SCORE_COLUMNS)


def combine_tables(*tables: pd.DataFrame) -> pd.DataFrame:
    """Concatenate per-path tables into one."""
    return pd.concat(tables, ignore_index=True)


def measure_path_divergence(
    base_model: PreTrainedModel,
    eval_sets: EvalSets,
    *adapters_and_series: AdapterCheckpoint | AdapterSeries,
) -> pd.DataFrame:
    """Pairwise RE distance between paths' unlearned models at every saved step.

    Only paths over the same set of stages are compared. ``adapters_and_series``
    alternates each path's fine-tuned adapter and its unlearned series.

    Returns:
        Rows ``method, seed, step, path_a, path_b, re_distance, kl``.
    """
    configure_torch_for_cpu()
    batches = eval_sets.generic
    pairs = list(zip(adapters_and_series[0::2], adapters_and_series[1::2], strict=True))
    logits = {}
    for path_adapter, s in pairs:
        path_model = merged_model(base_model, path_adapter)
        for seed, step in s.adapters:
            model = _unlearned(base_model, path_model, s, seed, step)
            logits[(s.metadata["path"], seed, step)] = response_logits(model, batches)
    method = pairs[0][1].metadata["method"]
    rows = []
    for (pa, seed, step), (pb, seed_b, step_b) in combinations(sorted(logits), 2):
        if seed == seed_b and step == step_b and set(pa) == set(pb):
            d = logits_distance(logits[(pa, seed, step)], logits[(pb, seed, step)])
            rows.append((method, seed, step, pa, pb, d["re_distance"], d["kl"]))
    return pd.DataFrame(
        rows, columns=["method", "seed", "step", "path_a", "path_b", "re_distance", "kl"]
    )


def fit_divergence(divergence: pd.DataFrame) -> pd.DataFrame:
    """Growth rate of the mean pairwise distance per method (log-linear in the step)."""
    rows = []
    for method, group in divergence.groupby("method", sort=True):
        mean = group[group["step"] > 0].groupby("step")["re_distance"].mean()
        rows.append({"method": method, **fit_growth_rate(mean.index.tolist(), mean.tolist())})
    return pd.DataFrame(rows, columns=["method", "slope", "intercept", "r2", "n_points"])
