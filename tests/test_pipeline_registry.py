"""The registry builds the plan from each environment's configuration, without a session."""

from __future__ import annotations

import os
import warnings

import pytest

from path_unlearning.errors import ConfigError
from path_unlearning.kedro_adapter import (
    CONF_SOURCE_VAR,
    ENV_VAR,
    PROJECT_VAR,
    PUBLISHER_VAR,
    RUNTIME_PARAMS_VAR,
    run_parameters,
)
from path_unlearning.pipeline_registry import MODULES, create_pipelines, register_pipelines
from path_unlearning.plan import ExperimentPlan

from .conftest import PROJECT_ROOT


@pytest.fixture
def project_env(monkeypatch):
    """Run from the project root with a chosen environment and runtime parameters."""
    monkeypatch.chdir(PROJECT_ROOT)
    monkeypatch.delenv(RUNTIME_PARAMS_VAR, raising=False)
    monkeypatch.delenv(CONF_SOURCE_VAR, raising=False)
    monkeypatch.delenv(PROJECT_VAR, raising=False)
    monkeypatch.delenv(PUBLISHER_VAR, raising=False)

    def use(env: str | None = None, runtime: str | None = None) -> None:
        if env:
            monkeypatch.setenv(ENV_VAR, env)
        else:
            monkeypatch.delenv(ENV_VAR, raising=False)
        if runtime:
            monkeypatch.setenv(RUNTIME_PARAMS_VAR, runtime)

    return use


def _trained_prefixes(pipelines) -> set[str]:
    return {n.name.removesuffix(".train") for n in pipelines["staged_finetune"].nodes
            if n.name.endswith(".train")}  # fmt: skip


@pytest.mark.parametrize(
    ("env", "paths", "seeds"),
    [
        (None, ("ABC", "ACB", "BAC", "BCA", "CAB", "CBA"), (0, 1, 2)),
        ("full", ("ABC", "ACB", "BAC", "BCA", "CAB", "CBA"), (0, 1, 2, 3, 4)),
        ("paper", None, (0,)),
    ],
)
def test_plan_of_each_environment(project_env, env, paths, seeds) -> None:
    project_env(env)
    plan = ExperimentPlan.from_parameters(run_parameters())
    if paths is not None:
        assert plan.paths == paths
    assert plan.seeds == seeds
    pipelines = register_pipelines()
    assert set(MODULES) | {"__default__"} == set(pipelines)
    trained = _trained_prefixes(pipelines)
    assert trained == {f"s{s}.{p}" for s in seeds for p in plan.prefixes}


def test_runtime_path_selects_exactly_its_prefixes(project_env) -> None:
    project_env(runtime='{"path": "BCA"}')
    pipelines = register_pipelines()
    replicates = ("s0", "s1", "s2")  # conf/base seeds: each replicate trains the path
    assert _trained_prefixes(pipelines) == {
        f"{s}.{p}" for s in replicates for p in ("B", "BC", "BCA", "BA")
    }
    unlearned = {n.namespace for n in pipelines["unlearn"].nodes}
    assert unlearned == {f"{s}.BCA" for s in replicates}


def test_another_projects_published_configuration_is_ignored(
    project_env, monkeypatch, tmp_path
) -> None:
    """A process started by one that ran a session of another project (a notebook,
    a test) inherits that session's variables; they are not this project's run."""
    project_env(runtime='{"path": "BCA", "seeds": [7]}')
    monkeypatch.setenv(CONF_SOURCE_VAR, str(tmp_path / "conf"))
    monkeypatch.setenv(PROJECT_VAR, str(tmp_path))
    monkeypatch.setenv(PUBLISHER_VAR, str(os.getppid()))  # published by the parent
    plan = ExperimentPlan.from_parameters(run_parameters())
    assert (plan.paths, plan.seeds) == (("ABC", "ACB", "BAC", "BCA", "CAB", "CBA"), (0, 1, 2))
    monkeypatch.delenv(CONF_SOURCE_VAR)
    monkeypatch.setenv(PROJECT_VAR, str(PROJECT_ROOT.resolve()))  # this project's: applied
    assert ExperimentPlan.from_parameters(run_parameters()).seeds == (7,)
    monkeypatch.setenv(PROJECT_VAR, str(tmp_path))  # this process's own session: applied
    monkeypatch.setenv(PUBLISHER_VAR, str(os.getpid()))
    assert ExperimentPlan.from_parameters(run_parameters()).seeds == (7,)


def test_runtime_path_outside_the_configured_paths(project_env) -> None:
    project_env(runtime='{"path": "CB", "seeds": [0]}')  # not in paths:, not a permutation
    pipelines = register_pipelines()
    assert _trained_prefixes(pipelines) == {"s0.C", "s0.CB", "s0.B"}


def test_pipelines_raise_no_dotted_name_warning(project_env) -> None:
    project_env("full")
    plan = ExperimentPlan.from_parameters(run_parameters())
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="One or more dataset names contain")
        for name in ("staged_finetune", "unlearn", "evaluate"):
            MODULES[name].create_pipeline(plan=plan)


@pytest.mark.parametrize(
    ("runtime", "fragment"),
    [
        ('{"unlearn": {"stepz": 3}}', "unlearn: unknown parameter 'stepz'"),
        ('{"finetune": {"learning_rate": 0.1}}', "finetune: unknown parameter 'learning_rate'"),
        ('{"stages": {"A": {"dataset": "facts", "epoch": 2}}}', "stages.A: unknown parameter"),
        ('{"unlearn": {"steps": -1}}', "unlearn.steps=-1 is out of range"),
        ('{"unlearn": {"lr": -1}}', "unlearn.lr=-1 is out of range"),
        ('{"pretrain": {"batch_size": 0}}', "pretrain.batch_size=0 is out of range"),
    ],
)
def test_bad_settings_fail_when_the_plan_is_built(project_env, runtime, fragment) -> None:
    project_env(runtime=runtime)
    with pytest.raises(ConfigError) as info:
        ExperimentPlan.from_parameters(run_parameters())
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)


def test_create_pipelines_takes_any_plan() -> None:
    plan = ExperimentPlan({"A": "facts", "C": "refusal"}, "C", ("AC", "CA"), ("ga",), (3,))
    pipelines = create_pipelines(plan)
    assert _trained_prefixes(pipelines) == {"s3.A", "s3.C", "s3.AC", "s3.CA"}
