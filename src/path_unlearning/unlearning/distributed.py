"""An unlearning run in ``accelerate launch`` workers, from a single-process caller.

The parent writes a job folder (see :mod:`path_unlearning.modeling.launch`) plus
the pre-encoded probes and retain set, and runs
``accelerate launch -m path_unlearning.unlearning.distributed JOB``; every rank
runs :func:`~path_unlearning.unlearning.loop.unlearn` on its slices of the
same forget batches, and rank 0 writes the trajectory and the checkpoints.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from accelerate import PartialState
from peft import PeftModel
from safetensors.torch import load_file, save_file
from transformers import PreTrainedModel

from path_unlearning.modeling import launch
from path_unlearning.modeling.distributed import finish, record_writes
from path_unlearning.modeling.lora import AdapterCheckpoint
from path_unlearning.unlearning.loop import UnlearnConfig, UnlearnResult, start_model, unlearn

WORKER = "path_unlearning.unlearning.distributed"
PROBES_FILE = "probes.safetensors"
RETAIN_FILE = "retain.parquet"
TRAJECTORY_FILE = "trajectory.parquet"
RESULT_FILE = "result.json"
CHECKPOINTS_DIR = "checkpoints"

Probes = dict[str, list[dict[str, torch.Tensor]]]


def write_probes(probes: Probes, path: Path) -> list[str]:
    """Probe batches as one safetensors file (``name/index/field``); the names, in order."""
    tensors = {
        f"{name}/{i:05d}/{field}": value.contiguous()
        for name, batches in probes.items()
        for i, batch in enumerate(batches)
        for field, value in batch.items()
    }
    save_file(tensors, str(path), metadata={"format": "pt"})
    return list(probes)


def read_probes(path: Path, names: list[str]) -> Probes:
    """Probes written by :func:`write_probes`, batches in their original order."""
    tensors = load_file(str(path))
    probes: Probes = {name: [] for name in names}
    for key in sorted(tensors):
        name, index, field = key.rsplit("/", 2)
        batches = probes[name]
        if int(index) == len(batches):
            batches.append({})
        batches[int(index)][field] = tensors[key]
    return probes


def split_start(model: PeftModel) -> tuple[PreTrainedModel, AdapterCheckpoint]:
    """A start model (from :func:`~path_unlearning.unlearning.loop.start_model`) as job parts.

    The frozen base without the adapter's layers and the trainable adapter:
    ``launch.load_start_model`` puts them back together in every worker, so the
    workers unlearn the very model a single process would. ``model`` is consumed.
    """
    adapter = AdapterCheckpoint.from_model(model, {})
    return model.unload(), adapter


def start_parts(
    base_model: PreTrainedModel,
    path_adapter: AdapterCheckpoint,
    lora_params: dict[str, Any],
    seed: int,
    continue_adapter: bool,
) -> tuple[PreTrainedModel, AdapterCheckpoint]:
    """:func:`~path_unlearning.unlearning.loop.start_model`'s model, as job parts (:func:`split_start`)."""
    return split_start(start_model(base_model, path_adapter, lora_params, seed, continue_adapter))


def launch_unlearn(
    base_model: PreTrainedModel,
    start: AdapterCheckpoint,
    forget_examples: list[dict[str, list[int]]],
    probes: Probes,
    config: UnlearnConfig,
    pad_id: int,
    retain_examples: list[dict[str, list[int]]] | None,
    settings: launch.LaunchSettings,
) -> UnlearnResult:
    """Unlearn over ``settings.num_processes`` workers; the result ``unlearn`` would return."""
    spec = {"kind": "unlearn", "config": config.model_dump(), "pad_id": pad_id}
    spec |= {"description": f"unlearn {config.method}", "num_processes": settings.num_processes}
    with launch.job_folder() as job:
        spec["probes"] = write_probes(probes, job / PROBES_FILE)
        spec["retain"] = retain_examples is not None
        if retain_examples is not None:
            launch.write_examples(retain_examples, job / RETAIN_FILE)
        launch.write_job(job, base_model, start, forget_examples, spec)
        launch.run_workers(job, WORKER, settings)
        out = job / launch.OUT_DIR
        trajectory = pd.read_parquet(out / TRAJECTORY_FILE)
        result = json.loads((out / RESULT_FILE).read_text())
        checkpoints = {}
        for step in result["checkpoints"]:
            adapter = AdapterCheckpoint.from_pretrained(out / CHECKPOINTS_DIR / f"step{step:05d}")
            state = {k: v.clone() for k, v in adapter.state.items()}  # the folder goes away
            checkpoints[step] = AdapterCheckpoint(adapter.config, state, {"step": step})
    return UnlearnResult(trajectory, checkpoints, bool(result["diverged"]))


def run_unlearn_job(job: Path) -> None:
    """Unlearn data-parallel; rank 0 writes the trajectory, the checkpoints and ``result.json``."""
    spec = launch.read_spec(job)
    config = UnlearnConfig(**spec["config"])
    model = launch.load_start_model(job)
    forget = launch.read_examples(job / launch.EXAMPLES_FILE)
    retain = launch.read_examples(job / RETAIN_FILE) if spec["retain"] else None
    probes = read_probes(job / PROBES_FILE, spec["probes"])
    result = unlearn(model, forget, probes, config, spec["pad_id"], retain)
    state = PartialState()
    out = job / launch.OUT_DIR
    written: list[str] = []
    if state.is_main_process:
        result.trajectory.to_parquet(out / TRAJECTORY_FILE, index=False)
        for step, adapter in result.checkpoints.items():
            folder = out / CHECKPOINTS_DIR / f"step{step:05d}"
            adapter.save_pretrained(folder)
            written += [str(p.relative_to(out)) for p in folder.iterdir()]
        summary = {"checkpoints": sorted(result.checkpoints), "diverged": result.diverged}
        (out / RESULT_FILE).write_text(json.dumps(summary))
        written += [TRAJECTORY_FILE, RESULT_FILE]
    record_writes(state, out, written)
    finish(state)


if __name__ == "__main__":
    run_unlearn_job(Path(sys.argv[1]))
