"""The training loop shared by pretraining and every fine-tuning stage.

Reads top to bottom: seeded data order, a fresh AdamW and LR schedule (the paper
rebuilds both at every stage), gradient accumulation and device placement via
accelerate, one log row per optimizer step.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any, Literal

import pandas as pd
import torch
from accelerate import Accelerator
from pydantic import Field
from torch.utils.data import DataLoader, RandomSampler
from tqdm.auto import tqdm
from transformers import PreTrainedModel, SchedulerType, get_scheduler

from path_unlearning.data.chat import IGNORE_INDEX
from path_unlearning.errors import ConfigError, quoted
from path_unlearning.modeling.data_parallel import DataParallel
from path_unlearning.modeling.model import pad_batch
from path_unlearning.parameters import Count, Precision, Real, Section

OPTIMIZERS = ("adamw", "sgd")
#: transformers' schedule names (``SchedulerType``), the values ``scheduler`` may take.
SCHEDULERS = tuple(kind.value for kind in SchedulerType)


class OptimConfig(Section):
    """Optimiser and LR-schedule settings shared by training and unlearning runs."""

    optimizer: Literal[OPTIMIZERS] = Field(
        "adamw", description="adamw, or sgd (plain, no momentum: the paper's Appendix G)"
    )
    lr: Real = Field(1e-3, gt=0, description="Peak learning rate.")
    batch_size: Count = Field(16, ge=1, description="Examples per micro-batch.")
    weight_decay: Real = Field(0.0, ge=0, description="Decoupled weight decay.")
    scheduler: Literal[SCHEDULERS] = Field(
        "warmup_stable_decay", description="A transformers SchedulerType name."
    )
    warmup_frac: Real = Field(0.1, ge=0, le=1, description="Warm-up, a fraction of the steps.")
    decay_frac: Real = Field(
        0.2, ge=0, le=1, description="warmup_stable_decay's decay, a fraction of the steps."
    )
    max_grad_norm: Real | None = Field(
        1.0, gt=0, description="Gradient clipping norm; null: no clipping (the paper's unlearning)."
    )
    precision: Precision = Field("no", description="accelerate mixed precision: no, fp16, bf16.")
    seed: Count = Field(0, ge=0, description="Seed of the data order, init and dropout.")


class TrainConfig(OptimConfig):
    """Optimisation settings of one training run (a stage or the pretraining)."""

    epochs: Real = Field(1.0, gt=0, description="Passes over the data.")
    max_steps: Count | None = Field(
        None, ge=0, description="Optimizer steps; overrides epochs when set."
    )
    grad_accum: Count = Field(1, ge=1, description="Micro-batches per optimizer step.")


# What the training loop minimises per optimizer step. With ``grad_accum > 1`` it
# differs from what this project's loop minimised before 2026-12 (a mean of
# micro-batch means), so it joins the fingerprint of those stages only.
LOSS_NORMALISATION = "token_sum / response_tokens of the optimizer step, over ranks and micro-steps"


def make_optimizer(
    parameters: list[torch.nn.Parameter], config: OptimConfig
) -> torch.optim.Optimizer:
    """A fresh optimiser over ``parameters``: AdamW (default) or plain SGD."""
    if config.optimizer == "adamw":
        return torch.optim.AdamW(parameters, lr=config.lr, weight_decay=config.weight_decay)
    if config.optimizer == "sgd":
        return torch.optim.SGD(parameters, lr=config.lr, weight_decay=config.weight_decay)
    raise ConfigError(f"optimizer={quoted(config.optimizer)}: use one of {', '.join(OPTIMIZERS)}")


def make_scheduler(optimizer: torch.optim.Optimizer, config: OptimConfig, total_steps: int):
    """A transformers LR schedule; WSD takes warmup and decay as fractions of the run."""
    warmup = int(round(config.warmup_frac * total_steps))
    extra = {}
    if config.scheduler == "warmup_stable_decay":
        decay = int(round(config.decay_frac * total_steps))
        extra = {"num_decay_steps": decay}  # the stable phase fills the rest
    return get_scheduler(
        config.scheduler,
        optimizer,
        num_warmup_steps=warmup,
        num_training_steps=total_steps,
        scheduler_specific_kwargs=extra,
    )


def optimizer_steps(n_examples: int, config: TrainConfig) -> int:
    """Number of optimizer steps a run takes."""
    if config.max_steps is not None:
        return config.max_steps
    per_epoch = math.ceil(n_examples / config.batch_size) / config.grad_accum
    return max(1, math.ceil(per_epoch * config.epochs))


def seeded_loader(
    examples: list[dict[str, list[int]]], config: TrainConfig, collate_fn: Callable[[list], Any]
) -> DataLoader:
    """Seed torch and return the shuffled loader of a training run.

    The data order and dropout masks depend only on the seed, which callers derive
    from the prefix, so a prefix trains identically whichever path asked for it.
    """
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    return DataLoader(
        examples,
        batch_size=config.batch_size,
        sampler=RandomSampler(examples, generator=generator),
        collate_fn=collate_fn,
    )


def make_optimization(
    model: PreTrainedModel, n_examples: int, config: TrainConfig
) -> tuple[int, list[torch.nn.Parameter], torch.optim.Optimizer, Any]:
    """The run's step count, trainable parameters, fresh optimiser and LR schedule."""
    total_steps = optimizer_steps(n_examples, config)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = make_optimizer(trainable, config)
    return total_steps, trainable, optimizer, make_scheduler(optimizer, config, total_steps)


def train(
    model: PreTrainedModel,
    examples: list[dict[str, list[int]]],
    config: TrainConfig,
    pad_id: int,
    description: str = "train",
) -> pd.DataFrame:
    """Train the parameters of ``model`` that require grad, in place, on 1..N processes.

    The loss of an optimizer step is the token mean over all its response tokens:
    the summed token cross-entropy of its ``grad_accum`` micro-batches on every
    rank, divided by their total token count, counted before the micro-steps
    (transformers' ``num_items_in_batch``). accelerate divides each micro-step's
    loss by ``grad_accum`` and DDP averages over ranks, so each is multiplied back
    by ``world_size * grad_accum``. With one process and ``grad_accum: 1`` that is
    bitwise the model's own mean loss (the factor is exactly 1). Under ``accelerate
    launch`` every rank draws the same seeded global batches and trains on its
    slice (``docs/distributed.md``).

    Args:
        model: A model (or peft model) whose trainable parameters are updated.
        examples: Tokenized examples with ``input_ids`` and ``labels``.
        config: Optimisation settings.
        pad_id: Padding token id.
        description: Progress-bar label.

    Returns:
        One row per optimizer step: step, loss, lr, tokens (response tokens seen, all ranks).
    """
    if not examples:
        raise ValueError(f"{description}: no training examples")
    accelerator = Accelerator(
        mixed_precision=config.precision, gradient_accumulation_steps=config.grad_accum
    )
    parallel = DataParallel(accelerator)
    # Padding happens after slicing: a rank pads only its own part of a batch.
    loader = seeded_loader(examples, config, list)
    total_steps, trainable, optimizer, scheduler = make_optimization(model, len(examples), config)
    model, optimizer = accelerator.prepare(model, optimizer)
    model.train()
    device = accelerator.device

    batches = _endless(loader)
    rows, tokens = [], 0
    progress = tqdm(
        total=total_steps, desc=description, leave=False, disable=not accelerator.is_main_process
    )
    for step in range(1, total_steps + 1):
        micro = [parallel.local(next(batches)) for _ in range(config.grad_accum)]
        padded = [(pad_batch(part, pad_id), weight) for part, weight in micro]
        # Response tokens the loss averages over (labels shifted as the model shifts
        # them) and those the log reports (unshifted), over this step's micro-batches.
        counts = torch.tensor(
            [
                [weight * int((b["labels"][:, 1:] != IGNORE_INDEX).sum()) for b, weight in padded],
                [weight * int((b["labels"] != IGNORE_INDEX).sum()) for b, weight in padded],
            ],
            dtype=torch.float64,
            device=device,
        ).sum(dim=1)
        step_tokens, seen = parallel.sum(counts).tolist()
        step_tokens = max(int(step_tokens), 1)
        losses = []
        for cpu_batch, weight in padded:
            batch = {k: v.to(device) for k, v in cpu_batch.items()}
            with accelerator.accumulate(model):
                loss = model(**batch, num_items_in_batch=step_tokens).loss * weight
                accelerator.backward(loss * (parallel.world_size * config.grad_accum))
                if accelerator.sync_gradients and config.max_grad_norm is not None:
                    accelerator.clip_grad_norm_(trainable, config.max_grad_norm)
                optimizer.step()
                optimizer.zero_grad()
            losses.append(loss.detach())
        tokens += int(seen)
        lr = scheduler.get_last_lr()[0]
        scheduler.step()
        step_loss = parallel.sum(torch.stack(losses).sum()).item()
        rows.append({"step": step, "loss": step_loss, "lr": lr, "tokens": tokens})
        progress.update(1)
    progress.close()
    model.eval()
    if device.type != "cpu":
        # Frees accelerator memory; on a CPU it would only run a full gc.collect(),
        # which costs a few tenths of a second per stage in a large Kedro process.
        accelerator.free_memory()
    return pd.DataFrame(rows)


def _endless(loader: DataLoader) -> Iterator[list[dict[str, list[int]]]]:
    """The loader's batches, epoch after epoch (a fresh shuffle each epoch)."""
    while True:
        yield from loader
