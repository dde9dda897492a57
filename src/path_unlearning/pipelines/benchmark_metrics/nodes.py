"""Nodes of benchmark_metrics: thin wrappers over ``metrics.benchmark_eval`` and ``unlearning.relearn``."""

from __future__ import annotations

import pandas as pd
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from path_unlearning.metrics import registry
from path_unlearning.metrics.benchmark_eval import BenchmarkSettings, benchmark_rows
from path_unlearning.modeling.lora import (
    AdapterCheckpoint,
    AdapterSeries,
    merged_view,
    unlearned_view,
)
from path_unlearning.parameters import build
from path_unlearning.schemas import BENCHMARK_SCORES, RELEARNING
from path_unlearning.unlearning.relearn import (
    label_ll_tok,
    label_probe,
    recovered_fraction,
    relearn_curve,
    steps_to_recover,
)

SCORE_COLUMNS = list(BENCHMARK_SCORES.names)


def score_benchmark(
    base_model: PreTrainedModel,
    path_adapter: AdapterCheckpoint,
    reference_adapter: AdapterCheckpoint,
    tokenizer: PreTrainedTokenizerBase,
    benchmark_eval: pd.DataFrame,
    params: BenchmarkSettings,
    position: int,
    **unlearned: AdapterSeries,
) -> pd.DataFrame:
    """The benchmark metrics of one path: before unlearning, after each method, retrain reference.

    Args:
        base_model: The replicate's base model.
        path_adapter: The path's stage adapter.
        reference_adapter: The adapter of its retrain reference (the path without
            the forget stage).
        tokenizer: The chat tokenizer.
        benchmark_eval: ``data_prep``'s benchmark set.
        params: ``benchmark`` parameters.
        position: The forget stage's position in the path.
        **unlearned: ``<method>_unlearned``: each method's unlearned series.

    Returns:
        Tidy rows ``path, method, seed, position, metric, value`` with the metrics
        of ``metrics/registry.py``'s ``BENCHMARK_METRICS``.
    """
    settings = build(BenchmarkSettings, params, "benchmark")

    def rows_of(model: PreTrainedModel) -> pd.DataFrame:
        return benchmark_rows(model, tokenizer, benchmark_eval, settings)

    before = rows_of(merged_view(base_model, path_adapter))
    reference = rows_of(merged_view(base_model, reference_adapter))
    rows = []
    for series in unlearned.values():
        path, method = series.metadata["path"], series.metadata["method"]
        for seed in series.metadata["seeds"]:
            after = rows_of(unlearned_view(base_model, path_adapter, series, seed))
            metrics = registry.benchmark_metrics(before, after, reference, settings.privleak_attack)
            rows += [(path, method, seed, position, m, v) for m, v in metrics.items()]
    return pd.DataFrame(rows, columns=SCORE_COLUMNS)


def relearn(
    base_model: PreTrainedModel,
    path_adapter: AdapterCheckpoint,
    unlearned: AdapterSeries,
    tokenizer: PreTrainedTokenizerBase,
    forget_records: pd.DataFrame,
    forget_eval: pd.DataFrame,
    params: BenchmarkSettings,
    position: int,
) -> pd.DataFrame:
    """Relearning curve of one unlearned model: a few fine-tuning steps on the forget set.

    Returns:
        The ``relearning_curves`` rows (docs/tables.md): the forget label's
        log-likelihood on every forget prompt after each step, and in ``before``
        the path model's before unlearning.
    """
    settings = build(BenchmarkSettings, params, "benchmark")
    probes = label_probe(tokenizer, forget_eval, settings.batch_size)
    before = label_ll_tok(merged_view(base_model, path_adapter), probes)
    path, method = unlearned.metadata["path"], unlearned.metadata["method"]
    curves = []
    for seed in unlearned.metadata["seeds"]:
        model = unlearned_view(base_model, path_adapter, unlearned, seed)
        curve = relearn_curve(model, tokenizer, forget_records, probes, settings.relearn)
        curves.append(
            curve.assign(path=path, method=method, seed=seed, position=position, before=before)
        )
    return pd.concat(curves, ignore_index=True)[list(RELEARNING.names)]


def add_relearning_speed(
    relearning_curves: pd.DataFrame, params: BenchmarkSettings, *scores: pd.DataFrame
) -> pd.DataFrame:
    """Every path's benchmark scores, and the relearning speed of each unlearned model.

    ``relearn_half_steps``: steps until the forget label's per-token log-likelihood
    is back half-way from after unlearning to before it (``inf``: not within the
    steps; NaN: nothing was forgotten); ``relearn_recovered``: the fraction back
    after the last step.
    """
    settings = build(BenchmarkSettings, params, "benchmark")
    keys = ["path", "method", "seed", "position"]
    rows = []
    for key, curve in relearning_curves.groupby(keys, sort=False):
        before = float(curve["before"].iloc[0])
        rows += [
            (*key, registry.RELEARN_HALF_STEPS,
             steps_to_recover(curve, before, settings.relearn.recover_fraction)),
            (*key, registry.RELEARN_RECOVERED, recovered_fraction(curve, before)),
        ]  # fmt: skip
    relearned = pd.DataFrame(rows, columns=SCORE_COLUMNS)
    return pd.concat([*scores, relearned], ignore_index=True)
