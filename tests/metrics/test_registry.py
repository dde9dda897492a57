"""The registry and the probe table reproduce the hand-written code they replaced."""

from __future__ import annotations

import itertools

import pandas as pd

from path_unlearning import schemas
from path_unlearning.metrics import registry
from path_unlearning.metrics.eval_sets import probe_pairs
from path_unlearning.metrics.probes import EVAL_SETS, PROBE_NAMES, PROBE_SETS
from path_unlearning.metrics.scores import facts_utility, forget_score
from path_unlearning.schemas import (
    FACTS,
    FORGET_LABEL,
    KL,
    MATH_ACC,
    MATH_ACC_SAMPLED,
    PARAPHRASE,
    RE_DISTANCE,
    ll,
    ll_tok,
)


def _scores(offset: float, sampled: bool) -> dict[str, float]:
    values = itertools.count(1)
    scores = {}
    for probe in PROBE_NAMES:
        scores[ll(probe)] = -3.7 * next(values) + offset
        scores[ll_tok(probe)] = -0.31 * next(values) + offset / 7
    scores[MATH_ACC], scores[RE_DISTANCE], scores[KL] = 0.625 - offset / 9, 0.013, 0.021
    if sampled:
        scores[MATH_ACC_SAMPLED] = 0.55 - offset / 11
    return scores


def _hand_built(b: dict[str, float], a: dict[str, float]) -> dict[str, float]:
    """The dict evaluate_unlearned built before the registry (commit b8b48b3)."""
    label = forget_score(b[ll_tok(FORGET_LABEL)], a[ll_tok(FORGET_LABEL)])
    para = forget_score(b[ll_tok(PARAPHRASE)], a[ll_tok(PARAPHRASE)])
    metrics = {
        "forget_score_label": label,
        "forget_score_paraphrase": para,
        "forget_score_both": (label + para) / 2,
        "facts_utility": facts_utility(b[ll_tok(FACTS)], a[ll_tok(FACTS)]),
        "forget_score_label_sum": forget_score(b["forget_label_ll"], a["forget_label_ll"]),
        "forget_score_paraphrase_sum": forget_score(b["paraphrase_ll"], a["paraphrase_ll"]),
        "facts_utility_sum": facts_utility(b["facts_ll"], a["facts_ll"]),
        "math_acc_before": b[MATH_ACC],
        "math_acc_after": a[MATH_ACC],
        "math_utility": a[MATH_ACC] - b[MATH_ACC],
        "re_distance_before": b[RE_DISTANCE],
        "re_distance_after": a[RE_DISTANCE],
        "kl_before": b[KL],
        "kl_after": a[KL],
    }
    if MATH_ACC_SAMPLED in a:
        metrics["math_acc_sampled_before"] = b[MATH_ACC_SAMPLED]
        metrics["math_acc_sampled_after"] = a[MATH_ACC_SAMPLED]
    for probe in ("forget_label", "paraphrase", "facts"):
        for column in (ll(probe), ll_tok(probe)):
            metrics[f"{column}_before"] = b[column]
            metrics[f"{column}_after"] = a[column]
    return metrics


def test_registry_metrics_equal_the_hand_built_dict_bit_for_bit() -> None:
    for sampled in (False, True):
        b, a = _scores(0.0, sampled), _scores(1.3, sampled)
        ours, old = registry.evaluation_metrics(b, a), _hand_built(b, a)
        assert list(ours) == list(old)
        assert all(ours[k] == old[k] and type(ours[k]) is type(old[k]) for k in old)


def test_schema_lists_every_registered_metric_in_row_order() -> None:
    names = [c.name for c in schemas.EVALUATION_SCORES.metrics]
    assert names == list(registry.metric_names())
    assert list(registry.table1_blocks()) == ["forget_score_label", "facts_utility",
                                              "math_utility"]  # fmt: skip
    assert registry.table1_metrics() == (
        "forget_score_label", "forget_score_paraphrase", "forget_score_both",
        "facts_utility", "math_utility",
    )  # fmt: skip


def _old_probe_pairs(forget_eval, paraphrase_eval, facts_eval, math_eval, limit=None,
                     all_paraphrases=False):  # fmt: skip
    forget = forget_eval.head(limit) if limit else forget_eval
    prompts = forget["prompt"].to_list()
    paraphrases = paraphrase_eval["paraphrase"].to_list()
    if all_paraphrases:
        para = ([p for p in prompts for _ in paraphrases], paraphrases * len(prompts))
    else:
        para = (prompts, [paraphrases[i % len(paraphrases)] for i in range(len(prompts))])
    facts = facts_eval.head(limit) if limit else facts_eval
    math = math_eval.head(limit) if limit else math_eval
    return {
        "forget_label": (prompts, forget["label"].to_list()),
        "paraphrase": para,
        "facts": (facts["prompt"].to_list(), facts["response"].to_list()),
        "math": (math["prompt"].to_list(), math["response"].to_list()),
    }


def test_probe_pairs_from_the_probe_table_equal_the_hand_written_ones() -> None:
    assert EVAL_SETS == ("forget_eval", "paraphrase_eval", "facts_eval", "math_eval",
                         "generic_eval")  # fmt: skip
    assert PROBE_SETS == EVAL_SETS[:4]
    sets = (
        pd.DataFrame({"prompt": [f"q{i}" for i in range(5)], "label": "No", "response": "r"}),
        pd.DataFrame({"paraphrase": ["p0", "p1"]}),
        pd.DataFrame({"prompt": ["f0", "f1", "f2"], "response": ["a0", "a1", "a2"]}),
        pd.DataFrame({"prompt": ["m0", "m1"], "response": ["#### 1", "#### 2"]}),
    )
    for limit, every in [(None, False), (None, True), (3, False), (1, True), (0, False)]:
        ours = probe_pairs(*sets, limit=limit, all_paraphrases=every)
        assert ours == _old_probe_pairs(*sets, limit=limit, all_paraphrases=every)
        assert list(ours) == list(PROBE_NAMES)
