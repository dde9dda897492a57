"""The evaluation sets and the log-likelihood probes scored on them: one definition.

``data_prep`` writes the evaluation sets named here; ``unlearn`` scores the
probes on a fixed subset after every step; ``evaluate`` scores them on the full
sets; ``schemas`` names their columns (``{probe}_ll``, ``{probe}_ll_tok``). Each
probe is one row of :data:`PROBES`: where its prompts and responses come from,
whether it is scored without the end-of-sequence token, and whether its
log-likelihoods before and after unlearning are ``evaluation_scores`` metrics.

Also the keys of one model's scores other than log-likelihoods (math accuracy,
distances to another model), which the metrics of ``metrics/registry.py`` read.
No Kedro, no torch: pipelines, schemas and the registry import it freely.
"""

from __future__ import annotations

from dataclasses import dataclass

# --- evaluation sets (data_prep's tables) ------------------------------------

FORGET_SET = "forget_eval"  # forget prompts with the refusal ``label`` (and their response)
PARAPHRASE_SET = "paraphrase_eval"  # refusal paraphrases (column ``paraphrase``)
FACTS_SET = "facts_eval"  # fact questions and answers of the retained stage
MATH_SET = "math_eval"  # held-out math problems with step-by-step solutions
GENERIC_SET = "generic_eval"  # held-out prompts of every stage (RE distance, KL)
# The TOFU / open-unlearning benchmark set (split, member, prompt, response, paraphrased,
# perturbed_0..2), read by the benchmark_metrics pipeline: in neither tuple below.
BENCHMARK_SET = "benchmark_eval"
# The sets the probes read, in the order of ``probe_pairs``' arguments.
PROBE_SETS = (FORGET_SET, PARAPHRASE_SET, FACTS_SET, MATH_SET)
# Every evaluation set, in the order of ``EvalSets``' arguments.
EVAL_SETS = (*PROBE_SETS, GENERIC_SET)

PROMPT, RESPONSE = "prompt", "response"


@dataclass(frozen=True)
class Probe:
    """One log-likelihood probe: (prompt, response) pairs scored on every model.

    Attributes:
        name: Probe name; its columns are ``{name}_ll`` and ``{name}_ll_tok``.
        meaning: What is scored (for ``docs/tables.md``).
        prompts: The evaluation set whose ``prompt`` column gives the prompts
            (its first ``limit`` rows in the per-step subsets).
        responses: Column holding the responses.
        paired_with: ``None``: the responses are ``responses`` of the same rows.
            Otherwise the evaluation set whose ``responses`` column is a pool
            paired with every prompt (full sets) or cyclically (prompt ``i`` gets
            entry ``i mod n``, the per-step subsets).
        prefix: The response is only the first sentence of what the model learned
            to say (the refusal label, then a reason): scored without the
            end-of-sequence token.
        before_after: Its log-likelihoods before and after unlearning are
            ``evaluation_scores`` metrics.
    """

    name: str
    meaning: str
    prompts: str
    responses: str = RESPONSE
    paired_with: str | None = None
    prefix: bool = False
    before_after: bool = True


FORGET_LABEL, PARAPHRASE, FACTS, MATH = "forget_label", "paraphrase", "facts", "math"
PROBES = (
    Probe(FORGET_LABEL, "refusal label on the forget prompts", FORGET_SET, "label", prefix=True),
    Probe(
        PARAPHRASE,
        "refusal paraphrases on the forget prompts",
        FORGET_SET,
        "paraphrase",
        paired_with=PARAPHRASE_SET,
        prefix=True,
    ),
    Probe(FACTS, "fact answers (retained stage)", FACTS_SET),
    Probe(MATH, "math solutions, teacher-forced", MATH_SET, before_after=False),
)
PROBE_NAMES = tuple(p.name for p in PROBES)
PREFIX_PROBES = frozenset(p.name for p in PROBES if p.prefix)
SCORED_PROBES = tuple(p.name for p in PROBES if p.before_after)


def probe(name: str) -> Probe:
    """The probe called ``name``."""
    return next(p for p in PROBES if p.name == name)


# --- keys of a model's scores (metrics.evaluation.model_scores, model_distance) ---


def ll(probe_name: str) -> str:
    """Summed response log-likelihood of a probe: ``forget_label`` -> ``forget_label_ll``."""
    return f"{probe_name}_ll"


def ll_tok(probe_name: str) -> str:
    """Per-token response log-likelihood of a probe."""
    return f"{probe_name}_ll_tok"


MATH_ACC, MATH_ACC_SAMPLED = "math_acc", "math_acc_sampled"
RE_DISTANCE, KL = "re_distance", "kl"
