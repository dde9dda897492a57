"""A Kedro run with stage training and unlearning over 2 gloo ranks (``accelerate launch``).

The run stays one session: one version per dataset, nothing written outside
``data/`` (the job folders of the launches are gone, ranks other than 0 write
nothing: ``modeling.launch`` checks each rank's list of written files), and its
adapters and trajectories match a one-process run of the same parameters up to
float32 rounding (``tests/modeling/test_distributed.py`` explains the tolerance).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import torch
from safetensors.torch import load_file

from tests.saved_state import run_session, version_folders

LOSS_RTOL = 1e-5
WEIGHT_ATOL = 1e-5
MICRO = {
    "paths": ["BC"],  # one stage training on top of another, one unlearning run
    "method": "ga",
    "finetune": {"cache_dir": None},
    "unlearn": {"steps": 3, "batch_size": 8, "checkpoint_every": 3, "eval_subset": 4,
                "eval_batch_size": 8, "lora": {"r": 4, "lora_alpha": 8}},
}  # fmt: skip
PIPELINES = ["data_prep", "staged_finetune", "unlearn"]


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def _only_version(data: Path, dataset: str) -> Path:
    [version] = version_folders(data)[dataset]
    return data / dataset / version


def _weights(folder: Path) -> dict[str, torch.Tensor]:
    """All safetensors tensors under ``folder``, keyed by file (relative) and tensor name."""
    tensors = {}
    for file in sorted(folder.rglob("*.safetensors")):
        for name, tensor in load_file(file).items():
            tensors[f"{file.relative_to(folder)}:{name}"] = tensor
    return tensors


def _max_diff(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    assert a and a.keys() == b.keys()
    return max((a[k] - b[k]).abs().max().item() for k in a)


@pytest.mark.slow
def test_two_process_run_is_one_version_and_matches_one_process(micro_project, tmp_path):
    root = micro_project(MICRO)
    run_session(root, PIPELINES)
    one = tmp_path / "one_process_data"
    (root / "data").rename(one)
    for layer in one.iterdir():
        (root / "data" / layer.name).mkdir(parents=True)
    outside = {f for f in _files(root) if not f.startswith("data/")}

    run_session(root, PIPELINES, finetune={"num_processes": 2}, unlearn={"num_processes": 2})
    two = root / "data"
    [adapter] = (_only_version(two, "06_models/adapters/s0/BC")).rglob("training_metadata.json")
    assert json.loads(adapter.read_text())["num_processes"] == 2  # it went through the launch

    # one session: every dataset got exactly one version, the same one
    versions = version_folders(two)
    assert versions.keys() == version_folders(one).keys()
    assert all(len(v) == 1 for v in versions.values())
    assert len({v[0] for v in versions.values()}) == 1
    # the workers wrote nothing beside the session's saves
    assert {f for f in _files(root) if not f.startswith("data/")} == outside

    for dataset in ("06_models/adapters/s0/B", "06_models/adapters/s0/BC",
                    "06_models/unlearned/s0/BC.ga"):  # fmt: skip
        assert _max_diff(
            _weights(_only_version(one, dataset)), _weights(_only_version(two, dataset))
        ) < (WEIGHT_ATOL), dataset
    for table in ("07_model_output/train_logs/s0/BC.parquet",
                  "07_model_output/trajectories/s0/BC.ga.parquet"):  # fmt: skip
        name = Path(table).name
        a = pd.read_parquet(_only_version(one, table) / name)
        b = pd.read_parquet(_only_version(two, table) / name)
        pd.testing.assert_frame_equal(a, b, rtol=LOSS_RTOL)
