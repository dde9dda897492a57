"""The unlearning loop: a fixed number of steps of a forget loss, with probes.

Reads top to bottom: the inputs the method declares (reference log-probs, scored
once, for NPO; a retain batch per step for GradDiff), seeded forget batches, a
fresh optimiser and schedule, and after every step one trajectory row of probe
log-likelihoods. A non-finite loss or probe marks the run ``diverged`` and
stops it cleanly. The loop asks the method (:class:`~path_unlearning.unlearning.
losses.Method`) what it needs; it never names a method.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pandas as pd
import torch
from accelerate import Accelerator
from peft import PeftModel
from pydantic import Field
from tqdm.auto import tqdm
from transformers import PreTrainedModel

from path_unlearning.modeling.data_parallel import DataParallel
from path_unlearning.modeling.lora import AdapterCheckpoint, merged_model, new_adapter
from path_unlearning.modeling.model import pad_batch
from path_unlearning.modeling.scoring import mean_loglik, response_logprobs, score_batches
from path_unlearning.modeling.train import OptimConfig, make_optimizer, make_scheduler
from path_unlearning.parameters import Count
from path_unlearning.schemas import ll, ll_tok
from path_unlearning.unlearning.losses import ForgetBatch, Input, Method, MethodName, get_method


class UnlearnConfig(OptimConfig):
    """Settings of one unlearning run: the shared optimiser fields plus these."""

    method: MethodName = Field("ga", description="The registered loss to run.")
    steps: Count = Field(20, ge=1, description="Unlearning optimizer steps.")
    checkpoint_every: Count = Field(5, ge=1, description="Save the adapter every this many steps.")
    hparams: dict[str, Any] = Field(
        default_factory=dict, description="The loss's own hyper-parameters (checked by get_loss)."
    )


@dataclass
class UnlearnResult:
    """Trajectory rows and the adapters saved at the checkpoint steps."""

    trajectory: pd.DataFrame
    checkpoints: dict[int, AdapterCheckpoint]
    diverged: bool


def start_model(
    base_model: PreTrainedModel,
    path_adapter: AdapterCheckpoint,
    lora_params: dict[str, Any],
    seed: int,
    continue_adapter: bool = False,
) -> PeftModel:
    """The model to unlearn from: by default the path's adapter merged into the
    base and a fresh LoRA adapter on top (as the paper does); optionally the
    path's own adapter, trained further.
    """
    if continue_adapter:
        return path_adapter.attach(base_model)
    return new_adapter(merged_model(base_model, path_adapter), lora_params, seed)


def peak_lr_steps(config: UnlearnConfig) -> list[int]:
    """The steps whose update uses the schedule's peak learning rate (the constant phase)."""
    probe = torch.nn.Parameter(torch.zeros(1))
    optimizer = make_optimizer([probe], config)
    scheduler = make_scheduler(optimizer, config, config.steps)
    rates = []
    for _ in range(config.steps):
        rates.append(scheduler.get_last_lr()[0])
        optimizer.step()
        scheduler.step()
    peak = max(rates)
    return [step for step, lr in enumerate(rates, start=1) if lr >= peak * (1 - 1e-9) and lr > 0]


def _forget_batches(n: int, batch_size: int, seed: int) -> Iterator[torch.Tensor]:
    """Endless shuffled batches of example indices, reshuffled each epoch.

    They depend only on the unlearning seed, so every path sees the same forget
    batches in the same order: the runs differ only by the model.
    """
    generator = torch.Generator().manual_seed(seed)
    while True:
        order = torch.randperm(n, generator=generator)
        for start in range(0, n - batch_size + 1, batch_size):
            yield order[start : start + batch_size]
        if n < batch_size:
            yield order


def _probe_row(model: PeftModel, probes: dict[str, list[dict[str, torch.Tensor]]]) -> dict:
    row = {}
    for name, batches in probes.items():
        scored = mean_loglik(model, batches)
        row[ll(name)], row[ll_tok(name)] = scored["sum"], scored["per_token"]
    return row


Examples = list[dict[str, list[int]]]


@dataclass
class MethodInputs:
    """What the loop provides a method besides the forget batch: exactly what it declares.

    Attributes:
        ref_logp: :attr:`Input.REFERENCE`: every forget example's summed
            log-prob under the model before unlearning, ``[N]``.
        retain_examples: :attr:`Input.RETAIN`: the tokenized retain set.
        retain_batches: :attr:`Input.RETAIN`: endless retain batches of
            ``batch_size`` indices from their own generator on the unlearning
            seed, so GA and GradDiff runs see the same forget batches.
    """

    ref_logp: torch.Tensor | None = None
    retain_examples: Examples | None = None
    retain_batches: Iterator[torch.Tensor] | None = None

    @classmethod
    def prepare(
        cls,
        method: Method,
        model: torch.nn.Module,
        forget_examples: Examples,
        retain_examples: Examples | None,
        config: UnlearnConfig,
        pad_id: int,
    ) -> MethodInputs:
        """Build what ``method`` declares, before the first step.

        Raises:
            ValueError: If the method needs a retain set and none (or an empty one) is given.
        """
        if method.needs(Input.RETAIN) and not retain_examples:
            raise ValueError(f"{method.name} needs a non-empty retain set")
        inputs = cls()
        if method.needs(Input.REFERENCE):
            # The reference is the model before unlearning: score the forget set
            # once now instead of running a second model at every step.
            ref_batches = [
                pad_batch(forget_examples[i : i + config.batch_size], pad_id)
                for i in range(0, len(forget_examples), config.batch_size)
            ]
            inputs.ref_logp = score_batches(model, ref_batches)[0]
        if method.needs(Input.RETAIN):
            inputs.retain_examples = retain_examples
            inputs.retain_batches = _forget_batches(
                len(retain_examples), config.batch_size, config.seed
            )
        return inputs


def _step_loss(
    parallel: DataParallel,
    model: torch.nn.Module,
    loss_fn: Callable[[ForgetBatch], torch.Tensor],
    idx: torch.Tensor,
    forget_examples: Examples,
    inputs: MethodInputs,
    pad_id: int,
) -> torch.Tensor:
    """One step's loss on the forget batch ``idx``, backpropagated if finite.

    Each rank scores its slice of the forget batch (and of the retain batch,
    when the method declared one); every rank computes the whole batch's loss
    from the gathered log-probs and backpropagates its share
    (``DataParallel.backward_global``). With one process the slice is the
    whole batch and the gradient that of the loss itself.

    Returns:
        The loss of the whole batch, as one process computes it.
    """
    device = parallel.accelerator.device

    def score(examples: Examples, ids: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        mine, _ = parallel.local(ids)  # a placeholder slice is dropped when gathered
        batch = pad_batch([examples[i] for i in mine], pad_id)
        return response_logprobs(model, {k: v.to(device) for k, v in batch.items()})

    ids = idx.tolist()
    logp, n_tokens = score(forget_examples, ids)
    n_all = parallel.gather(n_tokens, len(ids))
    ref = inputs.ref_logp[idx].to(device) if inputs.ref_logp is not None else None
    retain = None
    if inputs.retain_batches is not None and inputs.retain_examples is not None:
        retain_ids = next(inputs.retain_batches).tolist()
        retain = (score(inputs.retain_examples, retain_ids)[0], len(retain_ids))
    return parallel.backward_global(
        lambda lp, rl: loss_fn(ForgetBatch(lp, n_all, ref, rl)), [(logp, len(ids)), retain]
    )


def _finite(row: dict[str, Any]) -> bool:
    return all(math.isfinite(v) for k, v in row.items() if k != "lr" and isinstance(v, float))


def unlearn(
    model: PeftModel,
    forget_examples: list[dict[str, list[int]]],
    probes: dict[str, list[dict[str, torch.Tensor]]],
    config: UnlearnConfig,
    pad_id: int,
    retain_examples: Examples | None = None,
) -> UnlearnResult:
    """Unlearn the forget examples from ``model`` (its trainable adapter), in place.

    Args:
        model: A peft model whose adapter is trained; everything else is frozen.
        forget_examples: Tokenized forget set (``input_ids``, ``labels``).
        probes: Pre-encoded evaluation batches scored after every step, by name.
        config: Method, steps, optimiser and checkpoint settings.
        pad_id: Padding token id.
        retain_examples: Tokenized retain set, read only by methods that
            declare :attr:`Input.RETAIN` (GradDiff); batches of ``batch_size``
            drawn with the unlearning seed.

    Returns:
        Trajectory (step 0 = before unlearning), adapters at every
        ``checkpoint_every`` steps and at the end, and the diverged flag.
    """
    if not forget_examples:
        raise ValueError("the forget set is empty: nothing to unlearn")
    method = get_method(config.method)
    loss_fn = method.bind(**config.hparams)
    accelerator = Accelerator(mixed_precision=config.precision)
    model = model.to(accelerator.device)
    inputs = MethodInputs.prepare(method, model, forget_examples, retain_examples, config, pad_id)

    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = make_optimizer(trainable, config)
    scheduler = make_scheduler(optimizer, config, config.steps)
    model, optimizer = accelerator.prepare(model, optimizer)
    # Probes and checkpoints read the model, not its DDP wrapper (with one
    # process they are the same object).
    inner = accelerator.unwrap_model(model)
    parallel = DataParallel(accelerator)
    batches = _forget_batches(len(forget_examples), config.batch_size, config.seed)

    start = _probe_row(inner, probes)
    rows = [{"step": 0, "loss": float("nan"), "lr": 0.0, **start}]
    checkpoints = {0: AdapterCheckpoint.from_model(inner, {"step": 0})}
    diverged = not _finite(start)
    for step in tqdm(range(1, config.steps + 1), desc=f"unlearn {config.method}", leave=False):
        if diverged:
            break
        idx = next(batches)
        model.train()
        loss = _step_loss(parallel, model, loss_fn, idx, forget_examples, inputs, pad_id)
        lr = scheduler.get_last_lr()[0]
        if torch.isfinite(loss):
            if config.max_grad_norm is not None:
                accelerator.clip_grad_norm_(trainable, config.max_grad_norm)
            optimizer.step()
            scheduler.step()
        optimizer.zero_grad()

        row = {"step": step, "loss": loss.item(), "lr": lr, **_probe_row(inner, probes)}
        diverged = not _finite(row)
        rows.append(row)
        if step % config.checkpoint_every == 0 or step == config.steps or diverged:
            checkpoints[step] = AdapterCheckpoint.from_model(inner, {"step": step})

    trajectory = pd.DataFrame(rows)
    trajectory["diverged"] = False
    if diverged:
        trajectory.loc[trajectory.index[-1], "diverged"] = True
    model.eval()
    return UnlearnResult(trajectory, checkpoints, diverged)
