"""A toy method added by the documented steps alone (docs/how_to_add_method.md).

One :func:`register` call of one :class:`Method`; nothing else in the project is
touched, and the loop and the pipeline give it exactly the inputs it declares.
"""

from __future__ import annotations

from typing import Literal, get_origin

import pytest
import torch
from pydantic import Field, ValidationError

from path_unlearning.data import synthetic
from path_unlearning.data.chat import encode_records
from path_unlearning.errors import ConfigError
from path_unlearning.modeling.lora import AdapterCheckpoint, new_adapter
from path_unlearning.modeling.scoring import encode_batches
from path_unlearning.pipelines.unlearn.pipeline import create_pipeline
from path_unlearning.plan import ExperimentPlan
from path_unlearning.unlearning.loop import UnlearnConfig, start_model, unlearn
from path_unlearning.unlearning.losses import (
    LOSSES,
    ForgetBatch,
    Hparams,
    Input,
    Method,
    get_loss,
    register,
)

LORA = {"r": 4, "lora_alpha": 8, "target_modules": ["q_proj", "v_proj"]}
BATCH = 6

# UnlearnConfig.method must accept any registered name when a config is built
# (losses.MethodName); a Literal of the names at import time rejects a method
# registered later. Until the field is MethodName, the runs below are expected to fail.
needs_method_name = pytest.mark.xfail(
    get_origin(UnlearnConfig.model_fields["method"].annotation) is Literal,
    reason="UnlearnConfig.method is a Literal of the names known at import: use losses.MethodName",
    raises=(ValidationError, ConfigError),  # the config itself, or the plan's one-line error
    strict=True,
)


class ToyHparams(Hparams):
    """The toy's one hyper-parameter."""

    weight: float = Field(0.5, ge=0, description="weight of the retain NLL, >= 0")


def _toy_loss(batch: ForgetBatch, hparams: ToyHparams) -> torch.Tensor:
    loss = batch.logp.mean()
    if batch.ref_logp is not None:
        loss = loss + 0.0 * batch.ref_logp.sum()
    if batch.retain_logp is not None:
        loss = loss - hparams.weight * batch.retain_logp.mean()
    return loss


@pytest.fixture
def toy():
    """Register a toy method declaring ``inputs``; the registry is restored afterwards."""
    added: list[str] = []
    seen: list[ForgetBatch] = []

    def add(name: str, inputs: frozenset[Input]) -> Method:
        def loss(batch: ForgetBatch, hparams: ToyHparams) -> torch.Tensor:
            seen.append(batch)
            return _toy_loss(batch, hparams)

        method = register(Method(name, ToyHparams, loss, inputs, "a toy for tests"))
        added.append(name)
        return method

    yield add, seen
    for name in added:
        LOSSES.pop(name)


@pytest.fixture
def data(word_tokenizer):
    refusals = synthetic.refusals(12, 2)
    facts = synthetic.author_facts(2, 0)
    forget = encode_records(
        word_tokenizer, [r["prompt"] for r in refusals], [r["response"] for r in refusals]
    )
    retain = encode_records(
        word_tokenizer, [r["prompt"] for r in facts], [r["response"] for r in facts]
    )
    probes = {
        "forget_label": encode_batches(
            word_tokenizer, [r["prompt"] for r in refusals[:6]], [synthetic.REFUSAL_LABEL] * 6, 6
        )
    }
    return forget, retain, probes


def _run(tiny_base_model, word_tokenizer, data, name, **hparams):
    forget, retain, probes = data
    path_adapter = AdapterCheckpoint.from_model(new_adapter(tiny_base_model, LORA, seed=1), {})
    model = start_model(tiny_base_model, path_adapter, LORA, seed=2)
    config = UnlearnConfig(
        method=name, steps=3, batch_size=BATCH, lr=1e-2, checkpoint_every=3, seed=0,
        hparams=hparams,
    )  # fmt: skip
    return unlearn(model, forget, probes, config, word_tokenizer.pad_token_id, retain)


def test_the_toy_binds_like_a_built_in_method(toy):
    add, _ = toy
    add("toy", frozenset({Input.RETAIN}))
    batch = ForgetBatch(
        torch.tensor([-2.0, -4.0]), torch.tensor([2, 2]), None, torch.tensor([-6.0])
    )
    assert get_loss("toy")(batch).item() == pytest.approx(-3.0 + 0.5 * 6.0)
    assert get_loss("toy", weight=0)(batch).item() == pytest.approx(-3.0)
    with pytest.raises(ValueError, match="weight must be >= 0"):
        get_loss("toy", weight=-1)
    with pytest.raises(ValueError, match="unknown hyper-parameter"):
        get_loss("toy", beta=1.0)
    with pytest.raises(ValueError, match="toy needs retain_logp"):
        get_loss("toy")(ForgetBatch(batch.logp, batch.n_tokens))
    with pytest.raises(ValueError, match="already registered"):
        register(LOSSES["toy"])


@needs_method_name
def test_a_toy_that_needs_everything_gets_it_and_unlearns(
    toy, tiny_base_model, word_tokenizer, data
):
    add, seen = toy
    add("toy_all", frozenset({Input.REFERENCE, Input.RETAIN}))
    result = _run(tiny_base_model, word_tokenizer, data, "toy_all", weight=0.25)

    assert len(seen) == 3  # one loss per step
    for batch in seen:
        assert batch.logp.shape == batch.n_tokens.shape == batch.ref_logp.shape == (BATCH,)
        assert batch.retain_logp.shape == (BATCH,)  # one retain batch of batch_size per step
        assert not batch.ref_logp.requires_grad and batch.retain_logp.requires_grad
    # The reference is the model before unlearning: at step 1 the two agree.
    assert seen[0].logp.detach() == pytest.approx(seen[0].ref_logp, abs=1e-4)
    assert (seen[-1].logp.detach() < seen[-1].ref_logp).all()  # and later the forget set drops

    # The trainable adapter changed; the forget log-likelihood went down.
    start, end = result.checkpoints[0].state, result.checkpoints[3].state
    assert set(start) == set(end)
    assert all(torch.count_nonzero(start[k]) == 0 for k in start if "lora_B" in k)
    assert all(torch.count_nonzero(end[k]) > 0 for k in end if "lora_B" in k)
    assert any(not torch.equal(start[k], end[k]) for k in start if "lora_A" in k)
    traj = result.trajectory
    assert traj["forget_label_ll"].iloc[-1] < traj["forget_label_ll"].iloc[0]
    assert not result.diverged


@needs_method_name
def test_a_toy_that_needs_nothing_gets_nothing(toy, tiny_base_model, word_tokenizer, data):
    add, seen = toy
    add("toy_plain", frozenset())
    _run(tiny_base_model, word_tokenizer, data, "toy_plain")  # a retain set is passed ...
    assert len(seen) == 3
    assert all(b.ref_logp is None and b.retain_logp is None for b in seen)  # ... but not used


@needs_method_name
def test_a_toy_that_needs_retain_fails_without_one(toy, tiny_base_model, word_tokenizer, data):
    add, _ = toy
    add("toy_retain", frozenset({Input.RETAIN}))
    forget, _, probes = data
    config = UnlearnConfig(method="toy_retain", steps=1, batch_size=BATCH)
    with pytest.raises(ValueError, match="toy_retain needs a non-empty retain set"):
        unlearn(
            new_adapter(tiny_base_model, LORA, 0), forget, probes, config,
            word_tokenizer.pad_token_id,
        )  # fmt: skip


@needs_method_name
def test_the_pipeline_gives_the_retain_set_only_to_methods_that_declare_it(toy):
    add, _ = toy
    add("toy_retain", frozenset({Input.RETAIN}))
    add("toy_plain", frozenset())
    plan = ExperimentPlan.from_parameters(
        {
            "stages": {"A": {"dataset": "facts"}, "C": {"dataset": "refusal"}},
            "forget_stage": "C",
            "paths": ["AC"],
            "unlearn": {"methods": ["toy_retain", "toy_plain"], "hparams": {"toy_retain": {}}},
        }
    )
    nodes = {node.name: node for node in create_pipeline(plan).nodes}
    assert "retain_records" in nodes["make_retain_set"].outputs
    assert "retain_records" in nodes["s0.AC.unlearn_toy_retain"].inputs
    assert "retain_records" not in nodes["s0.AC.unlearn_toy_plain"].inputs
