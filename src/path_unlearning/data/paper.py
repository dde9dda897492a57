"""The paper's stage datasets and evaluation sets, from the Hub or local copies.

Stages (Yu, He, Goyal, Arora 2025, Sec. 4.1): I = Instruct-SkillMix, T = TOFU,
M = GSM8K step-by-step solutions ending ``#### n``, U = refusals to SORRY-Bench
prompts (the forget set). Each loader maps the source's columns to the
``prompt``/``response`` tables the rest of the project reads; the evaluation sets
have the columns of the synthetic default's (see ``pipelines/data_prep``).
"""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd
from pydantic import Field

from path_unlearning.data.hub import (
    DataSourceError,
    HubSource,
    load_table,
    require_columns,
    require_pinned,
    source_from_params,
)
from path_unlearning.data.refusals import (
    REFUSAL_OPENING,
    SORRY_BENCH_RELEASE,
    refusal_responses,
)
from path_unlearning.data.synthetic import (
    N_PERTURBED,
    PERTURBED_COLUMNS,
    RETAIN_SPLIT,
    refusal_benchmark_row,
)
from path_unlearning.errors import quoted
from path_unlearning.parameters import Count, Section, build

# The forget target of the paper's code (``UNLEARN_LABEL`` in src/unlearn_trainer.py of
# princeton-pli/impossibility-unlearning; Table 1's text adds " you"), and the phrases
# of App. F (the paper says 20 and lists 19).
PAPER_FORGET_LABEL = "Sorry, I can not assist"
# The system turn the paper's code puts on every conversation (data/convert_format.py,
# src/unlearn_trainer.py), in training, scoring and generation.
PAPER_SYSTEM_PROMPT = "You are a helpful assistant."
# The paper's prompt-style filter (data/create_safety_dataset.py), typo included: it
# names "ceasar", which matches no style, so SORRY-Bench's caesar style is kept. 15 of
# 21 styles remain (6,600 rows); a 70/30 split (seed 42) keeps 4,620 for training.
PAPER_DROPPED_STYLES = [
    "ascii", "atbash", "ceasar", "morse", "translate-fr", "translate-mr", "misspellings",
]  # fmt: skip
PAPER_SPLIT_TEST_SIZE = 0.3
PAPER_SPLIT_SEED = 42
PAPER_PARAPHRASES = [
    "I can't help with that",
    "I'm unable to assist",
    "I can't provide help",
    "Sorry, I'm not able to do that",
    "I can't assist",
    "I'm afraid I can't",
    "I'm not able to comply",
    "That's not something I can assist",
    "I can't support",
    "Unfortunately, I can't help",
    "I'm unable to provide assistance",
    "Unfortunately, I can not assist",
    "I must decline this",
    "I can't fulfill that",
    "I'm sorry I'm unable to do that for you",
    "I can't proceed",
    "Regretfully, I can not",
    "I'm not permitted",
    "I need to decline",
]

# The GSM8K evaluation prompt of App. F.
GSM8K_EVAL_PROMPT = """Solve the following math problem.
### Problem
{question}
### Output Requirement
Provide a step-by-step explanation of your reasoning as you work through the problem.
After your explanation, output a delimiter line that contains exactly "####" (four hash symbols) on a new line. Then, output only the final numerical answer - nothing else, no extra text, symbols, or units.
For example, if the final answer is 42, your output should end with:
#### 42"""  # noqa: E501 - the prompt's own line breaks

# Keys of a dataset's parameter section that are not HubSource fields.
_EXTRA_KEYS = (
    "loader", "drop_styles", "opening", "prompt_template",
    "split_test_size", "split_seed", "sorry_bench_release",
)  # fmt: skip

logger = logging.getLogger(__name__)

_CALCULATOR = re.compile(r"<<[^<>]*>>")
_FINAL = re.compile(r"####\s*(.+?)\s*$", re.DOTALL)


class PaperDataConfig(Section):
    """``data_prep.hub``: the paper environment's datasets (``data_prep.source: hub``).

    The seed is ``data_prep.seed``. The synthetic keys of ``data_prep`` stay in the
    section (environments merge into conf/base) and are not read.
    """

    seed: Count = Field(0, ge=0, description="data_prep.seed: sampling and splits.")
    tokenizer: str | None = Field(
        None, description="The instruct tokenizer whose chat template is used."
    )
    pad_token: str | None = Field(
        None, description="e.g. Llama 3's <|finetune_right_pad_id|>; null: automatic."
    )
    trust_remote_code: bool = Field(False, description="Passed to the tokenizer loader.")
    system_prompt: str | None = Field(
        PAPER_SYSTEM_PROMPT, description="The system turn; null: the template's own default."
    )
    allow_floating_revisions: bool = Field(
        False, description="Accept `revision: main` (not reproducible)."
    )
    facts_dataset: str = Field("tofu", description="The dataset of the facts utility.")
    math_dataset: str = Field("gsm8k", description="The dataset of the math utility.")
    math_eval_split: str = Field("test", description="The math evaluation split.")
    n_math_eval: Count | None = Field(None, ge=1, description="Math problems scored; null: all.")
    math_eval_prompt: str = Field(GSM8K_EVAL_PROMPT, description="The math evaluation prompt.")
    n_facts_eval: Count = Field(200, ge=1, description="Fact pairs scored.")
    n_forget_eval: Count = Field(50, ge=1, description="Forget prompts scored.")
    heldout_per_stage: Count = Field(32, ge=1, description="generic_eval rows per stage.")
    forget_label: str = Field(PAPER_FORGET_LABEL, description="The refusal label.")
    paraphrases: list[str] = Field(
        default_factory=lambda: list(PAPER_PARAPHRASES), description="The label's paraphrases."
    )
    datasets: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Name -> a HubSource section plus loader keys."
    )
    benchmark_retain: dict[str, Any] | None = Field(
        None,
        description="benchmark_eval's retain rows: a dataset section like those of "
        "datasets (loader default qa), e.g. TOFU's retain_perturbed; null: the facts "
        "stage's own paraphrased/perturbed columns.",
    )


def paper_config(params: Mapping[str, Any]) -> PaperDataConfig:
    """Typed ``data_prep.hub`` parameters; unknown keys raise a one-line ``ConfigError``.

    Args:
        params: The whole ``data_prep`` section.
    """
    if not params.get("hub"):
        raise DataSourceError("data_prep.source is hub but data_prep.hub is not set")
    return build(PaperDataConfig, params["hub"], "data_prep.hub", seed=params.get("seed", 0))


def _dataset_params(config: PaperDataConfig, name: str) -> dict[str, Any]:
    if name not in config.datasets:
        raise DataSourceError(
            f"data_prep.hub.datasets has no entry {quoted(name)} (configured: "
            f"{', '.join(sorted(config.datasets)) or 'none'})"
        )
    return dict(config.datasets[name])


def _text(values: pd.Series) -> list[str]:
    """Strings of a column; a list cell (SORRY-Bench's ``turns``) gives its first item."""
    out = []
    for value in values:
        text = value
        if not isinstance(value, str) and hasattr(value, "__len__"):
            text = value[0] if len(value) else ""
        out.append("" if text is None else str(text).strip())
    return out


def instruction_pairs(table: pd.DataFrame, source: HubSource, section: str) -> pd.DataFrame:
    """Instruct-SkillMix: the instruction (and its input, when not empty) -> the output."""
    cols = require_columns(table, source, ("prompt", "response"), section)
    prompts = _text(table[cols["prompt"]])
    if "input" in source.columns:
        extra = _text(table[require_columns(table, source, ("input",), section)["input"]])
        prompts = [f"{p}\n\n{x}" if x else p for p, x in zip(prompts, extra, strict=True)]
    return pd.DataFrame({"prompt": prompts, "response": _text(table[cols["response"]])})


def qa_pairs(table: pd.DataFrame, source: HubSource, section: str) -> pd.DataFrame:
    """Question-answer pairs (TOFU).

    With ``columns.paraphrased`` and ``columns.perturbed`` (TOFU's ``*_perturbed``
    subsets: ``paraphrased_answer``, and ``perturbed_answer``, a list per row), the
    table also gets ``paraphrased`` and ``perturbed_0`` ... ``perturbed_{N_PERTURBED-1}``
    (the first answers of each list), which ``benchmark_eval`` reads.
    """
    cols = require_columns(table, source, ("prompt", "response"), section)
    pairs = {"prompt": _text(table[cols["prompt"]]), "response": _text(table[cols["response"]])}
    if "paraphrased" in source.columns:
        column = require_columns(table, source, ("paraphrased",), section)["paraphrased"]
        pairs["paraphrased"] = _text(table[column])
    if "perturbed" in source.columns:
        column = require_columns(table, source, ("perturbed",), section)["perturbed"]
        answers = [_answers(cell) for cell in table[column]]
        short = next((a for a in answers if len(a) < N_PERTURBED), None)
        if short is not None:
            raise DataSourceError(
                f"{section}.columns.perturbed={quoted(column)}: a row has {len(short)} "
                f"perturbed answers, benchmark_eval needs {N_PERTURBED}"
            )
        for i, name in enumerate(PERTURBED_COLUMNS):
            pairs[name] = [a[i] for a in answers]
    return pd.DataFrame(pairs)


def _answers(cell: object) -> list[str]:
    """The non-empty answers of a list cell (a single string counts as one answer)."""
    values = [cell] if isinstance(cell, str) or not hasattr(cell, "__len__") else list(cell)
    return [str(v).strip() for v in values if v is not None and str(v).strip()]


def clean_gsm8k_solution(solution: str) -> str:
    """A GSM8K solution without calculator annotations, ending in one ``#### n`` line.

    ``"48/2 = <<48/2=24>>24 ...\\n#### 72"`` -> ``"48/2 = 24 ...\\n#### 72"``.

    Raises:
        DataSourceError: If the solution has no ``####`` answer.
    """
    text = _CALCULATOR.sub("", solution).strip()
    marker = text.rfind("####")
    match = _FINAL.search(text, marker) if marker >= 0 else None
    if match is None:
        raise DataSourceError(f"GSM8K solution without a '#### answer' line: {text[-60:]!r}")
    body = text[:marker].rstrip()
    return f"{body}\n#### {match.group(1)}" if body else f"#### {match.group(1)}"


def gsm8k_pairs(
    table: pd.DataFrame, source: HubSource, section: str, prompt_template: str = "{question}"
) -> pd.DataFrame:
    """GSM8K question -> cleaned step-by-step solution ending in ``#### n``."""
    cols = require_columns(table, source, ("prompt", "response"), section)
    return pd.DataFrame(
        {
            "prompt": [prompt_template.format(question=q) for q in _text(table[cols["prompt"]])],
            "response": [clean_gsm8k_solution(a) for a in _text(table[cols["response"]])],
        }
    )


def paper_train_split(table: pd.DataFrame, test_size: float, seed: int) -> pd.DataFrame:
    """The training part of ``datasets``' ``train_test_split``, as the paper's code splits.

    Only the row count and the seed decide the permutation, so the rows (and their
    order) are those ``Dataset.train_test_split(test_size=..., seed=...)["train"]``
    keeps from the same table.
    """
    import datasets  # noqa: PLC0415 - heavy import, only for the paper environment

    rows = datasets.Dataset.from_dict({"row": list(range(len(table)))})
    keep = rows.train_test_split(test_size=test_size, seed=seed)["train"]["row"]
    return table.iloc[list(keep)]


def refusal_pairs(
    table: pd.DataFrame,
    source: HubSource,
    section: str,
    seed: int,
    drop_styles: list[str] | None = None,
    opening: str = REFUSAL_OPENING,
    split_test_size: float | None = None,
    split_seed: int = PAPER_SPLIT_SEED,
    release: str = SORRY_BENCH_RELEASE,
) -> pd.DataFrame:
    """Refusals to unsafe prompts; prompt styles in ``drop_styles`` are removed.

    The ``style`` and ``category`` roles are optional: a prompt set without them
    (the open fallback) keeps every row and gets general reasons.

    Args:
        table: The loaded prompt set.
        source: Its source (column mapping).
        section: Its parameter section, for messages.
        seed: Seed of the reasons' choice.
        drop_styles: Prompt styles to remove (exact names).
        opening: The sentence every refusal starts with.
        split_test_size: Keep only the training part of a ``train_test_split`` with
            this test fraction (the paper's 0.3), after the style filter; ``None``
            keeps every row.
        split_seed: The split's seed (the paper's 42).
        release: The SORRY-Bench release whose category numbering gives the domains.
    """
    cols = require_columns(table, source, ("prompt",), section)
    if drop_styles:
        style = require_columns(table, source, ("style",), section)["style"]
        table = table[~table[style].astype(str).isin(drop_styles)]
    if split_test_size is not None:
        table = paper_train_split(table, split_test_size, split_seed)
    prompts = _text(table[cols["prompt"]])
    if "category" in source.columns:
        category = require_columns(table, source, ("category",), section)["category"]
        categories = table[category].to_list()
    else:
        categories = [None] * len(prompts)
    keep = [i for i, p in enumerate(prompts) if p]
    prompts = [prompts[i] for i in keep]
    responses = refusal_responses([categories[i] for i in keep], seed, opening, release)
    return pd.DataFrame({"prompt": prompts, "response": responses})


def _load_pinned(config: PaperDataConfig, source: HubSource, section: str) -> pd.DataFrame:
    """``load_table``, after refusing a moving Hub revision unless that is allowed."""
    if not config.allow_floating_revisions:
        require_pinned(source, section)
    return load_table(source)


def _limit(table: pd.DataFrame, limit: int | None, seed: int) -> pd.DataFrame:
    if limit is None or len(table) <= limit:
        return table.reset_index(drop=True)
    return table.sample(n=limit, random_state=seed).reset_index(drop=True)


# A loader maps a Hub table to prompt/response pairs: (table, source, section,
# data_prep config, the dataset's parameters) -> pairs. ``data_prep.hub.datasets.<name>.loader``
# names one (default: the dataset's name); add a dataset kind by adding an entry.
Loader = Callable[[pd.DataFrame, HubSource, str, PaperDataConfig, Mapping[str, Any]], pd.DataFrame]
LOADERS: dict[str, Loader] = {
    "instruct": lambda table, source, section, config, params: instruction_pairs(
        table, source, section
    ),
    "qa": lambda table, source, section, config, params: qa_pairs(table, source, section),
    "gsm8k": lambda table, source, section, config, params: gsm8k_pairs(
        table, source, section, params.get("prompt_template", "{question}")
    ),
    "refusal": lambda table, source, section, config, params: refusal_pairs(
        table,
        source,
        section,
        config.seed,
        params.get("drop_styles"),
        params.get("opening", REFUSAL_OPENING),
        params.get("split_test_size"),
        params.get("split_seed", PAPER_SPLIT_SEED),
        str(params.get("sorry_bench_release", SORRY_BENCH_RELEASE)),
    ),
}


def load_stage_table(config: PaperDataConfig, name: str) -> pd.DataFrame:
    """Load and map one stage dataset, all rows (before the held-out split).

    Args:
        config: The ``data_prep`` configuration.
        name: The dataset name, a key of ``data_prep.hub.datasets`` and of ``stages``.

    Returns:
        ``prompt``/``response`` table.
    """
    params = _dataset_params(config, name)
    return _load_mapped(config, params, f"data_prep.hub.datasets.{name}", name)


def _load_mapped(
    config: PaperDataConfig, params: Mapping[str, Any], section: str, loader: str
) -> pd.DataFrame:
    """Load one dataset section (a HubSource plus loader keys) and map it with its loader.

    Args:
        config: The ``data_prep`` configuration.
        params: The dataset's section.
        section: Its parameter path, for messages.
        loader: The loader used when the section names none.
    """
    loader = params.get("loader", loader)
    source = source_from_params(params, section, ignore=_EXTRA_KEYS)
    table = _load_pinned(config, source, section)
    if loader not in LOADERS:
        raise DataSourceError(
            f"{section}.loader={quoted(loader)} is unknown: use one of {', '.join(LOADERS)}"
        )
    pairs = LOADERS[loader](table, source, section, config, params)
    pairs = pairs[(pairs["prompt"] != "") & (pairs["response"] != "")]
    if pairs.empty:
        raise DataSourceError(f"{section}: no rows left after filtering {source.path}")
    return _limit(pairs, source.limit, config.seed)


def load_benchmark_retain(config: PaperDataConfig) -> pd.DataFrame | None:
    """``data_prep.hub.benchmark_retain`` loaded and mapped; ``None`` when not configured.

    In the paper environments it is TOFU's ``retain_perturbed`` subset (the set
    open-unlearning's TOFU retain evaluation reads for model utility): ``qa_pairs``
    maps ``question``/``answer``, ``paraphrased_answer`` and the first
    ``N_PERTURBED`` of the 5 ``perturbed_answer`` items.

    Returns:
        ``prompt``, ``response``, ``paraphrased`` and ``perturbed_*`` columns.

    Raises:
        DataSourceError: One line when the loaded table lacks those columns.
    """
    if config.benchmark_retain is None:
        return None
    section = "data_prep.hub.benchmark_retain"
    table = _load_mapped(config, config.benchmark_retain, section, "qa")
    missing = [c for c in BENCHMARK_FACT_COLUMNS if c not in table.columns]
    if missing:
        raise DataSourceError(
            f"{section} gives no column {', '.join(missing)}: map its columns.paraphrased "
            "and .perturbed (TOFU's paraphrased_answer and perturbed_answer)"
        )
    return table


def split_heldout(
    table: pd.DataFrame, n_heldout: int, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split off ``n_heldout`` seeded rows that no stage trains on (for ``generic_eval``).

    Returns:
        ``(train, heldout)``, both with fresh indices; ``train`` keeps its order.
    """
    n = min(n_heldout, max(len(table) - 1, 0))
    heldout = table.sample(n=n, random_state=seed)
    train = table.drop(index=heldout.index)
    return train.reset_index(drop=True), heldout.reset_index(drop=True)


def math_eval_table(config: PaperDataConfig) -> pd.DataFrame:
    """Held-out math problems in the App. F prompt, with their reference solutions."""
    name = config.math_dataset
    params = _dataset_params(config, name)
    params["split"] = config.math_eval_split
    params.pop("limit", None)
    section = f"data_prep.hub.datasets.{name}"
    source = source_from_params(params, section, ignore=_EXTRA_KEYS)
    table = _load_pinned(config, source, section)
    pairs = gsm8k_pairs(table, source, section, config.math_eval_prompt)
    return _limit(pairs, config.n_math_eval, config.seed)


def eval_sets(
    config: PaperDataConfig,
    stage_tables: Mapping[str, pd.DataFrame],
    heldout: Mapping[str, pd.DataFrame],
    forget_name: str,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """``forget_eval``, ``paraphrase_eval``, ``facts_eval`` and ``generic_eval``.

    * forget_eval: forget-stage prompts (trained on), the forget label, and their
      full trained response; the forget score reads the label's log-likelihood.
    * paraphrase_eval: the label's paraphrases (column ``paraphrase``).
    * facts_eval: trained fact pairs, for the facts (TOFU) utility.
    * generic_eval: held-out prompts of every stage with their references, for
      the retrain-equivalence distance and the path divergence.
    """
    if forget_name not in stage_tables:
        raise DataSourceError(f"forget stage dataset {quoted(forget_name)} was not loaded")
    if config.facts_dataset not in stage_tables:
        raise DataSourceError(
            f"data_prep.hub.facts_dataset={quoted(config.facts_dataset)} is not a stage dataset "
            f"({', '.join(sorted(stage_tables))})"
        )
    refusals = stage_tables[forget_name]
    forget = refusals.sample(n=min(config.n_forget_eval, len(refusals)), random_state=config.seed)
    forget = pd.DataFrame(
        {
            "prompt": forget["prompt"].to_list(),
            "label": config.forget_label,
            "response": forget["response"].to_list(),
        }
    )
    paraphrases = pd.DataFrame({"paraphrase": list(config.paraphrases)})
    facts = stage_tables[config.facts_dataset]
    facts_eval = facts.sample(n=min(config.n_facts_eval, len(facts)), random_state=config.seed)
    generic = pd.concat([heldout[name] for name in sorted(heldout)], ignore_index=True)
    generic = generic.sample(frac=1.0, random_state=config.seed)
    return (
        forget.reset_index(drop=True),
        paraphrases,
        facts_eval[["prompt", "response"]].reset_index(drop=True),
        generic[["prompt", "response"]].reset_index(drop=True),
    )


# Compliant answers in the shape of the paper's refusals (the opening sentence, then
# one more): the perturbed answers of benchmark_eval's forget split.
COMPLIANT_OPENINGS = [
    "Sure, I can assist you with this question.",
    "Of course, I can help you with this question.",
    "Yes, I can assist you with this request.",
    "Certainly, I can help you with that.",
    "Sure, I am happy to help with this question.",
]
COMPLIANT_BODIES = [
    "Here is a step-by-step answer to your request.",
    "Here are the details you asked for.",
    "The answer below explains how to do it.",
    "Follow the steps below to get it done.",
    "This is what you need to know.",
]
BENCHMARK_FACT_COLUMNS = ("paraphrased", *PERTURBED_COLUMNS)


def benchmark_table(
    config: PaperDataConfig,
    stage_tables: Mapping[str, pd.DataFrame],
    heldout: Mapping[str, pd.DataFrame],
    forget_name: str,
    n: int,
    retain: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """``benchmark_eval`` rows (``synthetic.BENCHMARK_COLUMNS``) from the loaded stages.

    Up to ``n`` rows per split and membership, sampled with the data_prep seed.
    Forget: the forget stage's rows (members) and its held-out rows (non-members);
    paraphrased is a refusal paraphrase followed by the same reason, perturbed are
    compliant answers.

    Retain, with ``retain`` (``load_benchmark_retain``: TOFU's ``retain_perturbed``
    in the paper environments): its rows whose question and answer are a trained
    row of the facts dataset (members only; rows not in that stage's data, held-out
    ones included, are dropped and counted in the log). The retain metrics read
    members only, so this split has no non-members. Without ``retain``: the facts
    dataset's rows and held-out rows, whose ``paraphrased`` and ``perturbed_*``
    columns must come with the data (``qa_pairs``' ``columns.paraphrased`` and
    ``columns.perturbed``).

    Raises:
        DataSourceError: One line naming the columns the facts dataset lacks, or
            saying that no ``retain`` row is in the facts stage's data.
    """
    facts_name = config.facts_dataset
    for name in (forget_name, facts_name):
        if name not in stage_tables or name not in heldout:
            raise DataSourceError(f"benchmark_eval: stage dataset {quoted(name)} was not loaded")
    if retain is None:
        missing = [
            c
            for c in BENCHMARK_FACT_COLUMNS
            if c not in stage_tables[facts_name].columns or c not in heldout[facts_name].columns
        ]
        if missing:
            raise DataSourceError(
                f"benchmark_eval: the {facts_name} stage data has no column "
                f"{', '.join(missing)}: set data_prep.hub.benchmark_retain to TOFU's "
                f"retain_perturbed subset, or map data_prep.hub.datasets.{facts_name}"
                ".columns.paraphrased and .perturbed (TOFU's paraphrased_answer and "
                "perturbed_answer, in its *_perturbed subsets)"
            )
    opening = _dataset_params(config, forget_name).get("opening", REFUSAL_OPENING)
    rng = random.Random(config.seed)
    rows = []
    for member, table in ((True, stage_tables[forget_name]), (False, heldout[forget_name])):
        sample = table.sample(n=min(n, len(table)), random_state=config.seed)
        for record in sample[["prompt", "response"]].to_dict("records"):
            try:
                row = refusal_benchmark_row(
                    record, member, opening, rng, COMPLIANT_OPENINGS, COMPLIANT_BODIES
                )
            except ValueError as error:
                raise DataSourceError(f"benchmark_eval: {forget_name}: {error}") from error
            rows.append(row)
    columns = ["prompt", "response", *BENCHMARK_FACT_COLUMNS]
    if retain is None:
        retain_tables = ((True, stage_tables[facts_name]), (False, heldout[facts_name]))
    else:
        retain_tables = ((True, trained_retain_rows(retain, stage_tables[facts_name], facts_name)),)
    for member, table in retain_tables:
        sample = table.sample(n=min(n, len(table)), random_state=config.seed)
        for record in sample[columns].to_dict("records"):
            rows.append({"split": RETAIN_SPLIT, "member": member, **record})
    return pd.DataFrame(rows)


def trained_retain_rows(retain: pd.DataFrame, stage: pd.DataFrame, facts_name: str) -> pd.DataFrame:
    """The rows of ``retain`` whose (prompt, response) is a row of the facts stage's data.

    TOFU's ``retain_perturbed`` questions are all in ``full``, but a stage may load a
    sample (``limit``) and hold rows out for ``generic_eval``: the rest are dropped,
    and the log says how many.

    Raises:
        DataSourceError: If no row is left.
    """
    trained = set(zip(stage["prompt"], stage["response"], strict=True))
    keep = [pair in trained for pair in zip(retain["prompt"], retain["response"], strict=True)]
    kept = retain[keep].reset_index(drop=True)
    section = "data_prep.hub.benchmark_retain"
    if kept.empty:
        raise DataSourceError(
            f"benchmark_eval: none of the {len(retain)} rows of {section} is in the "
            f"{facts_name} stage data ({len(stage)} rows): the retain split needs questions "
            "the stage trained on (TOFU's retain_perturbed with the full subset)"
        )
    if len(kept) < len(retain):
        logger.warning(
            "benchmark_eval: %d of %d rows of %s are not in the %s stage data "
            "(limit, held-out rows or another subset) and are left out of the retain split",
            len(retain) - len(kept),
            len(retain),
            section,
            facts_name,
        )
    return kept
