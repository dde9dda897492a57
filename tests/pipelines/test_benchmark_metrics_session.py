"""End to end on the micro project: the benchmark metrics and relearning of one path."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from path_unlearning.metrics import registry

PARAMS = {
    "unlearn": {
        "methods": ["ga", "npo"],
        "steps": 3,
        "batch_size": 8,
        "checkpoint_every": 3,
        "eval_subset": 4,
        "eval_batch_size": 8,
        "lora": {"r": 4, "lora_alpha": 8},
    },
}


def _run(root: Path, pipeline: str, **params) -> None:
    bootstrap_project(root)
    with KedroSession.create(project_path=root, runtime_params=params or None) as session:
        session.run(pipeline_names=[pipeline])


def _latest(root: Path, name: str) -> pd.DataFrame:
    folder = root / "data/07_model_output" / f"{name}.parquet"
    [version] = sorted(p.name for p in folder.iterdir())
    return pd.read_parquet(folder / version / f"{name}.parquet")


@pytest.mark.slow
def test_benchmark_metrics_of_one_path(micro_project):
    root = micro_project(PARAMS)
    for pipeline in ("data_prep", "staged_finetune", "unlearn", "benchmark_metrics"):
        _run(root, pipeline, path="BCA")

    scores = _latest(root, "benchmark_scores")
    assert set(scores["path"]) == {"BCA"} and set(scores["position"]) == {2}
    assert set(scores["method"]) == {"ga", "npo"}
    for method, part in scores.groupby("method"):
        assert list(part["metric"]) == list(registry.benchmark_metric_names()), method
    value = scores.set_index(["method", "metric"])["value"]
    # The path model and the retrain reference are the same for every method.
    for name in ("model_utility_before", "model_utility_retrain", "mia_min_k_auc_retrain"):
        assert value[("ga", name)] == value[("npo", name)]
    for method in ("ga", "npo"):
        assert 0 <= value[(method, "forget_quality_after")] <= 1
        assert 0 <= value[(method, "mia_loss_auc_after")] <= 1
        assert 0 <= value[(method, "extraction_strength_after")] <= 1
        assert 0 <= value[(method, "model_utility_after")] <= 1
        assert math.isfinite(value[(method, "privleak_after")])
    # GA raises the forget answers' loss: fewer of their tokens are still argmax.
    assert value[("ga", "exact_memorization_after")] <= value[("ga", "exact_memorization_before")]

    curves = _latest(root, "relearning_curves")
    assert set(curves["method"]) == {"ga", "npo"}
    assert sorted(curves["step"].unique()) == [0, 1, 2, 3]
    ga = curves[curves["method"] == "ga"].sort_values("step")
    # Relearning on the forget set raises the label it had unlearned.
    assert ga["forget_label_ll_tok"].iloc[-1] > ga["forget_label_ll_tok"].iloc[0]
    assert ga["before"].nunique() == 1
    steps = value[("ga", "relearn_half_steps")]
    assert np.isnan(steps) or steps > 0
