"""The metrics of ``evaluation_scores``: one registered entry per metric.

A metric is a :class:`Metric`: its name, a function of the scores of a path's
model before unlearning and of the unlearned model (dicts of
``metrics.evaluation.model_scores`` plus ``model_distance``, keys in
``metrics/probes.py``), what it means, and the block of the paper-shaped
Table 1 it heads, if any. Everything else reads :data:`METRICS`:

* ``pipelines/evaluate/nodes.py`` writes one ``evaluation_scores`` row per
  entry, in this order (:func:`evaluation_metrics`);
* ``schemas.EVALUATION_SCORES`` lists them with their meaning, and so does
  ``docs/tables.md`` (generated from the schemas);
* the report takes Table 1's blocks (:func:`table1_blocks`) and the metrics of
  its numeric Table 1 and path-dependence tests (:func:`table1_metrics`) from here.

To add a metric, append one entry to :data:`METRICS` (docs/how_to_add_metric.md).
No Kedro, no torch. The benchmark metrics (``BENCHMARK_METRICS``, the
``benchmark_metrics`` pipeline) are registered the same way, at the end.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from path_unlearning.metrics import benchmark
from path_unlearning.metrics.probes import (
    FACTS,
    FORGET_LABEL,
    KL,
    MATH_ACC,
    MATH_ACC_SAMPLED,
    PARAPHRASE,
    RE_DISTANCE,
    SCORED_PROBES,
    ll,
    ll_tok,
    probe,
)
from path_unlearning.metrics.scores import facts_utility, forget_score

Scores = Mapping[str, float]


def summed(metric: str) -> str:
    """The summed-log-likelihood variant of a per-token metric: ``facts_utility_sum``."""
    return f"{metric}_sum"


def before(name: str) -> str:
    """A quantity of the model before unlearning (``evaluation_scores`` metric)."""
    return f"{name}_before"


def after(name: str) -> str:
    """A quantity of the model after unlearning (``evaluation_scores`` metric)."""
    return f"{name}_after"


@dataclass(frozen=True)
class Metric:
    """One ``evaluation_scores`` metric.

    Attributes:
        name: The ``metric`` value of its rows.
        compute: ``compute(before, after)``: the value from the scores of the path's
            model before unlearning and those of the unlearned model.
        meaning: One line for ``docs/tables.md``.
        block: Title of the paper-shaped Table 1 block it heads (``None``: no block).
        table1: Listed in the numeric Table 1 and tested for path dependence.
        only_if: A score key; the metric is written only when the unlearned model's
            scores have it (sampled math accuracy: only with ``math_samples > 0``).
    """

    name: str
    compute: Callable[[Scores, Scores], float]
    meaning: str
    block: str | None = None
    table1: bool = False
    only_if: str | None = None


def _forget_score(key: str) -> Callable[[Scores, Scores], float]:
    return lambda b, a: forget_score(b[key], a[key])


def _facts_utility(key: str) -> Callable[[Scores, Scores], float]:
    return lambda b, a: facts_utility(b[key], a[key])


def _before(key: str) -> Callable[[Scores, Scores], float]:
    return lambda b, a: b[key]


def _after(key: str) -> Callable[[Scores, Scores], float]:
    return lambda b, a: a[key]


def _both_forget_scores(b: Scores, a: Scores) -> float:
    label = forget_score(b[ll_tok(FORGET_LABEL)], a[ll_tok(FORGET_LABEL)])
    para = forget_score(b[ll_tok(PARAPHRASE)], a[ll_tok(PARAPHRASE)])
    return (label + para) / 2


def _before_after(key: str, meaning: str, **kwargs) -> tuple[Metric, Metric]:
    """``{key}_before`` and ``{key}_after``: the quantity of either model, unchanged."""
    return (
        Metric(before(key), _before(key), f"{meaning} before unlearning", **kwargs),
        Metric(after(key), _after(key), f"{meaning} after unlearning", **kwargs),
    )


def _log_likelihoods(probe_name: str) -> tuple[Metric, ...]:
    meaning = probe(probe_name).meaning
    return (
        *_before_after(ll(probe_name), meaning),
        Metric(before(ll_tok(probe_name)), _before(ll_tok(probe_name)),
               f"{meaning} before, per token"),
        Metric(after(ll_tok(probe_name)), _after(ll_tok(probe_name)),
               f"{meaning} after, per token"),
    )  # fmt: skip


FORGET_SCORE_LABEL = "forget_score_label"
FORGET_SCORE_PARAPHRASE = "forget_score_paraphrase"
FORGET_SCORE_BOTH = "forget_score_both"
FACTS_UTILITY = "facts_utility"
MATH_UTILITY = "math_utility"

# In the order of the rows of ``evaluation_scores``. Per-token averages first, as
# the paper's code (return_average_logprobs=True); summed ones are extra metrics.
METRICS: list[Metric] = [
    Metric(
        FORGET_SCORE_LABEL,
        _forget_score(ll_tok(FORGET_LABEL)),
        "forget_label_ll_tok_before - forget_label_ll_tok_after",
        block="Forget score ↑",
        table1=True,
    ),
    Metric(
        FORGET_SCORE_PARAPHRASE,
        _forget_score(ll_tok(PARAPHRASE)),
        "paraphrase_ll_tok_before - paraphrase_ll_tok_after",
        table1=True,
    ),
    Metric(
        FORGET_SCORE_BOTH,
        _both_forget_scores,
        "mean of the two per-token forget scores",
        table1=True,
    ),
    Metric(
        FACTS_UTILITY,
        _facts_utility(ll_tok(FACTS)),
        "1 - |facts_ll_tok_after - facts_ll_tok_before|",
        block="Facts utility ↑",
        table1=True,
    ),
    Metric(
        summed(FORGET_SCORE_LABEL),
        _forget_score(ll(FORGET_LABEL)),
        "forget_label_ll_before - forget_label_ll_after",
    ),
    Metric(
        summed(FORGET_SCORE_PARAPHRASE),
        _forget_score(ll(PARAPHRASE)),
        "paraphrase_ll_before - paraphrase_ll_after",
    ),
    Metric(
        summed(FACTS_UTILITY),
        _facts_utility(ll(FACTS)),
        "1 - |facts_ll_after - facts_ll_before| (summed)",
    ),
    *_before_after(MATH_ACC, "greedy math accuracy"),
    Metric(
        MATH_UTILITY,
        lambda b, a: a[MATH_ACC] - b[MATH_ACC],
        "math_acc_after - math_acc_before",
        block="Math utility ↑",
        table1=True,
    ),
    *_before_after(RE_DISTANCE, "RE distance to the retrain reference"),
    *_before_after(KL, "KL to the retrain reference"),
    Metric(
        before(MATH_ACC_SAMPLED),
        _before(MATH_ACC_SAMPLED),
        "sampled math accuracy before (sampling on only)",
        only_if=MATH_ACC_SAMPLED,
    ),
    Metric(
        after(MATH_ACC_SAMPLED),
        _after(MATH_ACC_SAMPLED),
        "sampled math accuracy after (sampling on only)",
        only_if=MATH_ACC_SAMPLED,
    ),
    *(m for p in SCORED_PROBES for m in _log_likelihoods(p)),
]


def register(metric: Metric) -> Metric:
    """Append ``metric`` to :data:`METRICS` (its rows come last); names are unique."""
    if any(m.name == metric.name for m in METRICS):
        raise ValueError(f"metric {metric.name!r} is registered already")
    METRICS.append(metric)
    return metric


@contextmanager
def registered(*metrics: Metric) -> Iterator[None]:
    """``metrics`` registered for the duration of a ``with`` block (tests, notebooks)."""
    added = [register(m) for m in metrics]
    try:
        yield
    finally:
        for m in added:
            METRICS.remove(m)


def metric_names() -> tuple[str, ...]:
    """Every registered metric, in the order of the rows of ``evaluation_scores``."""
    return tuple(m.name for m in METRICS)


def evaluation_metrics(before_scores: Scores, after_scores: Scores) -> dict[str, float]:
    """Every registered metric of one unlearned model, in registry order."""
    return {
        m.name: m.compute(before_scores, after_scores)
        for m in METRICS
        if m.only_if is None or m.only_if in after_scores
    }


def table1_blocks() -> dict[str, str]:
    """Metric -> block title of the paper-shaped Table 1, in registry order."""
    return {m.name: m.block for m in METRICS if m.block is not None}


def table1_metrics() -> tuple[str, ...]:
    """The metrics of the numeric Table 1 and of the path-dependence tests."""
    return tuple(m.name for m in METRICS if m.table1)


# --- benchmark metrics (the benchmark_metrics pipeline, docs/metrics.md) ------
#
# The metrics of TOFU and open-unlearning, computed from the per-row scores of
# ``metrics.benchmark_eval.benchmark_rows`` (one row of ``benchmark_eval`` each:
# its split, membership and statistics) of one model and of the path's retrain
# reference. Each is written for the path's model before unlearning
# (``{name}_before``), each unlearned model (``{name}_after``) and, unless it
# compares with the reference, for the reference itself (``{name}_retrain``).


def retrain(name: str) -> str:
    """A quantity of the path's retrain reference (``benchmark_scores`` metric)."""
    return f"{name}_retrain"


@dataclass(frozen=True)
class BenchmarkMetric:
    """One ``benchmark_scores`` metric.

    Attributes:
        name: Its name, before the ``_before``/``_after``/``_retrain`` qualifier.
        compute: ``compute(rows, reference_rows, privleak_attack)``: the value from
            a model's rows and those of the path's retrain reference.
        meaning: One line for ``docs/tables.md`` (docs/metrics.md has the definition).
        against_reference: Compares the model with the retrain reference (not
            written for the reference itself).
    """

    name: str
    compute: Callable[..., float]
    meaning: str
    against_reference: bool = False


def _split(rows, split: str, member: bool = True):
    return rows[(rows["split"] == split) & (rows["member"] == member)]


def _mia(statistic: str) -> Callable[..., float]:
    def auc(rows, reference, attack) -> float:
        return benchmark.mia_auc(
            _split(rows, "forget")[statistic].to_numpy(float),
            _split(rows, "forget", member=False)[statistic].to_numpy(float),
        )

    return auc


def _forget_mean(column: str) -> Callable[..., float]:
    return lambda rows, reference, attack: float(_split(rows, "forget")[column].mean())


def _retain_components(rows) -> dict[str, float]:
    retain = _split(rows, "retain")
    return {
        "probability": float(np.exp(retain["ll_tok"]).mean()),
        "rouge": float(retain["rouge_l_recall"].mean()),
        "truth_ratio": benchmark.truth_score_retain(retain["truth_ratio"].to_numpy(float)),
    }


MIA_ATTACKS = {"loss": "loss", "zlib": "zlib", "min_k": "min_k", "min_k_pp": "min_k_pp"}
FORGET_QUALITY, PRIVLEAK, MODEL_UTILITY = "forget_quality", "privleak", "model_utility"
EXTRACTION_STRENGTH = "extraction_strength"
RELEARN_HALF_STEPS, RELEARN_RECOVERED = "relearn_half_steps", "relearn_recovered"

BENCHMARK_METRICS: list[BenchmarkMetric] = [
    BenchmarkMetric(
        FORGET_QUALITY,
        lambda rows, ref, attack: benchmark.forget_quality(
            _split(rows, "forget")["truth_ratio"].to_numpy(float),
            _split(ref, "forget")["truth_ratio"].to_numpy(float),
        ),
        "KS-test p-value of the forget truth ratios against the retrain reference's",
        against_reference=True,
    ),
    BenchmarkMetric(
        "forget_truth_ratio",
        lambda rows, ref, attack: benchmark.truth_score_forget(
            _split(rows, "forget")["truth_ratio"].to_numpy(float)
        ),
        "mean min(TR, 1/TR) on the forget members",
    ),
    *(
        BenchmarkMetric(f"mia_{name}_auc", _mia(column), f"{name} attack AUC, forget members vs held-out")
        for name, column in MIA_ATTACKS.items()
    ),
    BenchmarkMetric(
        PRIVLEAK,
        lambda rows, ref, attack: benchmark.privleak(
            _mia(MIA_ATTACKS[attack])(rows, ref, attack), _mia(MIA_ATTACKS[attack])(ref, ref, attack)
        ),
        "relative MIA AUC gap to the retrain reference, percent (benchmark.privleak_attack)",
        against_reference=True,
    ),
    BenchmarkMetric(EXTRACTION_STRENGTH, _forget_mean("extraction_strength"),
                    "mean extraction strength on the forget members"),
    BenchmarkMetric("exact_memorization", _forget_mean("exact_memorization"),
                    "mean exact memorization on the forget members"),
    BenchmarkMetric("retain_probability",
                    lambda rows, ref, attack: _retain_components(rows)["probability"],
                    "mean per-token probability of the retain answers"),
    BenchmarkMetric("retain_rouge",
                    lambda rows, ref, attack: _retain_components(rows)["rouge"],
                    "mean ROUGE-L recall of greedy retain answers"),
    BenchmarkMetric("retain_truth_ratio",
                    lambda rows, ref, attack: _retain_components(rows)["truth_ratio"],
                    "mean max(0, 1 - TR) on the retain members"),
    BenchmarkMetric(MODEL_UTILITY,
                    lambda rows, ref, attack: benchmark.model_utility(_retain_components(rows)),
                    "harmonic mean of the three retain components"),
]  # fmt: skip

# The relearning speed, from ``relearning_curves`` (not from benchmark rows).
RELEARN_MEANINGS = {
    RELEARN_HALF_STEPS: "relearning steps until the forget label's per-token ll is back "
    "half-way to before unlearning (inf: not within the steps; NaN: nothing forgotten)",
    RELEARN_RECOVERED: "fraction of the forgotten per-token label ll back after the last step",
}
# The report's "Benchmark metrics by path" table and the metrics its verdicts test.
BENCHMARK_SHOWN = (
    after(FORGET_QUALITY), after(PRIVLEAK), after(EXTRACTION_STRENGTH), after(MODEL_UTILITY),
    RELEARN_HALF_STEPS, RELEARN_RECOVERED,
)  # fmt: skip
BENCHMARK_TESTED = (
    after(FORGET_QUALITY), after(PRIVLEAK), RELEARN_HALF_STEPS, RELEARN_RECOVERED,
)  # fmt: skip


def benchmark_metric_names() -> tuple[str, ...]:
    """Every ``benchmark_scores`` metric, in the order of its rows."""
    names = []
    for m in BENCHMARK_METRICS:
        names += [before(m.name), after(m.name)]
        if not m.against_reference:
            names.append(retrain(m.name))
    return (*names, RELEARN_HALF_STEPS, RELEARN_RECOVERED)


def benchmark_metrics(
    before_rows, after_rows, reference_rows, privleak_attack: str
) -> dict[str, float]:
    """Every benchmark metric of one unlearned model, its path model and its reference."""
    out = {}
    for m in BENCHMARK_METRICS:
        out[before(m.name)] = m.compute(before_rows, reference_rows, privleak_attack)
        out[after(m.name)] = m.compute(after_rows, reference_rows, privleak_attack)
        if not m.against_reference:
            out[retrain(m.name)] = m.compute(reference_rows, reference_rows, privleak_attack)
    return out
