"""The depth pipeline: registered outside __default__, its trie, and a micro session run."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from path_unlearning.errors import ConfigError
from path_unlearning.pipeline_registry import create_pipelines
from path_unlearning.pipelines.depth import analysis
from path_unlearning.plan import ExperimentPlan

DEPTH = {
    "stages": {"R": {"dataset": "refusal"}, "C": {"dataset": "compliance"},
               "U": {"dataset": "compliance_alt"}},
    "forget_stage": "U",
    "paths": ["RCU", "CRU", "UCR", "URC", "RUC", "CUR"],
}  # fmt: skip


def _plan(depth_seeds: list[int] | None = None) -> ExperimentPlan:
    depth = {**DEPTH, "stages": {k: v["dataset"] for k, v in DEPTH["stages"].items()}}
    if depth_seeds is not None:
        depth["seeds"] = depth_seeds
    return ExperimentPlan.from_parameters(
        {
            "stages": {"A": {"dataset": "facts"}, "C": {"dataset": "refusal"}},
            "forget_stage": "C",
            "paths": ["AC", "CA"],
            "seeds": [0, 1, 2],
            "depth": depth,
        }
    )


def test_depth_is_registered_but_not_default():
    pipelines = create_pipelines(_plan())
    depth = {n.name for n in pipelines["depth"].nodes}
    assert depth and not depth & {n.name for n in pipelines["__default__"].nodes}


def test_each_replicate_trains_the_trie_once_from_its_base_model():
    depth = create_pipelines(_plan([0, 2]))["depth"]
    names = [n.name for n in depth.nodes]
    for seed in (0, 2):
        trained = [n for n in names if n.startswith(f"depth.s{seed}.") and n.endswith(".train")]
        assert len(trained) == 15  # R, C, U, 6 two-stage and 6 three-stage prefixes
        assert sorted(n for n in names if n.startswith(f"depth.s{seed}.") and
                      n.endswith(".unlearn")) == sorted(
            f"depth.s{seed}.{p}.unlearn" for p in DEPTH["paths"]
        )  # fmt: skip
    assert not any(n.startswith("depth.s1.") for n in names)
    assert {"make_depth_records", "summarise_depth"} <= set(names)
    inputs = {n.name: set(n.inputs) for n in depth.nodes}
    assert "s2.base_model" in inputs["depth.s2.RCU.unlearn"]
    assert "depth.s2.RC.adapter" in inputs["depth.s2.RCU.train"]
    assert {f"depth.s{s}.{p}.trajectory" for s in (0, 2) for p in DEPTH["paths"]} == {
        i for i in inputs["summarise_depth"] if i.endswith(".trajectory")
    }


def test_depth_seeds_default_to_every_replicate_and_need_a_base_model():
    assert _plan().depth_seeds == (0, 1, 2)
    assert _plan([2]).depth_seeds == (2,)
    with pytest.raises(ConfigError, match="without a base model"):
        _plan([0, 5])


MICRO_DEPTH = {
    "seeds": [0, 1],
    "depth": {
        "seeds": [0, 1],
        "n_prompts": 8,
        "finetune": {"epochs": 1, "batch_size": 4},
        "unlearn": {"epochs": 2, "batch_size": 4},
        "lora": {"r": 4, "lora_alpha": 8},
        "classification": {"read_epoch": 2},
    },
}


@pytest.mark.slow
def test_depth_runs_on_the_micro_project(micro_project):
    root: Path = micro_project(MICRO_DEPTH)
    bootstrap_project(root)
    with KedroSession.create(project_path=root) as session:
        session.run(pipeline_names=["data_prep"])
    with KedroSession.create(project_path=root) as session:
        session.run(node_names=["s0.prepare_base_model", "s1.prepare_base_model"])
    with KedroSession.create(project_path=root) as session:
        session.run(pipeline_names=["depth"])
    out = root / "data/08_reporting/depth"
    [version] = list((out / "logprobs.csv").iterdir())
    logprobs = pd.read_csv(version / "logprobs.csv")
    assert len(logprobs) == 2 * 6 * 3 * 3  # replicates x orders x epochs (0, 1, 2) x responses
    [version] = list((out / "classification.csv").iterdir())
    classes = pd.read_csv(version / "classification.csv")
    assert set(classes["depth_class"]) <= set(analysis.CLASSES)
    assert classes["theta"].tolist() == [f"θ{i}" for i in range(1, 7) for _ in range(2)]
    assert classes["seed"].tolist() == [0, 1] * 6
    # the two replicates start from different base models: different scores
    start = classes.pivot(index="order", columns="seed", values="R_start")
    assert (start[0] != start[1]).all()
    [version] = list((out / "verdict.csv").iterdir())
    per_order = pd.read_csv(version / "verdict.csv")
    assert (per_order[[f"n_{k}" for k in analysis.CLASSES]].sum(axis=1) == 2).all()
    [version] = list((out / "summary.csv").iterdir())
    assert (
        "of 6 orders deep in most of 2 replicates"
        in pd.read_csv(version / "summary.csv")["verdict"].item()
    )
    [version] = list((out / "figure4_depth.png").iterdir())
    assert (version / "figure4_depth.png").stat().st_size > 0
