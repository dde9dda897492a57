"""The worker of a data-parallel stage training, started by ``accelerate launch``.

The training loop is :func:`~path_unlearning.modeling.train.train`, the same for
one process and for N (``modeling/data_parallel.py`` slices the batches and
reduces over ranks). Running ``python -m path_unlearning.modeling.distributed JOB`` under
``accelerate launch`` trains one stage on the files of a job folder written by
:mod:`path_unlearning.modeling.launch`; only rank 0 writes the result.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
from accelerate import PartialState

from path_unlearning.modeling import launch
from path_unlearning.modeling.data_parallel import DataParallel, rank_slice
from path_unlearning.modeling.train import TrainConfig, train

__all__ = ["DataParallel", "finish", "rank_slice", "record_writes", "run_stage_job"]


def record_writes(state: PartialState, out: Path, written: list[str]) -> None:
    """Gather every rank's list of written files; rank 0 writes them to ``ranks.json``.

    The parent checks that the folder holds exactly rank 0's files, and that
    every other rank reports none.
    """
    from accelerate.utils import gather_object  # noqa: PLC0415 - needs the process group

    everyone = gather_object([(state.process_index, sorted(written))])
    if state.is_main_process:
        ranks = {str(rank): files for rank, files in everyone}
        (out / launch.RANKS_FILE).write_text(json.dumps(ranks, indent=2, sort_keys=True))


def finish(state: PartialState) -> None:
    """Wait for every rank, then tear the process group down cleanly."""
    state.wait_for_everyone()
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


def run_stage_job(job: Path) -> None:
    """Train the job's stage data-parallel; rank 0 writes ``out/adapter`` and ``out/log.parquet``."""
    spec = launch.read_spec(job)
    config = TrainConfig(**spec["config"])
    model = launch.load_start_model(job)
    examples = launch.read_examples(job / launch.EXAMPLES_FILE)
    log = train(model, examples, config, spec["pad_id"], spec["description"])
    state = PartialState()  # the process group the training loop's Accelerator set up
    out = job / launch.OUT_DIR
    written: list[str] = []
    if state.is_main_process:
        # train trained ``model`` in place (DDP wraps it, never copies it).
        written += launch.write_adapter(model, out, launch.ADAPTER_DIR)
        log.to_parquet(out / launch.LOG_FILE, index=False)
        written.append(launch.LOG_FILE)
    record_writes(state, out, written)
    finish(state)


if __name__ == "__main__":
    run_stage_job(Path(sys.argv[1]))
