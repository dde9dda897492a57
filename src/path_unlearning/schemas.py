"""Columns of every table the pipelines write, and what each one means.

One name per quantity. A log-likelihood is ``{probe}_ll`` (mean over examples of
the summed response-token log-prob, nats) and ``{probe}_ll_tok`` (per token),
for the probes of ``metrics/probes.py`` (``forget_label``, ``paraphrase``,
``facts``, ``math``), which also names the evaluation sets; the
``evaluation_scores`` metrics are the entries of ``metrics/registry.py``. A
qualifier always comes last: ``_start`` (the step-0 value repeated on every
trajectory row), ``_before`` / ``_after`` (``evaluation_scores`` metrics, like
``math_acc_before``). So the refusal label's log-likelihood is
``forget_label_ll`` in the unlearning loop, in ``model_scores``, in trajectories
(``forget_label_ll_start``), in ``evaluation_scores`` (``forget_label_ll_before``)
and in the report.

``docs/tables.md`` is generated from this module
(``python -m path_unlearning.schemas > docs/tables.md``); a test keeps it in step.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass

from path_unlearning.metrics import probes, registry

# --- names -------------------------------------------------------------------

PATH, METHOD, SEED, POSITION, STEP = "path", "method", "seed", "position", "step"
METRIC, VALUE = "metric", "value"
LOSS, LR, DIVERGED = "loss", "lr", "diverged"
PATH_A, PATH_B = "path_a", "path_b"
SLOPE, INTERCEPT, R2, N_POINTS = "slope", "intercept", "r2", "n_points"

# Probes, evaluation sets and the keys of a model's scores are defined once, in
# metrics/probes.py; the evaluation_scores metrics in metrics/registry.py. Their
# names are importable from here too.
PROBES = probes.PROBE_NAMES
SCORED_PROBES = probes.SCORED_PROBES  # probes with ll before/after metrics
FORGET_LABEL, PARAPHRASE = probes.FORGET_LABEL, probes.PARAPHRASE
FACTS, MATH = probes.FACTS, probes.MATH
MATH_ACC, MATH_ACC_SAMPLED = probes.MATH_ACC, probes.MATH_ACC_SAMPLED
RE_DISTANCE, KL = probes.RE_DISTANCE, probes.KL
ll, ll_tok = probes.ll, probes.ll_tok
before, after, summed = registry.before, registry.after, registry.summed
FORGET_SCORE_LABEL = registry.FORGET_SCORE_LABEL
FORGET_SCORE_PARAPHRASE = registry.FORGET_SCORE_PARAPHRASE
FORGET_SCORE_BOTH = registry.FORGET_SCORE_BOTH
FACTS_UTILITY = registry.FACTS_UTILITY
MATH_UTILITY = registry.MATH_UTILITY


def start(column: str) -> str:
    """The step-0 value of a trajectory column, repeated on every row."""
    return f"{column}_start"


FORGET_LABEL_LL, PARAPHRASE_LL, FACTS_LL, MATH_LL = (
    ll(p) for p in (FORGET_LABEL, PARAPHRASE, FACTS, MATH)
)
LL_COLUMNS = tuple(ll(p) for p in PROBES)
LL_TOK_COLUMNS = tuple(ll_tok(p) for p in PROBES)
FORGET_LABEL_TOK, PARAPHRASE_TOK, FACTS_TOK, MATH_TOK = (
    ll_tok(p) for p in (FORGET_LABEL, PARAPHRASE, FACTS, MATH)
)
START_COLUMNS = tuple(start(c) for c in (*LL_COLUMNS, *LL_TOK_COLUMNS))

# --- schemas -----------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """A column (or, for a tidy table, a metric) and its meaning."""

    name: str
    meaning: str


@dataclass(frozen=True)
class TableSchema:
    """A table: catalog name, who writes it, one row per what, its columns."""

    name: str
    producer: str
    grain: str
    columns: tuple[Column, ...]
    # tidy tables: the values of ``metric``, or a function listing them when they
    # are registered elsewhere (evaluation_scores: metrics/registry.py)
    tidy_metrics: tuple[Column, ...] | Callable[[], tuple[Column, ...]] = ()

    @property
    def names(self) -> tuple[str, ...]:
        """Column names in order."""
        return tuple(c.name for c in self.columns)

    @property
    def metrics(self) -> tuple[Column, ...]:
        """The values of ``metric`` (tidy tables), in the order of the rows."""
        found = self.tidy_metrics
        return found() if callable(found) else found


def _cols(*pairs: tuple[str, str]) -> tuple[Column, ...]:
    return tuple(Column(n, m) for n, m in pairs)


_PROBE_MEANING = {p.name: p.meaning for p in probes.PROBES}


def _registered_metrics() -> tuple[Column, ...]:
    return tuple(Column(m.name, m.meaning) for m in registry.METRICS)


MODEL_SCORES = TableSchema(
    name="model_scores (dict, not a table)",
    producer="metrics.evaluation.model_scores",
    grain="one value per key, for one model on the full evaluation sets",
    columns=(
        *(Column(ll(p), f"{_PROBE_MEANING[p]}: summed log-lik (nats)") for p in PROBES),
        *(Column(ll_tok(p), f"{_PROBE_MEANING[p]}: per-token log-lik") for p in PROBES),
        Column(MATH_ACC, "greedy accuracy on held-out math problems"),
        Column(MATH_ACC_SAMPLED, "sampled accuracy (only with math_samples > 0)"),
    ),
)

TRAJECTORY = TableSchema(
    name="{path}.{method}.trajectory",
    producer="unlearn",
    grain="one row per seed x step (step 0 = before unlearning), eval subset",
    columns=(
        *_cols(
            (PATH, "path string, e.g. BCA"),
            (METHOD, "unlearning method (ga, npo, simnpo, simnpo_original)"),
            (SEED, "experiment seed"),
            (POSITION, "1-based position of the forget stage in the path"),
            (STEP, "unlearning step"),
            (LOSS, "unlearning loss at this step (NaN at step 0)"),
            (LR, "learning rate used at this step"),
        ),
        *(Column(ll(p), f"{_PROBE_MEANING[p]}: summed log-lik (nats)") for p in PROBES),
        *(Column(ll_tok(p), f"{_PROBE_MEANING[p]}: per-token log-lik") for p in PROBES),
        Column(DIVERGED, "True once the loss or a log-likelihood became inf/NaN (run stops)"),
        *(Column(start(ll(p)), f"step-0 {ll(p)}, repeated on every row") for p in PROBES),
        *(
            Column(start(ll_tok(p)), f"step-0 {ll_tok(p)}, repeated on every row") for p in PROBES
        ),  # fmt: skip
    ),
)

EVALUATION_SCORES = TableSchema(
    name="evaluation_scores",
    producer="evaluate",
    grain="one row per path x method x seed x metric (tidy), full evaluation sets",
    columns=_cols(
        (PATH, "path string"),
        (METHOD, "unlearning method"),
        (SEED, "experiment seed"),
        (POSITION, "1-based position of the forget stage"),
        (METRIC, "metric name (below)"),
        (VALUE, "metric value"),
    ),
    tidy_metrics=_registered_metrics,  # one entry each in metrics/registry.py
)

PATH_DIVERGENCE = TableSchema(
    name="path_divergence",
    producer="evaluate",
    grain="one row per method x seed x saved step x pair of paths over the same stages",
    columns=_cols(
        (METHOD, "unlearning method"),
        (SEED, "experiment seed"),
        (STEP, "unlearning step"),
        (PATH_A, "first path of the pair"),
        (PATH_B, "second path of the pair"),
        (RE_DISTANCE, "RE distance (Def. 2.1) between the two unlearned models"),
        (KL, "KL(path_a || path_b) on the generic test set"),
    ),
)

DIVERGENCE_FITS = TableSchema(
    name="divergence_fits",
    producer="evaluate",
    grain="one row per method",
    columns=_cols(
        (METHOD, "unlearning method"),
        (SLOPE, "fitted growth rate of log(mean re_distance) per step (steps > 0)"),
        (INTERCEPT, "fitted intercept of log(mean re_distance)"),
        (R2, "r2 of the log-linear fit"),
        (N_POINTS, "steps used in the fit: the constant-learning-rate steps"),
        ("aic_exponential", "AIC of d = a exp(b t) (least squares on the distance scale)"),
        ("aic_linear", "AIC of d = a + b t"),
        ("aic_saturating", "AIC of d = c - (c - a) exp(-b t)"),
        ("best_model", "the model with the lowest AIC"),
    ),
)

# --- report tables -----------------------------------------------------------

SUMMARY = TableSchema(
    name="report_verdicts",
    producer="report",
    grain="one row per verdict x scope (scope 'all' rows are the headline)",
    columns=_cols(
        ("verdict", "recency, position_effect, path_dependence, starting_point, divergence"),
        ("scope", "'all' or a method, method/measure or method/metric"),
        ("holds", "True/False, empty where the data cannot tell"),
        ("value", "the number behind the verdict (see detail)"),
        ("p_value", "p-value of the test behind the verdict, where there is one"),
        ("detail", "one sentence stating the result"),
    ),
)

TABLE1 = TableSchema(
    name="report_table1",
    producer="report",
    grain="one row per position x path x metric x method (numeric Table 1)",
    columns=_cols(
        (POSITION, "1-based position of the forget stage"),
        (PATH, "path string"),
        (METRIC, "evaluation_scores metric"),
        (METHOD, "unlearning method"),
        ("mean", "mean over seeds"),
        ("std", "std over seeds (ddof=1; NaN with one seed)"),
        ("n_seeds", "seeds averaged"),
    ),
)

RECENCY = TableSchema(
    name="report_recency_cells",
    producer="report",
    grain="one row per measure x method x seed",
    columns=_cols(
        (
            "measure",
            "forget_score, or ll_drop_{t} = forget_label_ll_start - ll after t updates with lr > 0",
        ),
        (METHOD, "unlearning method"),
        (SEED, "experiment seed"),
        ("n_paths", "paths with a finite value"),
        ("n_last", "paths with the forget stage last"),
        ("max_last", "largest value among forget-stage-last paths"),
        ("min_other", "smallest value among the other paths"),
        ("margin", "min_other - max_last (> 0: the strict test holds)"),
        ("holds", "strict: every last path below every other path (ties fail); empty if moot"),
        ("chance", "probability of holding under random ordering: 1 / C(n_paths, n_last)"),
    ),
)

POSITION_EFFECT = TableSchema(
    name="report_position_effect",
    producer="report",
    grain="one row per scope ('all' or a method)",
    columns=_cols(
        ("scope", "'all' or a method"),
        ("n_replicates", "replicates with paths at different positions (the unit of evidence)"),
        ("n_cells", "method x replicate cells behind the mean"),
        ("rho", "mean Spearman correlation of forget score with position over cells"),
        ("p_value", "two-sided joint permutation p (one permutation per replicate, all methods)"),
        ("n_permutations", "permutations drawn, or the arrangements enumerated when exact"),
        ("exact", "True when every arrangement was enumerated"),
        ("replicates_agree", "replicates whose own correlation has the sign of rho"),
    ),
)

PATH_DEPENDENCE = TableSchema(
    name="report_path_dependence",
    producer="report",
    grain="one row per method x metric",
    columns=_cols(
        (METHOD, "unlearning method"),
        (METRIC, "evaluation_scores metric"),
        ("n_paths", "paths"),
        ("n_seeds", "replicates"),
        ("ms_path", "mean square of the path effect (paths x replicates two-way ANOVA)"),
        ("ms_residual", "residual (path x replicate) mean square"),
        ("f", "ms_path / ms_residual"),
        ("p_value", "F test of the path effect, (P-1, (P-1)(R-1)) degrees of freedom"),
        ("ratio", "sigma_path / sigma_residual from the variance components"),
        ("ratio_low", "lower end of its exact interval (F distribution)"),
        ("ratio_high", "upper end (finite)"),
        ("holds", "p_value below alpha; empty with one replicate or one path"),
    ),
)

RECENCY_TESTS = TableSchema(
    name="report_recency",
    producer="report",
    grain="one row per measure x scope ('all' or a method)",
    columns=_cols(
        ("measure", "forget_score, ll_drop_<t> or matched_speed"),
        ("scope", "'all' or a method"),
        ("n_replicates", "replicates with forget-last and other paths (the unit of evidence)"),
        ("n_methods", "methods in the scope"),
        ("n_cells", "method x replicate cells"),
        ("n_holds", "cells where every forget-last path is below every other path"),
        ("replicates_agree", "replicates with more cells holding than their null expects"),
        ("p_value", "P(count >= n_holds), path labels permuted jointly within replicates"),
        ("exact", "True when the null was enumerated or convolved exactly"),
    ),
)

STARTING_CONTROL = TableSchema(
    name="report_starting_control",
    producer="report",
    grain="one row per method",
    columns=_cols(
        (METHOD, "unlearning method"),
        ("n", "method x seed x path runs in the regression"),
        ("coef_position", "OLS coefficient of position: forget ~ position + start ll"),
        ("se_position", "its standard error"),
        ("p_position", "two-sided t-test p-value of the position coefficient"),
        ("coef_start", "OLS coefficient of the starting forget-label log-likelihood"),
        ("p_start", "its p-value"),
        ("corr_position_start", "correlation of position with the starting log-likelihood"),
    ),
)

STARTING_POINTS = TableSchema(
    name="report_starting_points",
    producer="report",
    grain="one row per path (before unlearning, mean over methods and seeds)",
    columns=_cols(
        (POSITION, "1-based position of the forget stage"),
        (PATH, "path string"),
        ("n_runs", "method x seed runs averaged"),
        (before(FORGET_LABEL_LL), "forget-label log-likelihood before unlearning (full set)"),
        (before(FACTS_LL), "facts log-likelihood before unlearning (full set)"),
        (before(MATH_ACC), "greedy math accuracy before unlearning"),
        (start(FORGET_LABEL_LL), "forget-label log-likelihood at step 0 (eval subset)"),
    ),
)


def _benchmark_metrics() -> tuple[Column, ...]:
    meaning = {}
    for m in registry.BENCHMARK_METRICS:
        meaning[registry.before(m.name)] = f"{m.meaning}: the path's model before unlearning"
        meaning[registry.after(m.name)] = f"{m.meaning}: the unlearned model"
        meaning[registry.retrain(m.name)] = f"{m.meaning}: the path's retrain reference"
    meaning.update(registry.RELEARN_MEANINGS)
    return tuple(Column(name, meaning[name]) for name in registry.benchmark_metric_names())


BENCHMARK_SCORES = TableSchema(
    name="benchmark_scores",
    producer="benchmark_metrics",
    grain="one row per path x method x seed x metric (tidy), benchmark_eval (docs/metrics.md)",
    columns=EVALUATION_SCORES.columns,
    tidy_metrics=_benchmark_metrics,  # BENCHMARK_METRICS in metrics/registry.py
)

RELEARNING = TableSchema(
    name="relearning_curves",
    producer="benchmark_metrics",
    grain="one row per path x method x seed x relearning step (step 0: the unlearned model)",
    columns=EVALUATION_SCORES.columns[:4]  # path, method, seed, position
    + _cols(
        (STEP, "relearning step (0 = before any relearning step)"),
        (FORGET_LABEL_LL, "refusal label on the forget prompts: summed log-lik (nats)"),
        (FORGET_LABEL_TOK, "refusal label on the forget prompts: per-token log-lik"),
        ("before", "per-token label log-lik of the path's model before unlearning"),
    ),
)

SCHEMAS = (
    TRAJECTORY,
    EVALUATION_SCORES,
    BENCHMARK_SCORES,
    RELEARNING,
    PATH_DIVERGENCE,
    DIVERGENCE_FITS,
    MODEL_SCORES,
    SUMMARY,
    TABLE1,
    RECENCY,
    RECENCY_TESTS,
    POSITION_EFFECT,
    PATH_DEPENDENCE,
    STARTING_CONTROL,
    STARTING_POINTS,
)


def _row(column: Column) -> str:
    return f"| `{column.name}` | {column.meaning.replace('|', chr(92) + '|')} |"


def tables_markdown() -> str:
    """``docs/tables.md``: every schema as a Markdown section."""
    out = [
        "# Tables",
        "",
        "Generated from `src/path_unlearning/schemas.py` "
        "(`python -m path_unlearning.schemas > docs/tables.md`); edit the module, not this file.",
        "",
        "Naming: a log-likelihood is `{probe}_ll` (mean over examples of the summed "
        "response-token log-prob, nats) or `{probe}_ll_tok` (per token), probes "
        f"{', '.join(f'`{p}`' for p in PROBES)}; qualifiers come last: `_start`, "
        "`_before`, `_after`.",
        "",
    ]
    for schema in SCHEMAS:
        out += [f"## `{schema.name}` ({schema.producer})", "", f"{schema.grain[0].upper()}"
                f"{schema.grain[1:]}.", "", "| column | meaning |", "|---|---|"]  # fmt: skip
        out += [_row(c) for c in schema.columns]
        if schema.metrics:
            out += ["", "Metrics:", "", "| metric | meaning |", "|---|---|"]
            out += [_row(c) for c in schema.metrics]
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    sys.stdout.write(tables_markdown())
