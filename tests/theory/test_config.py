"""TheoryConfig ranges and cross-field checks, comparisons, paths."""

from __future__ import annotations

import re

import pytest

from path_unlearning.errors import ConfigError
from path_unlearning.parameters import build
from path_unlearning.paths import PathError
from path_unlearning.theory.config import (
    DEFAULT_COMPARISONS,
    TheoryConfig,
    check_path,
    parse_comparisons,
    retrain_path,
)


def _params(base: TheoryConfig, **override) -> dict:
    return {**base.model_dump(), **override}


def test_from_params_builds_config(base: TheoryConfig) -> None:
    config = build(TheoryConfig, _params(base, d=40.0), "theory")
    assert config == base
    assert isinstance(config.d, int)  # 40.0 from YAML is stored as an int


def test_unknown_key_is_one_line_config_error(base: TheoryConfig) -> None:
    with pytest.raises(ConfigError, match="theory: unknown parameter 'surprise'") as info:
        build(TheoryConfig, _params(base, surprise=1), "theory")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"eta": 0.0}, "theory.eta=0.0 is out of range: expected a number > 0"),
        ({"mu_A": -1.0}, "theory.mu_A=-1.0 is out of range: expected a number > 0"),
        ({"steps": -1}, "theory.steps=-1 is out of range: expected an integer >= 0"),
        ({"n_A": 2.5}, "theory.n_A=2.5 is out of range: expected an integer >= 1"),
        ({"n_instances": 0}, "theory.n_instances=0 is out of range"),
        ({"noise": float("nan")}, "theory.noise=nan is out of range"),
        ({"d": "60"}, "theory.d='60' is out of range"),
        ({"k": 50}, "theory: k=50 must be <= d=40"),
        ({"m": 3}, "theory: m=3 must be >= k=4"),
        ({"d": 20}, "theory: d=20 must exceed n_A + n_B + k = 20"),
    ],
)
def test_out_of_range_is_one_line_config_error(base: TheoryConfig, override, message) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)) as info:
        build(TheoryConfig, _params(base, **override), "theory")
    assert "\n" not in str(info.value)


def test_direct_construction_is_checked_too(base: TheoryConfig) -> None:
    with pytest.raises(ValueError, match="greater than 0"):  # pydantic's ValidationError
        TheoryConfig(**{**base.model_dump(), "eta": 0})


def test_missing_required_key(base: TheoryConfig) -> None:
    params = _params(base)
    del params["d"]
    with pytest.raises(ConfigError, match="theory: missing parameter 'd'"):
        build(TheoryConfig, params, "theory")


def test_parse_comparisons() -> None:
    assert parse_comparisons(None) == DEFAULT_COMPARISONS == {"theorem_3_1": ("AB", "BA")}
    parsed = parse_comparisons({"x": ["AB", "BA"], "y": ("ABU", "UBA")})
    assert parsed == {"x": ("AB", "BA"), "y": ("ABU", "UBA")}
    assert list(parsed) == ["x", "y"]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"x": ["AB", "BXU"]}, "theory.comparisons.x: invalid path 'BXU': unknown stage(s) X"),
        ({"x": ["AB", "ABA"]}, "theory.comparisons.x: invalid path 'ABA': a stage may appear"),
        ({"x": ["AB", "ab"]}, "theory.comparisons.x: invalid path 'ab'"),
        ({"x": ["AB"]}, "theory.comparisons.x must list exactly two paths"),
        ({"x": "AB"}, "theory.comparisons.x must list exactly two paths"),
        ({"x": ["AB", "AB"]}, "the two paths must differ"),
        ({}, "theory.comparisons must map names to two paths"),
        (["AB", "BA"], "theory.comparisons must map names to two paths"),
    ],
)
def test_bad_comparisons(raw, message) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)) as info:
        parse_comparisons(raw)
    assert "\n" not in str(info.value)


def test_paths_reuse_project_validation() -> None:
    assert check_path("UBA") == "UBA"
    with pytest.raises(PathError, match="configured stages are A, B, U"):
        check_path("ABC")
    assert retrain_path("AUB") == "AB"
    assert retrain_path("BA") == "BA"  # never trained U: its own reference
