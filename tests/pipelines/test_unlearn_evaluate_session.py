"""End to end: data_prep + staged_finetune, then unlearn + evaluate through a KedroSession."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from path_unlearning.errors import ConfigError

UNLEARN = {
    "unlearn": {
        "methods": ["ga", "npo"],
        "steps": 3,
        "batch_size": 8,
        "checkpoint_every": 2,
        "eval_subset": 4,
        "eval_batch_size": 8,
        "lora": {"r": 4, "lora_alpha": 8},
    },
    "evaluate": {"batch_size": 16, "math_max_new_tokens": 6},
}


def _run(root: Path, pipeline: str, **params) -> None:
    bootstrap_project(root)
    with KedroSession.create(project_path=root, runtime_params=params or None) as session:
        session.run(pipeline_names=[pipeline])


def _versions(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.mark.slow
def test_unlearn_and_evaluate_one_path(micro_project):
    root = micro_project(UNLEARN)
    _run(root, "data_prep")
    _run(root, "staged_finetune", path="BCA")
    _run(root, "unlearn", path="BCA")

    trajectories = root / "data/07_model_output/trajectories/s0"
    assert sorted(p.name for p in trajectories.iterdir()) == ["BCA.ga.parquet", "BCA.npo.parquet"]
    [version] = _versions(trajectories / "BCA.npo.parquet")
    traj = pd.read_parquet(trajectories / "BCA.npo.parquet" / version / "BCA.npo.parquet")
    assert traj["step"].tolist() == [0, 1, 2, 3]
    assert set(traj["path"]) == {"BCA"} and set(traj["position"]) == {2}
    assert (traj["forget_label_ll_start"] == traj["forget_label_ll"].iloc[0]).all()
    series = root / "data/06_models/unlearned/s0/BCA.npo"
    [sv] = _versions(series)
    assert sorted(p.name for p in (series / sv / "BCA.npo" / "seed0").iterdir()) == [
        "step00000",
        "step00002",
        "step00003",
    ]

    # One method only; the older npo version stays untouched.
    _run(root, "unlearn", path="BCA", method="npo")
    assert len(_versions(trajectories / "BCA.npo.parquet")) == 2
    assert len(_versions(trajectories / "BCA.ga.parquet")) == 1
    assert (series / sv / "BCA.npo" / "series_index.json").exists()

    _run(root, "evaluate", path="BCA")
    [ev] = _versions(root / "data/07_model_output/evaluation_scores.parquet")
    scores = pd.read_parquet(
        root / "data/07_model_output/evaluation_scores.parquet" / ev / "evaluation_scores.parquet"
    )
    assert set(scores["method"]) == {"ga", "npo"}
    metrics = set(scores["metric"])
    assert {
        "forget_score_label",
        "forget_score_paraphrase",
        "forget_score_both",
        "facts_utility",
        "math_utility",
        "re_distance_before",
        "re_distance_after",
        "kl_after",
    } <= metrics
    value = scores.set_index(["method", "metric"])["value"]
    # GA lowers the forget label's log-likelihood: a positive forget score.
    assert value[("ga", "forget_score_label")] > 0
    assert value[("ga", "re_distance_after")] >= 0


@pytest.mark.slow
def test_missing_checkpoint_names_the_command(micro_project):
    root = micro_project(UNLEARN)
    _run(root, "data_prep")
    with pytest.raises(
        ConfigError, match="kedro run --pipelines=staged_finetune --params=path:CAB"
    ):
        _run(root, "unlearn", path="CAB")


def test_unknown_method_fails_in_one_line(micro_project):
    root = micro_project(UNLEARN)
    with pytest.raises(ConfigError, match="unknown unlearning method 'nope'"):
        _run(root, "unlearn", path="BCA", method="nope")


def test_bad_seed_list_fails_in_one_line(micro_project):
    root = micro_project({**UNLEARN, "seeds": [1, 1]})
    with pytest.raises(ConfigError, match="invalid seeds"):
        _run(root, "unlearn", path="BCA")
