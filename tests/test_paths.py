"""Path validation, the prefix trie, retrain references and prefix seeds."""

from __future__ import annotations

import itertools

import pytest

from path_unlearning.paths import (
    PathError,
    forget_position,
    parent,
    prefix_seed,
    prefix_trie,
    retrain_reference,
    select_paths,
    training_prefixes,
    validate_path,
)
from path_unlearning.plan import ExperimentPlan

STAGES = ["A", "B", "C"]
DEFAULT_PATHS = ["ABC", "ACB", "BAC", "BCA", "CAB", "CBA"]


def _params(**overrides) -> dict:
    params = {
        "stages": {"A": {"dataset": "facts"}, "B": {"dataset": "math"},
                   "C": {"dataset": "refusal"}},
        "forget_stage": "C",
        "paths": list(DEFAULT_PATHS),
        "path": None,
        "method": None,
        "unlearn": {"methods": ["ga", "npo"]},
        "seeds": [0, 1],
    }  # fmt: skip
    params.update(overrides)
    return params


@pytest.mark.parametrize("path", ["A", "BCA", "CAB", "AB"])
def test_valid_paths_are_returned_unchanged(path: str) -> None:
    assert validate_path(path, STAGES) == path


@pytest.mark.parametrize(
    ("path", "fragment"),
    [
        ("bca", "capital stage letters"),
        ("", "capital stage letters"),
        ("B1A", "capital stage letters"),
        ("../A", "capital stage letters"),
        ("A/B", "capital stage letters"),
        ("A B", "capital stage letters"),
        ("BCA\n", "capital stage letters"),
        (123, "capital stage letters"),
        (None, "capital stage letters"),
        (["A", "B"], "capital stage letters"),
        ("ABA", "only once"),
        ("CC", "only once"),
        ("ABD", "unknown stage(s) D"),
        ("XYZ", "unknown stage(s) X, Y, Z"),
    ],
)
def test_invalid_paths_raise_one_line_path_error(path: object, fragment: str) -> None:
    with pytest.raises(PathError) as info:
        validate_path(path, STAGES)
    message = str(info.value)
    assert fragment in message
    assert "\n" not in message
    assert isinstance(info.value, ValueError)


def test_trie_of_default_permutations_shares_prefixes() -> None:
    prefixes = training_prefixes(DEFAULT_PATHS, "C")
    # 3 one-stage + 6 two-stage + 6 three-stage prefixes; AB and BA (the retrain
    # references of the paths ending in C) are already two-stage prefixes.
    assert len(prefixes) == 15
    assert len(set(prefixes)) == 15
    assert {"AB", "BA"} <= set(prefixes)
    assert set(prefixes) == {"".join(p[:i]) for p in itertools.permutations("ABC")
                             for i in (1, 2, 3)}  # fmt: skip
    # Training every path and every distinct retrain reference from scratch takes
    # 6 x 3 + 2 x 2 = 22 stage trainings; the trie needs 15.
    references = {retrain_reference(p, "C") for p in DEFAULT_PATHS}
    assert references == {"AB", "BA"}
    naive = sum(len(p) for p in DEFAULT_PATHS) + sum(len(r) for r in references)
    assert naive == 22
    assert len(prefixes) < 22


def test_trie_orders_parents_before_children() -> None:
    prefixes = training_prefixes(DEFAULT_PATHS, "C")
    seen: set[str] = set()
    for prefix in prefixes:
        assert parent(prefix) == "" or parent(prefix) in seen
        seen.add(prefix)


def test_prefix_trie_dedupes_and_sorts() -> None:
    assert prefix_trie(["BCA", "BC", "BCA"]) == ["B", "BC", "BCA"]
    assert prefix_trie([]) == []


def test_retrain_reference_removes_the_forget_stage() -> None:
    assert retrain_reference("BCA", "C") == "BA"
    assert retrain_reference("ABC", "C") == "AB"
    assert retrain_reference("CAB", "C") == "AB"
    assert retrain_reference("C", "C") == ""
    with pytest.raises(PathError, match="never trains the forget stage"):
        retrain_reference("AB", "C")


def test_forget_position_is_one_based() -> None:
    assert forget_position("CAB", "C") == 1
    assert forget_position("BCA", "C") == 2
    assert forget_position("ABC", "C") == 3
    with pytest.raises(PathError):
        forget_position("AB", "C")


def test_single_stage_forget_path_has_no_reference_prefix() -> None:
    assert training_prefixes(["C"], "C") == ["C"]


def test_select_paths_accepts_a_requested_path_outside_the_configured_list() -> None:
    configured = ["ABC", "ACB", "BAC", "BCA"]
    assert select_paths(configured, STAGES, "C", "CAB") == ["CAB"]
    assert select_paths(configured, STAGES, "C") == configured
    assert select_paths(["ABC", "ABC"], STAGES, "C") == ["ABC"]


@pytest.mark.parametrize(
    ("configured", "requested", "forget", "fragment"),
    [
        (["ABC"], "AB", "C", "never trains the forget stage"),
        (["ABC"], "../A", "C", "capital stage letters"),
        (["ABC"], None, "D", "forget_stage 'D'"),
        ([], None, "C", "no paths configured"),
        (["ABD"], None, "C", "unknown stage(s) D"),
    ],
)
def test_select_paths_rejects_bad_input(configured, requested, forget, fragment) -> None:
    with pytest.raises(PathError) as info:
        select_paths(configured, STAGES, forget, requested)
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)


def test_runtime_path_restricts_the_plan_to_its_prefixes_and_reference() -> None:
    plan = ExperimentPlan.from_parameters(_params(path="BCA"))
    assert plan.paths == ("BCA",)
    assert set(plan.prefixes) == {"B", "BC", "BCA", "BA"}
    assert plan.reference("BCA") == "BA"
    assert plan.position("BCA") == 2


def test_plan_from_default_parameters_has_the_full_trie() -> None:
    plan = ExperimentPlan.from_parameters(_params())
    assert plan.paths == tuple(DEFAULT_PATHS)
    assert len(plan.prefixes) == 15
    assert plan.stage_datasets == {"A": "facts", "B": "math", "C": "refusal"}


@pytest.mark.parametrize("bad", ["B1A", "bca", "../A", "CC", "AB"])
def test_plan_rejects_a_bad_runtime_path(bad: str) -> None:
    with pytest.raises(PathError) as info:
        ExperimentPlan.from_parameters(_params(path=bad))
    assert "\n" not in str(info.value)


def test_prefix_seed_is_deterministic_and_depends_on_prefix_and_seed_only() -> None:
    assert prefix_seed(0, "BC") == prefix_seed(0, "BC")
    assert prefix_seed(0, "BC") != prefix_seed(0, "CB")
    assert prefix_seed(0, "BC") != prefix_seed(1, "BC")
    assert prefix_seed(0, "") != prefix_seed(0, "A")
    assert 0 <= prefix_seed(7, "ABC") < 2**32
    # "AB" is one training whether it is a prefix of ABC or the retrain reference of
    # CAB: the seed is computed from the prefix, with no path in sight.
    assert prefix_seed(0, "ABC"[:2]) == prefix_seed(0, retrain_reference("CAB", "C"))
