"""Data parallelism across processes started by ``accelerate launch``.

Every rank draws the same seeded global batches as a single process would and
keeps only its contiguous slice of each, so the data order never depends on the
number of processes. Gradients are combined by DDP (which averages them over
ranks); the losses below are scaled so that the average is the gradient of the
global batch's loss.

Running ``python -m path_unlearning.modeling.distributed JOB`` under
``accelerate launch`` trains one stage on the files of a job folder written by
:mod:`path_unlearning.modeling.launch`; only rank 0 writes the result.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar

import pandas as pd
import torch
import torch.nn.functional as F
from accelerate import Accelerator, PartialState
from torch.utils.data import DataLoader
from tqdm.auto import tqdm
from transformers import PreTrainedModel

from path_unlearning.data.chat import IGNORE_INDEX
from path_unlearning.modeling import launch
from path_unlearning.modeling.model import pad_batch
from path_unlearning.modeling.train import TrainConfig, make_optimization, seeded_loader

T = TypeVar("T")

# What the data-parallel loop minimises per optimizer step; recorded in the
# fingerprint of every stage trained through it (see docs/distributed.md).
LOSS_NORMALISATION = "token_sum / response_tokens of the optimizer step, over ranks and micro-steps"


def rank_slice(n: int, rank: int, world_size: int) -> slice:
    """Contiguous slice of ``n`` items owned by ``rank``; the first ``n % world_size`` get one more.

    Concatenating the slices in rank order gives back the whole batch, in order.
    """
    base, extra = divmod(n, world_size)
    start = rank * base + min(rank, extra)
    return slice(start, start + base + (1 if rank < extra else 0))


class DataParallel:
    """This process's view of a data-parallel run: its rank, its slices, and reductions.

    With one process every method is the identity (or a plain sum).
    """

    def __init__(self, accelerator: Accelerator) -> None:
        self.accelerator = accelerator
        self.rank = accelerator.process_index
        self.world_size = accelerator.num_processes

    def local(self, items: Sequence[T]) -> tuple[list[T], float]:
        """This rank's slice of a global batch and its weight.

        A rank whose slice is empty (a global batch smaller than the number of
        ranks) gets the batch's first item with weight 0: it still runs a forward
        and backward, so it joins DDP's gradient all-reduce, but adds nothing.
        """
        part = list(items[rank_slice(len(items), self.rank, self.world_size)])
        return (part, 1.0) if part else (list(items[:1]), 0.0)

    def sum(self, value: torch.Tensor) -> torch.Tensor:
        """Sum of ``value`` over ranks (a copy; identical on every rank)."""
        if self.world_size == 1:
            return value.clone()
        return self.accelerator.reduce(value.clone(), reduction="sum")

    def gather(self, local: torch.Tensor, total: int) -> torch.Tensor:
        """Every rank's slice of a batch of ``total`` rows, concatenated in batch order.

        ``local`` is this rank's rows (padding rows of a weight-0 slice are dropped).
        """
        if self.world_size == 1:
            return local
        sizes = [
            len(range(total)[rank_slice(total, r, self.world_size)]) for r in range(self.world_size)
        ]
        width = max(sizes)
        own = local[: sizes[self.rank]].detach()
        padded = torch.zeros((width, *own.shape[1:]), dtype=own.dtype, device=own.device)
        padded[: own.shape[0]] = own
        rows = self.accelerator.gather(padded)  # [world_size * width, ...]
        return torch.cat([rows[r * width : r * width + sizes[r]] for r in range(self.world_size)])

    def backward_global(
        self,
        loss_of: Callable[..., torch.Tensor],
        values: Sequence[tuple[torch.Tensor, int] | None],
    ) -> torch.Tensor:
        """Compute the global batch's loss and backpropagate this rank's share of it.

        ``loss_of`` takes the gathered per-example values (``None`` stays
        ``None``) and returns the loss one process would compute on the whole
        batch. Every rank gathers the values of all slices without gradient,
        evaluates that loss and its gradient ``g`` with respect to the values,
        and backpropagates the surrogate ``world_size * sum_i g_i * value_i``
        over its own slice: DDP's average over ranks then equals the gradient of
        the global loss, for any loss of per-example values (GA, NPO, SimNPO,
        GradDiff) and any split. Nothing is backpropagated if the loss is not
        finite (identically on every rank, so no rank waits in an all-reduce).

        Args:
            loss_of: Loss of the gathered values.
            values: Per tensor, this rank's differentiable values and the global
                batch size, or ``None``. A placeholder slice (see :meth:`local`)
                owns no rows, so it adds a zero to the surrogate.

        Returns:
            The global loss (detached), identical on every rank.
        """
        leaves = [
            None if v is None else self.gather(v[0], v[1]).clone().requires_grad_(True)
            for v in values
        ]
        loss = loss_of(*leaves)
        if not torch.isfinite(loss):
            return loss.detach()
        wanted = [leaf for leaf in leaves if leaf is not None]
        grads = iter(torch.autograd.grad(loss, wanted, allow_unused=True))
        surrogate = torch.zeros((), device=loss.device)
        for value, leaf in zip(values, leaves, strict=True):
            if value is None or leaf is None:
                continue
            grad = next(grads)
            local, total = value
            mine = grad[rank_slice(total, self.rank, self.world_size)] if grad is not None else None
            if mine is None or mine.numel() == 0:
                surrogate = surrogate + 0.0 * local.sum()  # keeps the rank in the all-reduce
            else:
                surrogate = surrogate + (mine.detach() * local).sum()
        self.accelerator.backward(surrogate * self.world_size)
        return loss.detach()


def token_loss_sum(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Summed next-token cross-entropy over the labelled positions (HF's causal-LM shift)."""
    shift_logits = logits[:, :-1].float()
    shift_labels = labels[:, 1:]
    return F.cross_entropy(
        shift_logits.reshape(-1, shift_logits.shape[-1]),
        shift_labels.reshape(-1),
        ignore_index=IGNORE_INDEX,
        reduction="sum",
    )


def _global_batches(loader: DataLoader) -> Iterator[list[dict[str, list[int]]]]:
    """The loader's batches, epoch after epoch, like the single-process loop draws them."""
    while True:
        yield from loader


def train_data_parallel(
    model: PreTrainedModel,
    examples: list[dict[str, list[int]]],
    config: TrainConfig,
    pad_id: int,
    description: str = "train",
) -> pd.DataFrame:
    """Train like :func:`~path_unlearning.modeling.train.train`, data-parallel over ranks.

    The loss of an optimizer step is the sum of the token losses of its
    ``grad_accum`` global micro-batches over all ranks, divided by their total
    number of response tokens, counted (one all-reduce) before the micro-steps.
    Each micro-batch's token sum is scaled by ``world_size * grad_accum /
    step_tokens``: accelerate divides by ``grad_accum`` and DDP averages over
    ``world_size``, leaving exactly that loss's gradient. With ``grad_accum == 1``
    this is the single-process loss (the token mean of the batch); with more
    micro-steps the single-process loop instead averages the micro-batch means.

    Returns:
        One row per optimizer step: step, loss, lr, tokens (response tokens seen, all ranks).
    """
    if not examples:
        raise ValueError(f"{description}: no training examples")
    accelerator = Accelerator(
        mixed_precision=config.precision, gradient_accumulation_steps=config.grad_accum
    )
    parallel = DataParallel(accelerator)
    # Same seeds, sampler and loader as the single-process loop: every rank draws
    # the same global batches, whatever the number of ranks.
    loader = seeded_loader(examples, config, list)
    total_steps, trainable, optimizer, scheduler = make_optimization(model, len(examples), config)
    model, optimizer = accelerator.prepare(model, optimizer)
    model.train()
    device = accelerator.device

    batches = _global_batches(loader)
    rows, tokens = [], 0
    progress = tqdm(
        total=total_steps, desc=description, leave=False, disable=not accelerator.is_main_process
    )
    for step in range(1, total_steps + 1):
        micro = [parallel.local(next(batches)) for _ in range(config.grad_accum)]
        padded = [(pad_batch(part, pad_id), weight) for part, weight in micro]
        # Response tokens the loss averages over (shifted labels), and the count
        # the single-process log reports (unshifted labels), on this rank.
        counts = torch.tensor(
            [
                [weight * int((b["labels"][:, 1:] != IGNORE_INDEX).sum()) for b, weight in padded],
                [weight * int((b["labels"] != IGNORE_INDEX).sum()) for b, weight in padded],
            ],
            dtype=torch.float64,
            device=device,
        ).sum(dim=1)
        step_tokens, seen = parallel.sum(counts).tolist()
        scale = parallel.world_size * config.grad_accum / max(step_tokens, 1.0)
        loss_sum = torch.zeros((), dtype=torch.float64, device=device)
        for cpu_batch, weight in padded:
            batch = {k: v.to(device) for k, v in cpu_batch.items()}
            with accelerator.accumulate(model):
                logits = model(
                    input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
                ).logits
                token_sum = token_loss_sum(logits, batch["labels"]) * weight
                accelerator.backward(token_sum * scale)
                if accelerator.sync_gradients:
                    if config.max_grad_norm is not None:
                        accelerator.clip_grad_norm_(trainable, config.max_grad_norm)
                optimizer.step()
                optimizer.zero_grad()
            loss_sum += token_sum.detach().double()
        tokens += int(seen)
        lr = scheduler.get_last_lr()[0]
        scheduler.step()
        loss = (parallel.sum(loss_sum) / max(step_tokens, 1.0)).item()
        rows.append({"step": step, "loss": loss, "lr": lr, "tokens": tokens})
        progress.update(1)
    progress.close()
    model.eval()
    return pd.DataFrame(rows)


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
    log = train_data_parallel(model, examples, config, spec["pad_id"], spec["description"])
    state = PartialState()  # the process group the training loop's Accelerator set up
    out = job / launch.OUT_DIR
    written: list[str] = []
    if state.is_main_process:
        # train_data_parallel trained ``model`` in place (DDP wraps it, never copies it).
        written += launch.write_adapter(model, out, launch.ADAPTER_DIR)
        log.to_parquet(out / launch.LOG_FILE, index=False)
        written.append(launch.LOG_FILE)
    record_writes(state, out, written)
    finish(state)


if __name__ == "__main__":
    run_stage_job(Path(sys.argv[1]))
