"""The depth pipeline: registered outside __default__, its trie, and a micro session run."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from path_unlearning.pipeline_registry import create_pipelines
from path_unlearning.plan import ExperimentPlan

DEPTH = {
    "stages": {"R": {"dataset": "refusal"}, "C": {"dataset": "compliance"},
               "U": {"dataset": "compliance_alt"}},
    "forget_stage": "U",
    "paths": ["RCU", "CRU", "UCR", "URC", "RUC", "CUR"],
}  # fmt: skip


def _plan() -> ExperimentPlan:
    return ExperimentPlan.from_parameters(
        {
            "stages": {"A": {"dataset": "facts"}, "C": {"dataset": "refusal"}},
            "forget_stage": "C",
            "paths": ["AC", "CA"],
            "depth": {**DEPTH, "stages": {k: v["dataset"] for k, v in DEPTH["stages"].items()}},
        }
    )


def test_depth_is_registered_but_not_default():
    pipelines = create_pipelines(_plan())
    depth = {n.name for n in pipelines["depth"].nodes}
    assert depth and not depth & {n.name for n in pipelines["__default__"].nodes}


def test_depth_trains_the_trie_once_and_unlearns_every_order():
    names = [n.name for n in create_pipelines(_plan())["depth"].nodes]
    trained = sorted(n.split(".")[1] for n in names if n.endswith(".train"))
    assert len(trained) == 15  # R, C, U, 6 two-stage and 6 three-stage prefixes
    assert sorted(n for n in names if n.endswith(".unlearn")) == sorted(
        f"depth.{p}.unlearn" for p in DEPTH["paths"]
    )
    assert {"make_depth_records", "summarise_depth"} <= set(names)


MICRO_DEPTH = {
    "depth": {
        "n_prompts": 8,
        "finetune": {"epochs": 1, "batch_size": 4},
        "unlearn": {"epochs": 2, "batch_size": 4},
        "lora": {"r": 4, "lora_alpha": 8},
    }
}


@pytest.mark.slow
def test_depth_runs_on_the_micro_project(micro_project):
    root: Path = micro_project(MICRO_DEPTH)
    bootstrap_project(root)
    with KedroSession.create(project_path=root) as session:
        session.run(pipeline_names=["data_prep"])
    with KedroSession.create(project_path=root) as session:
        session.run(node_names=["prepare_base_model"])
    with KedroSession.create(project_path=root) as session:
        session.run(pipeline_names=["depth"])
    out = root / "data/08_reporting/depth"
    [version] = list((out / "logprobs.csv").iterdir())
    logprobs = pd.read_csv(version / "logprobs.csv")
    assert len(logprobs) == 6 * 3 * 3  # orders x epochs (0, 1, 2) x responses
    [version] = list((out / "classification.csv").iterdir())
    classes = pd.read_csv(version / "classification.csv")
    assert set(classes["depth_class"]) <= {"deep", "superficial", "neither"}
    assert classes["theta"].tolist() == [f"θ{i}" for i in range(1, 7)]
    [version] = list((out / "figure4_depth.png").iterdir())
    assert (version / "figure4_depth.png").stat().st_size > 0
