"""GradDiff: hand-computed loss values, its registry entry and retain batches in the loop."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from path_unlearning.data import synthetic
from path_unlearning.data.chat import encode_records
from path_unlearning.modeling.lora import new_adapter
from path_unlearning.modeling.scoring import encode_batches
from path_unlearning.unlearning.loop import UnlearnConfig, unlearn
from path_unlearning.unlearning.losses import (
    LOSSES,
    ForgetBatch,
    get_loss,
    gradiff_loss,
    needs_reference,
    needs_retain,
)

LORA = {"r": 4, "lora_alpha": 8, "target_modules": ["q_proj", "v_proj"]}


def test_gradiff_hand_values_and_gradients():
    # forget mean = (-2 - 4) / 2 = -3; retain mean = (-1 - 3 - 5) / 3 = -3
    # loss = -3 - 0.5 * (-3) = -1.5
    logp = torch.tensor([-2.0, -4.0], dtype=torch.float64, requires_grad=True)
    retain = torch.tensor([-1.0, -3.0, -5.0], dtype=torch.float64, requires_grad=True)
    loss = gradiff_loss(logp, retain, retain_weight=0.5)
    assert loss.item() == pytest.approx(-1.5)
    loss.backward()
    # d/d logp_i = 1/B = 0.5 (GA); d/d retain_j = -w/B' = -0.5/3 (raises retain logp)
    assert logp.grad.tolist() == pytest.approx([0.5, 0.5])
    assert retain.grad.tolist() == pytest.approx([-1 / 6] * 3)


def test_gradiff_with_zero_weight_is_ga():
    logp = torch.tensor([-2.0, -4.0])
    assert gradiff_loss(logp, torch.tensor([-7.0]), 0.0).item() == pytest.approx(-3.0)


def test_registered_gradiff_defaults_to_weight_one():
    loss = get_loss("gradiff")
    batch = ForgetBatch(
        torch.tensor([-2.0, -4.0]), torch.tensor([2, 2]), retain_logp=torch.tensor([-1.0, -5.0])
    )
    assert loss(batch).item() == pytest.approx(-3.0 + 3.0)
    assert get_loss("gradiff", retain_weight=2.0)(batch).item() == pytest.approx(-3.0 + 6.0)
    assert needs_retain("gradiff") and not needs_reference("gradiff")
    assert not needs_retain("ga")


def test_gradiff_without_retain_batch_or_negative_weight_fails():
    batch = ForgetBatch(torch.tensor([-2.0]), torch.tensor([2]))
    with pytest.raises(ValueError, match="retain_logp"):
        get_loss("gradiff")(batch)
    with pytest.raises(ValueError, match="retain_weight"):
        get_loss("gradiff", retain_weight=-1.0)


@pytest.fixture
def setup(word_tokenizer, tiny_base_model):
    records = synthetic.refusals(16, 2)
    retain_records = synthetic.author_facts(2, 0)
    forget = encode_records(
        word_tokenizer, [r["prompt"] for r in records], [r["response"] for r in records]
    )
    retain = encode_records(
        word_tokenizer,
        [r["prompt"] for r in retain_records],
        [r["response"] for r in retain_records],
    )
    probes = {
        "forget_label": encode_batches(
            word_tokenizer, [r["prompt"] for r in records[:8]], [synthetic.REFUSAL_LABEL] * 8, 8
        ),
        "facts": encode_batches(
            word_tokenizer,
            [r["prompt"] for r in retain_records],
            [r["response"] for r in retain_records],
            8,
        ),
    }
    return word_tokenizer, tiny_base_model, forget, retain, probes


def _config(method: str, **hparams) -> UnlearnConfig:
    return UnlearnConfig(
        method=method, steps=4, batch_size=8, lr=1e-2, checkpoint_every=2, seed=0, hparams=hparams
    )


def test_loop_feeds_retain_batches_to_gradiff(setup, monkeypatch):
    tokenizer, base, forget, retain, probes = setup
    seen = []

    def spy(name):
        real = LOSSES[name]

        def loss(batch, hparams):
            seen.append(None if batch.retain_logp is None else tuple(batch.retain_logp.shape))
            return real.loss(batch, hparams)

        monkeypatch.setitem(LOSSES, name, dataclasses.replace(real, loss=loss))

    spy("gradiff")
    spy("ga")
    model = new_adapter(base, LORA, seed=0)
    result = unlearn(model, forget, probes, _config("gradiff"), tokenizer.pad_token_id, retain)
    assert seen == [(8,)] * 4  # one retain batch of batch_size per step
    traj = result.trajectory
    assert traj["forget_label_ll"].iloc[-1] < traj["forget_label_ll"].iloc[0]
    seen.clear()
    unlearn(new_adapter(base, LORA, 0), forget, probes, _config("ga"), tokenizer.pad_token_id)
    assert seen == [None] * 4  # GA never scores a retain batch


def test_gradiff_with_zero_weight_follows_ga(setup):
    tokenizer, base, forget, retain, probes = setup
    pad = tokenizer.pad_token_id
    ga = unlearn(new_adapter(base, LORA, 0), forget, probes, _config("ga"), pad)
    gd = unlearn(
        new_adapter(base, LORA, 0), forget, probes, _config("gradiff", retain_weight=0.0), pad,
        retain,
    )  # fmt: skip
    # Same forget batches from the same seed: with weight 0 the runs coincide.
    pd_cols = ["forget_label_ll", "facts_ll"]
    assert ga.trajectory[pd_cols].to_numpy() == pytest.approx(gd.trajectory[pd_cols].to_numpy())


def test_gradiff_needs_a_retain_set(setup):
    tokenizer, base, forget, _, probes = setup
    with pytest.raises(ValueError, match="retain set"):
        unlearn(
            new_adapter(base, LORA, 0), forget, probes, _config("gradiff"), tokenizer.pad_token_id
        )
