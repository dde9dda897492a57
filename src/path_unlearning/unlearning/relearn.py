"""Relearning: how quickly a few fine-tuning steps bring the forgotten label back.

A robustness test of unlearning: from the unlearned model, fine-tune on a small
fixed part of the forget set with the stage-training loss and watch the refusal
label's log-likelihood after every step. A model that only hid the behaviour
recovers it in a handful of steps; one that lost it needs about as many as
learning it anew. :func:`steps_to_recover` reads the answer off the curve: the
steps needed to win back half (``fraction``) of what unlearning took away.

Reads top to bottom: a seeded subset of the forget set (the same rows for every
path), a fresh LoRA adapter on a copy of the unlearned model (as the unlearning
loop puts a fresh adapter on the merged path model), then ``steps`` optimizer
steps of response-token cross-entropy at a constant learning rate with no
clipping and no warm-up, every step followed by one probe row.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Literal

import pandas as pd
import torch
from peft import PeftModel
from pydantic import Field
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from path_unlearning.data.chat import encode_records
from path_unlearning.metrics.eval_sets import encode_probes
from path_unlearning.metrics.probes import FORGET_LABEL, PROMPT, ll, ll_tok, probe
from path_unlearning.modeling.lora import new_adapter
from path_unlearning.modeling.model import pad_batch
from path_unlearning.modeling.scoring import inference_device, mean_loglik
from path_unlearning.modeling.train import (
    OPTIMIZERS,
    TrainConfig,
    make_optimizer,
    seeded_loader,
)
from path_unlearning.parameters import Count, Real, Section
from path_unlearning.sections import LoraSettings

Probes = dict[str, list[dict[str, torch.Tensor]]]


class RelearnSettings(Section):
    """Settings of one relearning run (the same for every path, so curves compare).

    The defaults give relearning the optimizer budget of the default unlearning it
    attacks (18 steps at 1e-3, batches of 16), on 16 forget examples.
    """

    steps: Count = Field(18, ge=1, description="Relearning optimizer steps.")
    lr: Real = Field(1.0e-3, gt=0, description="Constant learning rate.")
    n_examples: Count = Field(
        16, ge=1, description="Forget examples relearned on: a seeded, fixed subset."
    )
    batch_size: Count = Field(16, ge=1, description="Examples per optimizer step.")
    seed: Count = Field(0, ge=0, description="Seed of the subset, its order and the adapter init.")
    optimizer: Literal[OPTIMIZERS] = Field("adamw", description="adamw, or sgd (no momentum).")
    lora: LoraSettings = Field(default_factory=LoraSettings, description="The relearning adapter.")
    recover_fraction: Real = Field(
        0.5, gt=0, le=1, description="relearn_half_steps: the part of the forgotten ll won back."
    )

    def train_config(self) -> TrainConfig:
        """The training loop's settings for these steps: no clipping, no weight decay.

        The schedule is constant with no warm-up (the loop builds none: the rate
        is ``lr`` from the first step), because in a test of a handful of steps
        every step has to count.
        """
        return TrainConfig(
            optimizer=self.optimizer,
            lr=self.lr,
            batch_size=self.batch_size,
            seed=self.seed,
            max_steps=self.steps,
            weight_decay=0.0,
            scheduler="constant",
            warmup_frac=0.0,
            max_grad_norm=None,
        )


def relearn_subset(forget_records: pd.DataFrame, settings: RelearnSettings) -> pd.DataFrame:
    """The first ``n_examples`` rows of the forget set after a shuffle seeded by ``settings.seed``.

    The subset depends only on the seed and the table, so every path relearns on
    the same rows; a forget set smaller than ``n_examples`` is used whole.
    """
    generator = torch.Generator().manual_seed(settings.seed)
    order = torch.randperm(len(forget_records), generator=generator)[: settings.n_examples]
    return forget_records.iloc[order.tolist()].reset_index(drop=True)


def label_probe(
    tokenizer: PreTrainedTokenizerBase, forget_eval: pd.DataFrame, batch_size: int
) -> Probes:
    """The forget-label probe on every forget prompt, encoded as the per-step probes."""
    label = probe(FORGET_LABEL)
    pairs = {label.name: (forget_eval[PROMPT].to_list(), forget_eval[label.responses].to_list())}
    return encode_probes(tokenizer, pairs, batch_size)


def label_ll_tok(model: PreTrainedModel, probes: Probes) -> float:
    """The forget label's per-token log-likelihood on ``probes``."""
    return mean_loglik(model, probes[FORGET_LABEL])["per_token"]


def _probe_row(model: PeftModel, probes: Probes) -> dict[str, float]:
    row = {}
    for name, batches in probes.items():
        scored = mean_loglik(model, batches)
        row[ll(name)], row[ll_tok(name)] = scored["sum"], scored["per_token"]
    return row


def _endless(loader) -> Iterator[list[dict[str, list[int]]]]:
    """The loader's batches, epoch after epoch (a fresh seeded shuffle each epoch)."""
    while True:
        yield from loader


def relearn_curve(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    forget_records: pd.DataFrame,
    probe_batches: Probes,
    settings: RelearnSettings,
) -> pd.DataFrame:
    """Fine-tune a fresh LoRA adapter on the unlearned model and log the probes per step.

    ``model`` is left as it is: the adapter sits on a deep copy of it
    (:func:`~path_unlearning.modeling.lora.new_adapter`, as the unlearning loop
    starts its own adapter), so a shared ``merged_view`` and its base stay
    untouched; the copy costs one model's memory for the length of the call.

    Args:
        model: The unlearned model as a plain (merged) model: a ``merged_view``
            of the base with the path's and the unlearning adapters, or a
            ``merged_model``. Not a peft model: its adapter would be trained on.
        tokenizer: The chat tokenizer; examples are encoded as stage training
            encodes them (loss on the response and its end-of-turn token).
        forget_records: The forget stage's ``prompt``/``response`` table.
        probe_batches: Pre-encoded probe batches by name, as the unlearning loop
            scores them per step (``encode_probes(tokenizer, probe_pairs(...,
            limit=eval_subset), eval_batch_size)``); must hold ``forget_label``.
            Every probe given gets its two columns.
        settings: Steps, learning rate, subset size, batch size, seed, adapter.

    Returns:
        One row per step, ``step`` 0 (before any relearning) to ``settings.steps``,
        with ``loss`` (the step's training loss; NaN at step 0) and, per probe,
        ``{probe}_ll`` (mean summed log-likelihood) and ``{probe}_ll_tok`` (per token).

    Raises:
        ValueError: If the model is a peft model, the forget set is empty or no
            ``forget_label`` probe is given.
    """
    if isinstance(model, PeftModel):
        raise ValueError("relearn_curve takes a merged model (merged_view), not a peft model")
    if forget_records.empty:
        raise ValueError("the forget set is empty: nothing to relearn")
    if FORGET_LABEL not in probe_batches:
        raise ValueError(f"probe_batches needs the {FORGET_LABEL!r} probe")
    subset = relearn_subset(forget_records, settings)
    examples = encode_records(tokenizer, subset["prompt"], subset["response"])
    config = settings.train_config()

    # The adapter's init is seeded first, then seeded_loader seeds the data order
    # (and any LoRA dropout): the same settings give the same numbers. The adapter
    # gets every field of the lora settings, defaults included: ``plain`` would
    # leave the unset ones to peft, whose defaults differ (lora_alpha 8, not 16).
    learner = new_adapter(model, settings.lora.model_dump(), settings.seed)
    device = inference_device()
    learner.to(device)
    batches = _endless(seeded_loader(examples, config, list))
    trainable = [p for p in learner.parameters() if p.requires_grad]
    optimizer = make_optimizer(trainable, config)

    rows = [{"step": 0, "loss": float("nan"), **_probe_row(learner, probe_batches)}]
    for step in range(1, settings.steps + 1):
        batch = pad_batch(next(batches), tokenizer.pad_token_id)
        learner.train()
        # The model's own loss: the mean cross-entropy over the batch's response
        # tokens, which is stage training's loss with one process and no accumulation.
        loss = learner(**{k: v.to(device) for k, v in batch.items()}).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        rows.append({"step": step, "loss": loss.item(), **_probe_row(learner, probe_batches)})
    return pd.DataFrame(rows)


def steps_to_recover(curve: pd.DataFrame, before_ll_tok: float, fraction: float = 0.5) -> float:
    """Relearning steps until the forget label wins back ``fraction`` of what was unlearned.

    With ``after`` the curve's step-0 ``forget_label_ll_tok`` (the unlearned
    model) and ``before`` the value before unlearning, the target is
    ``after + fraction * (before - after)``. The answer is the first step whose
    value reaches the target, interpolated linearly between that step and the one
    before it: 3.0 when step 3 lands exactly on it, 2.5 when steps 2 and 3 lie
    equally far below and above. Rounding it up gives the whole steps needed.

    Args:
        curve: :func:`relearn_curve`'s rows (``step``, ``forget_label_ll_tok``).
        before_ll_tok: The label's per-token log-likelihood before unlearning.
        fraction: Part of the forgotten log-likelihood to recover, > 0 (1: all of it).

    Returns:
        The (fractional) step; ``nan`` when nothing was forgotten
        (``before <= after``, or either is not finite); ``inf`` when the curve
        never reaches the target within its steps.
    """
    if not (math.isfinite(fraction) and fraction > 0):
        raise ValueError(f"fraction must be a positive number, got {fraction}")
    curve = curve.sort_values("step")
    steps = curve["step"].to_numpy(dtype=float)
    values = curve[ll_tok(FORGET_LABEL)].to_numpy(dtype=float)
    after = values[0]
    if not (math.isfinite(after) and math.isfinite(before_ll_tok)) or before_ll_tok <= after:
        return math.nan
    target = after + fraction * (before_ll_tok - after)
    for i in range(1, len(values)):
        if values[i] >= target:  # NaN (a diverged step) never counts as recovered
            low, high = values[i - 1], values[i]
            if not math.isfinite(low):  # nothing to interpolate from
                return float(steps[i])
            return float(steps[i - 1] + (target - low) / (high - low) * (steps[i] - steps[i - 1]))
    return math.inf


def recovered_fraction(curve: pd.DataFrame, before_ll_tok: float) -> float:
    """The part of the forgotten per-token label ll back after the curve's last step.

    ``(last - after) / (before - after)``; ``nan`` when nothing was forgotten, as
    :func:`steps_to_recover`.
    """
    values = curve.sort_values("step")[ll_tok(FORGET_LABEL)].to_numpy(dtype=float)
    after, last = values[0], values[-1]
    if not (math.isfinite(after) and math.isfinite(before_ll_tok)) or before_ll_tok <= after:
        return math.nan
    return float((last - after) / (before_ll_tok - after))
