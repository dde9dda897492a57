"""Run one training in ``accelerate launch`` worker processes, from a single-process caller.

The caller (a Kedro node) stays one process: it writes the job's inputs into a
temporary folder, runs ``accelerate launch --num_processes N -m <worker> JOB``
as a subprocess, reads rank 0's result back and returns it like the
in-process code path would. Nothing is written outside the temporary folder,
which is removed afterwards.

A job folder::

    job.json                 config, pad id, attention implementation, description
    base_model/              the frozen base (save_pretrained, safetensors)
    start_adapter/           the LoRA adapter training starts from (AdapterCheckpoint)
    examples.parquet         tokenized examples (input_ids, labels)
    out/                     written by rank 0 only, plus ranks.json: files per rank
    tmp/                     the workers' TMPDIR (torchrun's logs)
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from peft import PeftModel, get_peft_model
from peft.utils import set_peft_model_state_dict
from pydantic import Field
from transformers import AutoModelForCausalLM, PreTrainedModel

from path_unlearning.modeling.lora import AdapterCheckpoint
from path_unlearning.modeling.train import TrainConfig
from path_unlearning.parameters import Count, Section

SPEC_FILE = "job.json"
BASE_DIR = "base_model"
START_DIR = "start_adapter"
EXAMPLES_FILE = "examples.parquet"
OUT_DIR = "out"
SCRATCH_DIR = "tmp"
ADAPTER_DIR = "adapter"
LOG_FILE = "log.parquet"
RANKS_FILE = "ranks.json"
STAGE_WORKER = "path_unlearning.modeling.distributed"


class LaunchError(RuntimeError):
    """A worker run failed, or its output breaks the one-writer contract."""


class LaunchSettings(Section):
    """How a training runs: in this process, or data-parallel over ``num_processes``.

    ``accelerate_config`` is the path of an ``accelerate config`` file, used only
    with more than one process; without one, the workers run on every visible
    GPU, or on CPUs with gloo where there is none.
    """

    num_processes: Count = Field(1, ge=1, description="Worker processes (1: train in this one).")
    accelerate_config: str | None = Field(
        None, description="An `accelerate config` YAML file for the workers; null: none."
    )

    @property
    def data_parallel(self) -> bool:
        """Whether the training runs in worker processes."""
        return self.num_processes > 1


# --- the job folder --------------------------------------------------------------


@contextmanager
def job_folder() -> Iterator[Path]:
    """A temporary job folder with empty ``out/`` and ``tmp/``, removed on exit."""
    with tempfile.TemporaryDirectory(prefix="path_unlearning_job_") as tmp:
        job = Path(tmp)
        (job / OUT_DIR).mkdir()
        (job / SCRATCH_DIR).mkdir()
        yield job


def write_examples(examples: list[dict[str, list[int]]], path: Path) -> None:
    """Tokenized examples as a parquet table of int lists."""
    pd.DataFrame(
        {
            "input_ids": [list(e["input_ids"]) for e in examples],
            "labels": [list(e.get("labels", e["input_ids"])) for e in examples],
        }
    ).to_parquet(path, index=False)


def read_examples(path: Path) -> list[dict[str, list[int]]]:
    """Examples written by :func:`write_examples`, as plain int lists (``pad_batch`` wants lists)."""
    table = pd.read_parquet(path)
    return [
        {"input_ids": ids.tolist(), "labels": labels.tolist()}
        for ids, labels in zip(table["input_ids"], table["labels"], strict=True)
    ]


def write_job(
    job: Path,
    base_model: PreTrainedModel,
    start: AdapterCheckpoint,
    examples: list[dict[str, list[int]]],
    spec: dict[str, Any],
) -> None:
    """Write the inputs every job kind shares: base model, start adapter, examples, spec."""
    base_model.save_pretrained(job / BASE_DIR, safe_serialization=True)
    AdapterCheckpoint(start.config, start.state, {}).save_pretrained(job / START_DIR)
    write_examples(examples, job / EXAMPLES_FILE)
    attention = getattr(base_model.config, "_attn_implementation", None) or "eager"
    (job / SPEC_FILE).write_text(
        json.dumps({"attn_implementation": attention, **spec}, indent=2, sort_keys=True)
    )


def read_spec(job: Path) -> dict[str, Any]:
    """The job's ``job.json``."""
    return json.loads((job / SPEC_FILE).read_text())


def load_start_model(job: Path) -> PeftModel:
    """The base model with the start adapter attached, trainable (in a worker)."""
    spec = read_spec(job)
    base = AutoModelForCausalLM.from_pretrained(
        job / BASE_DIR,
        use_safetensors=True,
        dtype="auto",
        attn_implementation=spec["attn_implementation"],
    )
    start = AdapterCheckpoint.from_pretrained(job / START_DIR)
    # In place, unlike AdapterCheckpoint.attach: a worker needs no second copy of the base.
    model = get_peft_model(base, start.config)
    result = set_peft_model_state_dict(model, start.state)
    if result.unexpected_keys:
        raise LaunchError(
            f"start adapter does not fit the base model: {result.unexpected_keys[:3]}"
        )
    return model


def write_adapter(model: PeftModel, out: Path, name: str) -> list[str]:
    """Rank 0: save the model's adapter under ``out/name``; the files written, relative to ``out``."""
    AdapterCheckpoint.from_model(model, {}).save_pretrained(out / name)
    return sorted(str(p.relative_to(out)) for p in (out / name).rglob("*") if p.is_file())


# --- running the workers ----------------------------------------------------------


def free_port() -> int:
    """A TCP port free now on this machine, for the workers' rendezvous."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def accelerate_command(
    settings: LaunchSettings, module: str, job: Path, port: int
) -> tuple[list[str], dict[str, str]]:
    """The ``accelerate launch`` command line and environment of a job.

    Without a config file the workers are started by torchrun (``--multi_gpu``);
    on a machine without CUDA, ``ACCELERATE_USE_CPU`` makes each of them a CPU
    rank of a gloo process group (accelerate's ``--cpu`` alone starts one process).
    Their temporary files go to the job folder's ``tmp/``.
    """
    command = [sys.executable, "-m", "accelerate.commands.launch"]
    env = dict(os.environ)
    if settings.accelerate_config:
        command += ["--config_file", settings.accelerate_config]
    else:
        command += ["--multi_gpu", "--num_machines", "1", "--mixed_precision", "no"]
        command += ["--dynamo_backend", "no"]
        if not torch.cuda.is_available():
            env["ACCELERATE_USE_CPU"] = "true"
    command += ["--num_processes", str(settings.num_processes)]
    command += ["--main_process_port", str(port), "-m", module, str(job)]
    env["MASTER_PORT"] = str(port)
    # torchrun leaves its log folders in the temp dir; keep them in the job folder.
    env["TMPDIR"] = str(job / SCRATCH_DIR)
    return command, env


def check_single_writer(out: Path, num_processes: int) -> None:
    """Check that every rank reported, only rank 0 wrote, and ``out`` holds just its files.

    Raises:
        LaunchError: A missing report, a non-zero rank that wrote, or a stray file.
    """
    reports = out / RANKS_FILE
    if not reports.exists():
        raise LaunchError(f"the workers wrote no {RANKS_FILE}")
    ranks = json.loads(reports.read_text())
    if sorted(ranks, key=int) != [str(r) for r in range(num_processes)]:
        raise LaunchError(f"expected reports of ranks 0..{num_processes - 1}, got {sorted(ranks)}")
    writers = [rank for rank, files in ranks.items() if files and rank != "0"]
    if writers:
        raise LaunchError(f"ranks {', '.join(writers)} wrote files; only rank 0 may")
    present = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}
    stray = present - set(ranks["0"]) - {RANKS_FILE}
    if stray or set(ranks["0"]) - present:
        raise LaunchError(f"out/ does not hold exactly rank 0's files: {sorted(stray)[:3]}")


def run_workers(job: Path, module: str, settings: LaunchSettings) -> None:
    """Run ``accelerate launch ... -m module job`` and check its output folder.

    The workers' output goes to this process's stdout and stderr.

    Raises:
        LaunchError: The workers failed or broke the one-writer contract.
    """
    command, env = accelerate_command(settings, module, job, free_port())
    completed = subprocess.run(command, env=env, check=False)  # noqa: S603 - our own argv
    if completed.returncode != 0:
        raise LaunchError(
            f"{settings.num_processes} worker processes of {module} failed "
            f"(exit code {completed.returncode}); command: {' '.join(command)}"
        )
    check_single_writer(job / OUT_DIR, settings.num_processes)


def launch_training(
    base_model: PreTrainedModel,
    start: AdapterCheckpoint,
    examples: list[dict[str, list[int]]],
    config: TrainConfig,
    pad_id: int,
    description: str,
    settings: LaunchSettings,
) -> tuple[AdapterCheckpoint, pd.DataFrame]:
    """Train ``start`` on ``base_model`` over ``settings.num_processes`` worker processes.

    Returns:
        The trained adapter (config and weights; no metadata) and the training log.
    """
    spec = {"kind": "stage", "config": config.model_dump(), "pad_id": pad_id}
    spec |= {"description": description, "num_processes": settings.num_processes}
    with job_folder() as job:
        write_job(job, base_model, start, examples, spec)
        run_workers(job, STAGE_WORKER, settings)
        out = job / OUT_DIR
        adapter = AdapterCheckpoint.from_pretrained(out / ADAPTER_DIR)
        log = pd.read_parquet(out / LOG_FILE)
    # Copies: the job folder (and any file the tensors might map) is gone now.
    state = {k: v.clone() for k, v in adapter.state.items()}
    return AdapterCheckpoint(adapter.config, state, {}), log
