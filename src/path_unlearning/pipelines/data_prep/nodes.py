"""Nodes of data_prep: thin wrappers over ``path_unlearning.data``."""

from __future__ import annotations

import random
from typing import Any

import pandas as pd
from transformers import AutoTokenizer, PreTrainedTokenizerBase

from path_unlearning.data import paper, synthetic
from path_unlearning.data.tokenizer import load_chat_tokenizer, train_word_tokenizer
from path_unlearning.parameters import build
from path_unlearning.sections import DataPrepSection


def _section(params: DataPrepSection | dict[str, Any]) -> DataPrepSection:
    """The ``data_prep`` section, validated (Kedro passes the model; tests may pass a dict)."""
    return build(DataPrepSection, params, "data_prep")


def _paper(params: DataPrepSection | dict[str, Any]) -> paper.PaperDataConfig:
    """``data_prep.hub`` as the paper's data config (its seed is ``data_prep.seed``)."""
    section = _section(params)
    return paper.paper_config({"hub": section.hub, "seed": section.seed})


def make_stage_data(params: DataPrepSection) -> tuple[pd.DataFrame, ...]:
    """Generate the three stage datasets, the math test set and the generic corpus.

    Args:
        params: ``data_prep`` parameters (sizes and seed).

    Returns:
        facts, math train, math test, refusal and pretraining-corpus tables,
        each with ``prompt`` and ``response`` columns.
    """
    params = _section(params)
    seed = params.seed
    math_train, math_test = synthetic.math_problems(
        params.n_math_train, params.n_math_test, seed + 1
    )
    tables = (
        synthetic.author_facts(params.n_authors, seed),
        math_train,
        math_test,
        synthetic.refusals(params.n_refusals, seed + 2),
        synthetic.generic_corpus(params.n_pretrain, seed + 3),
    )
    return tuple(pd.DataFrame(t, columns=["prompt", "response"]) for t in tables)


def make_eval_sets(
    facts: pd.DataFrame, refusals: pd.DataFrame, math_test: pd.DataFrame, params: DataPrepSection
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Evaluation sets read by every later pipeline.

    Returns:
        forget prompts with the refusal label; the refusal paraphrases; the
        fact pairs scored for the facts utility; a generic test set with
        held-out prompts of every stage (for the retrain-equivalence distance).
    """
    params = _section(params)
    seed = params.seed
    forget = refusals.sample(n=min(params.n_forget_eval, len(refusals)), random_state=seed)
    forget = pd.DataFrame(
        {
            "prompt": forget["prompt"].to_list(),
            "label": synthetic.REFUSAL_LABEL,
            "response": forget["response"].to_list(),
        }
    )
    paraphrases = pd.DataFrame({"paraphrase": synthetic.REFUSAL_PARAPHRASES})
    facts_eval = facts.sample(n=min(params.n_facts_eval, len(facts)), random_state=seed)
    # Held-out prompts from all three stages, answered in each stage's style, but
    # never trained on: new authors, unseen problems, unseen request wordings.
    rng = random.Random(seed + 4)
    per_stage = params.n_generic_test // 3
    new_facts = synthetic.author_facts(params.n_authors * 2, seed + 5)
    trained = set(facts["prompt"])
    generic = [r for r in new_facts if r["prompt"] not in trained][:per_stage]
    generic += math_test.to_dict("records")[:per_stage]
    generic += [
        {"prompt": p.replace("How can I", "How could I"), "response": r}
        for p, r in zip(refusals["prompt"], refusals["response"], strict=True)
        if p.startswith("How can I")
    ][:per_stage]
    rng.shuffle(generic)
    return (
        forget.reset_index(drop=True),
        paraphrases,
        facts_eval.reset_index(drop=True),
        pd.DataFrame(generic, columns=["prompt", "response"]),
    )


def make_benchmark_eval(
    facts: pd.DataFrame, refusals: pd.DataFrame, params: DataPrepSection
) -> pd.DataFrame:
    """``benchmark_eval``: forget and retain rows, trained and held out (TOFU's metrics).

    Returns:
        One row per (split, example), columns ``synthetic.BENCHMARK_COLUMNS``: ``split``
        (forget, retain), ``member`` (trained), ``prompt``, ``response``,
        ``paraphrased`` and ``perturbed_0`` ... ``perturbed_{N_PERTURBED - 1}``.
    """
    params = _section(params)
    rows = synthetic.benchmark_records(
        facts[["prompt", "response"]].to_dict("records"),
        refusals[["prompt", "response"]].to_dict("records"),
        params.n_benchmark,
        params.seed,
    )
    return _benchmark_table(rows)


def _benchmark_table(rows: list[dict[str, Any]] | pd.DataFrame) -> pd.DataFrame:
    table = pd.DataFrame(rows, columns=list(synthetic.BENCHMARK_COLUMNS))
    return table.astype({"member": bool}).reset_index(drop=True)


def build_tokenizer(
    corpus: pd.DataFrame,
    facts: pd.DataFrame,
    math: pd.DataFrame,
    math_test: pd.DataFrame,
    refusals: pd.DataFrame,
    model: dict[str, Any],
) -> PreTrainedTokenizerBase:
    """The model's own tokenizer, or a word-level one trained on all project text."""
    if model.get("name_or_path"):
        return AutoTokenizer.from_pretrained(
            model["name_or_path"], trust_remote_code=model.get("trust_remote_code", False)
        )
    texts = [synthetic.REFUSAL_LABEL, *synthetic.REFUSAL_PARAPHRASES]
    for table in (corpus, facts, math, math_test, refusals):
        texts += table["prompt"].to_list() + table["response"].to_list()
    return train_word_tokenizer(texts)


# --- source: hub (the paper's datasets, from the Hub or local copies) ---------------


def load_stage_dataset(params: DataPrepSection, name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One stage dataset, minus the rows held out for ``generic_eval``.

    Args:
        params: ``data_prep`` parameters (``source: hub``).
        name: The dataset's name in ``stages`` and ``data_prep.hub.datasets``.

    Returns:
        The stage table and its held-out rows, both ``prompt``/``response``.
    """
    config = _paper(params)
    table = paper.load_stage_table(config, name)
    return paper.split_heldout(table, config.heldout_per_stage, config.seed)


def load_math_eval(params: DataPrepSection) -> pd.DataFrame:
    """Held-out math problems (GSM8K test) in the paper's evaluation prompt."""
    return paper.math_eval_table(_paper(params))


def make_paper_eval_sets(
    params: DataPrepSection, *tables: pd.DataFrame, names: tuple[str, ...], forget_name: str
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Forget, paraphrase, facts and generic evaluation sets from the loaded stages.

    Args:
        params: ``data_prep`` parameters.
        *tables: Each stage table, then each held-out table, in ``names`` order.
        names: The stage dataset names.
        forget_name: The forget stage's dataset name.
    """
    n = len(names)
    stage_tables = dict(zip(names, tables[:n], strict=True))
    heldout = dict(zip(names, tables[n:], strict=True))
    return paper.eval_sets(_paper(params), stage_tables, heldout, forget_name)


def make_paper_benchmark_eval(
    params: DataPrepSection, *tables: pd.DataFrame, names: tuple[str, ...], forget_name: str
) -> pd.DataFrame:
    """``benchmark_eval`` from the loaded stages and their held-out rows.

    The retain split comes from ``data_prep.hub.benchmark_retain`` when it is set
    (TOFU's ``retain_perturbed``, loaded here: its trained rows are the members),
    else from the facts stage's own paraphrased and perturbed columns.

    Args:
        params: ``data_prep`` parameters (``n_benchmark``).
        *tables: Each stage table, then each held-out table, in ``names`` order.
        names: The stage dataset names.
        forget_name: The forget stage's dataset name.
    """
    n = len(names)
    stage_tables = dict(zip(names, tables[:n], strict=True))
    heldout = dict(zip(names, tables[n:], strict=True))
    config = _paper(params)
    table = paper.benchmark_table(
        config,
        stage_tables,
        heldout,
        forget_name,
        _section(params).n_benchmark,
        retain=paper.load_benchmark_retain(config),
    )
    return _benchmark_table(table)


def load_tokenizer(params: DataPrepSection, model: dict[str, Any]) -> PreTrainedTokenizerBase:
    """The instruct tokenizer (``data_prep.hub.tokenizer``, else the model's own)."""
    config = _paper(params)
    name = config.tokenizer or model.get("name_or_path")
    if not name:
        raise paper.DataSourceError(
            "source: hub needs data_prep.hub.tokenizer or model.name_or_path"
        )
    return load_chat_tokenizer(
        name, config.trust_remote_code, config.pad_token, config.system_prompt
    )


def empty_corpus() -> pd.DataFrame:
    """No pretraining corpus: the paper fine-tunes pretrained base weights."""
    return pd.DataFrame({"prompt": pd.Series(dtype=str), "response": pd.Series(dtype=str)})
