"""The unlearning loop on a tiny model: trajectory rows, diverged flag, NPO reference."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from path_unlearning.data import synthetic
from path_unlearning.data.chat import encode_records
from path_unlearning.modeling import scoring
from path_unlearning.modeling.lora import new_adapter
from path_unlearning.modeling.scoring import encode_batches
from path_unlearning.unlearning import loop
from path_unlearning.unlearning.loop import UnlearnConfig, unlearn
from path_unlearning.unlearning.losses import LOSSES

LORA = {"r": 4, "lora_alpha": 8, "target_modules": ["q_proj", "v_proj"]}


@pytest.fixture
def setup(word_tokenizer, tiny_base_model):
    records = synthetic.refusals(24, 2)
    forget = encode_records(
        word_tokenizer, [r["prompt"] for r in records], [r["response"] for r in records]
    )
    probes = {
        "forget_label": encode_batches(
            word_tokenizer, [r["prompt"] for r in records[:8]], [synthetic.REFUSAL_LABEL] * 8, 8
        )
    }
    return word_tokenizer, tiny_base_model, forget, probes


def _run(setup, method, steps=4, **extra):
    tokenizer, base, forget, probes = setup
    model = new_adapter(base, LORA, seed=0)
    config = UnlearnConfig(
        method=method, steps=steps, batch_size=8, lr=1e-2, checkpoint_every=2, seed=0, **extra
    )
    return model, unlearn(model, forget, probes, config, tokenizer.pad_token_id)


def test_trajectory_rows_and_checkpoints(setup):
    model, result = _run(setup, "ga")
    traj = result.trajectory
    assert traj["step"].tolist() == [0, 1, 2, 3, 4]
    assert {"loss", "lr", "forget_label_ll", "forget_label_ll_tok", "diverged"} <= set(traj)
    assert not traj["diverged"].any() and not result.diverged
    assert sorted(result.checkpoints) == [0, 2, 4]
    # GA lowers the forget log-likelihood.
    assert traj["forget_label_ll"].iloc[-1] < traj["forget_label_ll"].iloc[0]


def test_only_the_adapter_changes(setup):
    _, base, _, _ = setup
    before = {k: v.clone() for k, v in base.state_dict().items()}
    model, result = _run(setup, "ga")
    assert all(torch.equal(before[k], v) for k, v in base.state_dict().items())
    start, end = result.checkpoints[0].state, result.checkpoints[4].state
    lora_b = [k for k in start if "lora_B" in k]
    assert lora_b and all(torch.count_nonzero(start[k]) == 0 for k in lora_b)
    assert any(torch.count_nonzero(end[k]) > 0 for k in lora_b)


def test_same_seed_same_trajectory(setup):
    _, a = _run(setup, "npo")
    _, b = _run(setup, "npo")
    assert a.trajectory.drop(columns="diverged").equals(b.trajectory.drop(columns="diverged"))


def test_non_finite_loss_marks_diverged_and_stops(setup, monkeypatch):
    calls = {"n": 0}

    def exploding(batch, hparams):
        calls["n"] += 1
        scale = float("nan") if calls["n"] >= 2 else 1.0
        return batch.logp.mean() * scale

    monkeypatch.setitem(LOSSES, "ga", dataclasses.replace(LOSSES["ga"], loss=exploding))
    _, result = _run(setup, "ga", steps=6)
    traj = result.trajectory
    assert result.diverged
    assert traj["step"].tolist() == [0, 1, 2]  # stopped right after the NaN step
    assert traj["diverged"].tolist() == [False, False, True]
    assert 2 in result.checkpoints


def test_npo_reference_is_scored_once(setup, monkeypatch):
    calls = {"n": 0}
    real = scoring.score_batches

    def counting(model, batches):
        calls["n"] += 1
        return real(model, batches)

    monkeypatch.setattr(loop, "score_batches", counting)
    _run(setup, "npo", steps=4)
    assert calls["n"] == 1
    calls["n"] = 0
    _run(setup, "ga", steps=4)
    assert calls["n"] == 0


def test_empty_forget_set_fails_clearly(setup):
    tokenizer, base, _, probes = setup
    with pytest.raises(ValueError, match="forget set is empty"):
        unlearn(
            new_adapter(base, LORA, 0),
            [],
            probes,
            UnlearnConfig(method="ga"),
            tokenizer.pad_token_id,
        )
