"""The training loop shared by pretraining and every fine-tuning stage.

Reads top to bottom: seeded data order, a fresh AdamW and LR schedule (the paper
rebuilds both at every stage), gradient accumulation and device placement via
accelerate, one log row per optimizer step.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd
import torch
from accelerate import Accelerator
from torch.utils.data import DataLoader, RandomSampler
from tqdm.auto import tqdm
from transformers import PreTrainedModel, get_scheduler

from path_unlearning.config import bounded
from path_unlearning.errors import ConfigError, quoted
from path_unlearning.modeling.model import pad_batch


@dataclass(frozen=True, kw_only=True)
class OptimConfig:
    """Optimiser and LR-schedule settings shared by training and unlearning runs."""

    optimizer: str = "adamw"  # adamw, or sgd (plain, no momentum: the paper's Appendix G)
    lr: float = bounded(1e-3, 0, low_open=True)
    batch_size: int = bounded(16, 1, integer=True)
    weight_decay: float = bounded(0.0, 0)
    scheduler: str = "warmup_stable_decay"  # or any transformers SchedulerType name
    warmup_frac: float = bounded(0.1, 0, 1)
    decay_frac: float = bounded(0.2, 0, 1)
    # null: no clipping (the paper's unlearning runs clip nothing)
    max_grad_norm: float | None = bounded(1.0, 0, low_open=True, optional=True)
    precision: str = "no"  # accelerate mixed precision: no, fp16, bf16
    seed: int = bounded(0, 0, integer=True)


@dataclass(frozen=True, kw_only=True)
class TrainConfig(OptimConfig):
    """Optimisation settings of one training run (a stage or the pretraining)."""

    epochs: float = bounded(1.0, 0, low_open=True)
    max_steps: int | None = bounded(None, 0, integer=True, optional=True)  # overrides epochs
    grad_accum: int = bounded(1, 1, integer=True)


OPTIMIZERS = ("adamw", "sgd")


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
    """Train the parameters of ``model`` that require grad, in place.

    Args:
        model: A model (or peft model) whose trainable parameters are updated.
        examples: Tokenized examples with ``input_ids`` and ``labels``.
        config: Optimisation settings.
        pad_id: Padding token id.
        description: Progress-bar label.

    Returns:
        One row per optimizer step: step, loss, lr, tokens (response tokens seen).
    """
    if not examples:
        raise ValueError(f"{description}: no training examples")
    accelerator = Accelerator(
        mixed_precision=config.precision, gradient_accumulation_steps=config.grad_accum
    )
    loader = seeded_loader(examples, config, lambda batch: pad_batch(batch, pad_id))
    total_steps, trainable, optimizer, scheduler = make_optimization(model, len(examples), config)
    model, optimizer = accelerator.prepare(model, optimizer)
    model.train()

    rows, step, tokens, micro_losses = [], 0, 0, []
    progress = tqdm(total=total_steps, desc=description, leave=False)
    while step < total_steps:
        for cpu_batch in loader:
            batch = {k: v.to(accelerator.device) for k, v in cpu_batch.items()}
            with accelerator.accumulate(model):
                loss = model(**batch).loss
                accelerator.backward(loss)
                if accelerator.sync_gradients:
                    if config.max_grad_norm is not None:
                        accelerator.clip_grad_norm_(trainable, config.max_grad_norm)
                optimizer.step()
                optimizer.zero_grad()
            micro_losses.append(loss.detach())
            tokens += int((batch["labels"] != -100).sum())
            if not accelerator.sync_gradients:
                continue
            lr = scheduler.get_last_lr()[0]
            scheduler.step()
            step += 1
            rows.append(
                {
                    "step": step,
                    "loss": torch.stack(micro_losses).mean().item(),
                    "lr": lr,
                    "tokens": tokens,
                }
            )
            micro_losses = []
            progress.update(1)
            if step >= total_steps:
                break
    progress.close()
    model.eval()
    if accelerator.device.type != "cpu":
        # Frees accelerator memory; on a CPU it would only run a full gc.collect(),
        # which costs a few tenths of a second per stage in a large Kedro process.
        accelerator.free_memory()
    return pd.DataFrame(rows)
