"""The experiment plan: seeds, method restriction, plans of each environment, config checks."""

from __future__ import annotations

import pytest

from path_unlearning.errors import ConfigError
from path_unlearning.paths import PathError
from path_unlearning.plan import ExperimentPlan


def _params(**overrides) -> dict:
    params = {
        "stages": {"A": {"dataset": "facts"}, "B": {"dataset": "math"},
                   "C": {"dataset": "refusal"}},
        "forget_stage": "C",
        "paths": ["ABC", "BCA"],
        "unlearn": {"methods": ["ga", "npo", "simnpo"]},
        "seeds": [0, 1],
    }  # fmt: skip
    params.update(overrides)
    return params


@pytest.mark.parametrize(
    "seeds",
    [[], [0, 0], [-1], ["0"], [1.5], [True], "0", None, {"a": 1}, [0, [1]]],
)
def test_bad_seed_lists_raise_one_line_error(seeds) -> None:
    with pytest.raises(ConfigError) as info:
        ExperimentPlan.from_parameters(_params(seeds=seeds))
    message = str(info.value)
    assert message.startswith("invalid seeds")
    assert "\n" not in message


@pytest.mark.parametrize(("seeds", "expected"), [(3, (3,)), ([2, 0, 5], (2, 0, 5))])
def test_good_seeds(seeds, expected) -> None:
    plan = ExperimentPlan.from_parameters(_params(seeds=seeds))
    assert plan.seeds == expected


def test_seeds_default_to_zero() -> None:
    params = _params()
    del params["seeds"]
    assert ExperimentPlan.from_parameters(params).seeds == (0,)


def test_all_configured_methods_without_a_runtime_method() -> None:
    plan = ExperimentPlan.from_parameters(_params())
    assert plan.methods == ("ga", "npo", "simnpo")


def test_runtime_method_restricts_to_one_method() -> None:
    plan = ExperimentPlan.from_parameters(_params(method="npo"))
    assert plan.methods == ("npo",)
    assert plan.paths == ("ABC", "BCA")  # paths are not affected


@pytest.mark.parametrize("method", ["sgd", "GA", "npo;rm"])
def test_unknown_runtime_method_raises_one_line_config_error(method: str) -> None:
    with pytest.raises(ConfigError) as info:
        ExperimentPlan.from_parameters(_params(method=method))
    assert method in str(info.value)
    assert "\n" not in str(info.value)


def test_path_errors_are_config_errors() -> None:
    # the CLI turns ConfigError into a one-line message and exit code 1
    assert issubclass(PathError, ConfigError)


def test_runtime_path_and_method_together() -> None:
    plan = ExperimentPlan.from_parameters(_params(path="CAB", method="ga"))
    assert (plan.paths, plan.methods) == (("CAB",), ("ga",))
    assert plan.prefixes == ["A", "C", "AB", "CA", "CAB"]


def test_missing_stages_or_forget_stage() -> None:
    with pytest.raises(PathError, match="no stages configured"):
        ExperimentPlan.from_parameters(_params(stages={}))
    with pytest.raises(PathError, match="forget_stage"):
        ExperimentPlan.from_parameters(_params(forget_stage="Z"))


def test_each_seed_is_a_namespace() -> None:
    plan = ExperimentPlan.from_parameters(_params())
    assert plan.namespace(1, "BCA") == "s1.BCA"
    assert plan.namespace(0) == "s0"
