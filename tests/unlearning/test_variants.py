"""Unlearning variants: named methods that override the unlearn section (conf/ablation)."""

from __future__ import annotations

import pytest

from path_unlearning.errors import ConfigError
from path_unlearning.plan import ExperimentPlan
from path_unlearning.sections import resolve_method, unlearn_config

UNLEARN = {
    "methods": ["ga", "ga_cosine", "npo_fast"],
    "steps": 20,
    "lr": 2.0e-3,
    "scheduler": "warmup_stable_decay",
    "hparams": {"npo": {"beta": 0.5}},
    "variants": {
        "ga_cosine": {"method": "ga", "scheduler": "cosine"},
        "npo_fast": {"method": "npo", "lr": 4.0e-3, "hparams": {"beta": 1.0}},
    },
}


def test_a_variant_overrides_its_loss_settings():
    config = unlearn_config(UNLEARN, "npo_fast", seed=3)
    assert (config.method, config.lr, config.seed) == ("npo", 4.0e-3, 3)
    assert config.hparams == {"beta": 1.0}
    cosine = unlearn_config(UNLEARN, "ga_cosine", seed=0)
    assert (cosine.method, cosine.scheduler, cosine.lr) == ("ga", "cosine", 2.0e-3)


def test_a_loss_name_resolves_to_itself():
    assert resolve_method(UNLEARN, "ga") == ("ga", {})
    assert unlearn_config(UNLEARN, "ga", seed=0).scheduler == "warmup_stable_decay"


@pytest.mark.parametrize(
    ("variants", "message"),
    [
        ({"bad": {"method": "nope"}}, "registered loss"),
        ({"bad": {"scheduler": "cosine"}}, "registered loss"),
        ({"bad": {"method": "ga_cosine"}, "ga_cosine": {"method": "ga"}}, "registered loss"),
        ({"bad": {"method": "ga", "learning_rate": 1.0}}, "unknown parameter 'learning_rate'"),
        ({"bad": {"method": "ga", "lr": -1.0}}, "unlearn.variants.bad.lr"),
    ],
)
def test_bad_variants_fail_in_one_line(variants, message):
    with pytest.raises(ConfigError, match=message):
        unlearn_config({**UNLEARN, "variants": variants}, "bad", seed=0)


def test_a_variant_may_not_shadow_a_loss():
    with pytest.raises(ConfigError, match="loss name"):
        resolve_method({"variants": {"ga": {"method": "npo"}}}, "ga")


def _params(**unlearn) -> dict:
    return {
        "stages": {"A": {"dataset": "facts"}, "C": {"dataset": "refusal"}},
        "forget_stage": "C",
        "paths": ["AC", "CA"],
        "unlearn": {**UNLEARN, **unlearn},
    }


def test_the_plan_keeps_each_variants_loss():
    plan = ExperimentPlan.from_parameters(_params())
    assert plan.methods == ("ga", "ga_cosine", "npo_fast")
    assert [plan.loss_of(m) for m in plan.methods] == ["ga", "ga", "npo"]


def test_the_plan_rejects_unknown_methods_and_variants():
    with pytest.raises(ConfigError, match="unknown unlearning method 'nope'"):
        ExperimentPlan.from_parameters(_params(methods=["nope"]))
    bad = {"x": {"method": "nope"}}
    with pytest.raises(ConfigError, match="unlearn.variants.x.method"):
        ExperimentPlan.from_parameters(_params(methods=["x"], variants=bad))
