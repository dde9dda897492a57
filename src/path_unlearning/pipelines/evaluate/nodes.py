"""Nodes of evaluate: thin wrappers over ``path_unlearning.metrics``."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from path_unlearning.metrics import registry
from path_unlearning.metrics.distances import (
    GROWTH_MODELS,
    fit_growth_rate,
    growth_fits,
    pairwise_distances,
)
from path_unlearning.metrics.evaluation import (
    EvalSets,
    EvaluateSettings,
    model_distance,
    model_scores,
)
from path_unlearning.metrics.probes import EVAL_SETS
from path_unlearning.modeling.lora import (
    AdapterCheckpoint,
    AdapterSeries,
    merged_view,
    unlearned_view,
)
from path_unlearning.parameters import build
from path_unlearning.schemas import (
    DIVERGENCE_FITS,
    EVALUATION_SCORES,
    KL,
    PATH_DIVERGENCE,
    RE_DISTANCE,
)
from path_unlearning.sections import UnlearnSection, unlearn_config
from path_unlearning.unlearning.loop import peak_lr_steps

SCORE_COLUMNS = list(EVALUATION_SCORES.names)


def prepare_eval_sets(
    tokenizer: PreTrainedTokenizerBase,
    params: EvaluateSettings,
    **sets: pd.DataFrame,
) -> EvalSets:
    """Tokenize the evaluation sets once for every evaluation node of the run.

    Args:
        tokenizer: The chat tokenizer.
        params: ``evaluate`` parameters.
        **sets: Every evaluation set of ``metrics.probes.EVAL_SETS``, by name.
    """
    params = build(EvaluateSettings, params, "evaluate")
    return EvalSets(
        tokenizer,
        *(sets[name] for name in EVAL_SETS),
        params.batch_size,
        params.score_end_token,
    )


def evaluate_before(
    base_model: PreTrainedModel,
    path_adapter: AdapterCheckpoint,
    reference_adapter: AdapterCheckpoint,
    eval_sets: EvalSets,
    params: EvaluateSettings,
) -> pd.DataFrame:
    """Scores of a path's fine-tuned model, and its distance to the retrain reference.

    Returns:
        One row per metric (``metric``, ``value``).
    """
    model = merged_view(base_model, path_adapter)
    scores = model_scores(model, eval_sets, params)
    reference = merged_view(base_model, reference_adapter)
    scores.update(model_distance(model, reference, eval_sets.generic))
    return pd.DataFrame({"metric": list(scores), "value": list(scores.values())})


def evaluate_unlearned(
    base_model: PreTrainedModel,
    path_adapter: AdapterCheckpoint,
    reference_adapter: AdapterCheckpoint,
    unlearned: AdapterSeries,
    before: pd.DataFrame,
    eval_sets: EvalSets,
    params: EvaluateSettings,
    position: int,
) -> pd.DataFrame:
    """Forget score, utilities and retrain-equivalence distance after unlearning, per seed.

    The metrics are those registered in ``metrics/registry.py``, computed from the
    scores before unlearning (``before``) and those of each unlearned model.

    Returns:
        Tidy rows ``path, method, seed, position, metric, value``.
    """
    b = dict(zip(before["metric"], before["value"], strict=True))
    reference = merged_view(base_model, reference_adapter)
    path, method = unlearned.metadata["path"], unlearned.metadata["method"]
    rows = []
    for seed in unlearned.metadata["seeds"]:
        model = unlearned_view(base_model, path_adapter, unlearned, seed)
        a = model_scores(model, eval_sets, params)
        a.update(model_distance(model, reference, eval_sets.generic))
        # One row per metric of metrics/registry.py, in its order.
        metrics = registry.evaluation_metrics(b, a)
        rows += [(path, method, seed, position, m, v) for m, v in metrics.items()]
    return pd.DataFrame(rows, columns=SCORE_COLUMNS)


def combine_tables(*tables: pd.DataFrame) -> pd.DataFrame:
    """Concatenate per-path tables into one."""
    return pd.concat(tables, ignore_index=True)


def measure_path_divergence(
    base_model: PreTrainedModel,
    eval_sets: EvalSets,
    **models: AdapterCheckpoint | AdapterSeries,
) -> pd.DataFrame:
    """Pairwise RE distance between paths' unlearned models at every saved step.

    Only paths over the same set of stages are compared.

    Args:
        base_model: The shared base model.
        eval_sets: Tokenized evaluation sets (the generic set is compared).
        **models: For every path ``XYZ``, ``XYZ_adapter`` (its fine-tuned
            adapter) and ``XYZ_unlearned`` (its unlearned series).

    Returns:
        Rows ``method, seed, step, path_a, path_b, re_distance, kl``.
    """
    batches = eval_sets.generic
    paths = sorted(name.removesuffix("_adapter") for name in models if name.endswith("_adapter"))
    series = {p: models[f"{p}_unlearned"] for p in paths}
    method = series[paths[0]].metadata["method"]
    rows = []
    # One (seed, step) at a time: its paths' models are compared chunk by chunk
    # (``pairwise_distances``), so neither all models nor all logits are in memory.
    for seed, step in sorted({key for s in series.values() for key in s.adapters}):
        present = [p for p in paths if (seed, step) in series[p].adapters]
        pairs = [(pa, pb) for pa, pb in combinations(present, 2) if set(pa) == set(pb)]
        if not pairs:
            continue
        compared = {p for pair in pairs for p in pair}
        unlearned = {
            p: unlearned_view(base_model, models[f"{p}_adapter"], series[p], seed, step)
            for p in compared
        }
        distances = pairwise_distances(unlearned, pairs, batches)
        for (pa, pb), d in distances.items():
            rows.append((method, seed, step, pa, pb, d[RE_DISTANCE], d[KL]))
    return pd.DataFrame(rows, columns=list(PATH_DIVERGENCE.names))


def fit_divergence(divergence: pd.DataFrame, params: UnlearnSection) -> pd.DataFrame:
    """Growth of the mean distance between paths per method, over its constant-lr steps.

    Exponential, linear and saturating models are fitted and compared by AIC; the
    log-linear slope is kept for the figure. Warm-up and decay steps are left out:
    their changing learning rate bends any curve.
    """
    rows = []
    for method, group in divergence.groupby("method", sort=True):
        steps = peak_lr_steps(unlearn_config(params, str(method), 0))
        mean = group[group["step"].isin(steps)].groupby("step")[RE_DISTANCE].mean()
        x, y = mean.index.tolist(), mean.tolist()
        fits = growth_fits(x, y)
        aics = {m: fits[m]["aic"] for m in GROWTH_MODELS}
        finite = {m: v for m, v in aics.items() if np.isfinite(v)}
        rows.append({
            "method": method, **fit_growth_rate(x, y),
            **{f"aic_{m}": v for m, v in aics.items()},
            "best_model": min(finite, key=finite.get) if finite else None,
        })  # fmt: skip
    return pd.DataFrame(rows, columns=list(DIVERGENCE_FITS.names))
