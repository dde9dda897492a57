"""One model's rows on benchmark_eval, and the registered benchmark metrics they give."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from path_unlearning.data import synthetic
from path_unlearning.metrics import registry
from path_unlearning.metrics.benchmark_eval import BenchmarkSettings, benchmark_rows

SETTINGS = BenchmarkSettings(batch_size=8, max_new_tokens=4)


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    records = synthetic.benchmark_records(
        synthetic.author_facts(3, 0), synthetic.refusals(30, 2), 4, 6
    )
    return pd.DataFrame(records)


def test_rows_hold_every_statistic_and_rouge_only_for_retain_members(
    word_tokenizer, tiny_base_model, table
) -> None:
    rows = benchmark_rows(tiny_base_model, word_tokenizer, table, SETTINGS)
    assert len(rows) == len(table)
    assert list(rows[["split", "member"]].itertuples(index=False)) == list(
        table[["split", "member"]].itertuples(index=False)
    )
    assert {"ll_tok", "loss", "zlib", "min_k", "min_k_pp", "truth_ratio"} <= set(rows)
    retain = (rows["split"] == "retain") & rows["member"]
    assert rows.loc[retain, "rouge_l_recall"].between(0, 1).all()
    assert rows.loc[~retain, "rouge_l_recall"].isna().all()
    assert (rows["truth_ratio"] > 0).all()


def test_truth_ratio_reads_the_paraphrased_and_perturbed_answers(
    word_tokenizer, tiny_base_model, table
) -> None:
    # With the true answer as every perturbed answer and as the paraphrase, TR is 1.
    same = table.assign(
        paraphrased=table["response"],
        **{f"perturbed_{i}": table["response"] for i in range(synthetic.N_PERTURBED)},
    )
    rows = benchmark_rows(tiny_base_model, word_tokenizer, same, SETTINGS)
    np.testing.assert_allclose(rows["truth_ratio"], 1.0, rtol=1e-6)


def _rows(values: dict[str, list[float]], member: list[bool], split: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"split": split, "member": member, **values})


def test_metrics_of_a_model_against_itself() -> None:
    # Forget: 2 members, 2 non-members; retain: 2 members.
    split = ["forget"] * 4 + ["retain"] * 2
    member = [True, True, False, False, True, True]
    rows = _rows(
        {
            "truth_ratio": [0.5, 2.0, 1.0, 1.0, 0.2, 0.6],
            "loss": [0.1, 0.2, 0.9, 0.8, 0.3, 0.3],
            "zlib": [0.1, 0.2, 0.9, 0.8, 0.3, 0.3],
            "min_k": [0.1, 0.2, 0.9, 0.8, 0.3, 0.3],
            "min_k_pp": [0.9, 0.2, 0.1, 0.8, 0.3, 0.3],
            "extraction_strength": [1.0, 0.5, 0.0, 0.0, 0.0, 0.0],
            "exact_memorization": [1.0, 0.0, 0.0, 0.0, 0.0, 0.0],
            "ll_tok": [0.0] * 4 + [math.log(0.5), math.log(0.25)],
            "rouge_l_recall": [np.nan] * 4 + [1.0, 0.5],
        },
        member,
        split,
    )
    m = registry.benchmark_metrics(rows, rows, rows, "min_k")
    assert m["forget_quality_after"] == pytest.approx(1.0)  # identical distributions
    assert m["privleak_after"] == pytest.approx(0.0)
    assert m["mia_loss_auc_after"] == 1.0  # members have the lower losses
    assert m["mia_min_k_pp_auc_after"] == 0.25  # one of 4 pairs: a non-member above a member
    assert m["forget_truth_ratio_after"] == pytest.approx(0.5)  # min(TR, 1/TR): 0.5, 0.5
    assert m["extraction_strength_after"] == 0.75 and m["exact_memorization_after"] == 0.5
    # retain: probability 0.375, ROUGE 0.75, truth score mean(0.8, 0.4) = 0.6
    assert m["retain_probability_after"] == pytest.approx(0.375)
    assert m["retain_rouge_after"] == pytest.approx(0.75)
    assert m["retain_truth_ratio_after"] == pytest.approx(0.6)
    hm = 3 / (1 / 0.375 + 1 / 0.75 + 1 / 0.6)
    assert m["model_utility_after"] == pytest.approx(hm)
    assert list(m) + [registry.RELEARN_HALF_STEPS, registry.RELEARN_RECOVERED] == list(
        registry.benchmark_metric_names()
    )
    # The metrics that compare with the reference are not written for the reference.
    assert "forget_quality_retain" not in m and "privleak_retain" not in m
    assert m["model_utility_retrain"] == m["model_utility_after"]
