"""Relearning after unlearning on a tiny model: the curve, its determinism, steps to recover."""

from __future__ import annotations

import copy
import math

import pandas as pd
import pytest
import torch

from path_unlearning.data import synthetic
from path_unlearning.data.chat import encode_records
from path_unlearning.metrics.eval_sets import encode_probes
from path_unlearning.modeling.lora import merged_view, new_adapter
from path_unlearning.modeling.scoring import mean_loglik
from path_unlearning.modeling.train import TrainConfig, train
from path_unlearning.unlearning import relearn
from path_unlearning.unlearning.loop import UnlearnConfig, unlearn
from path_unlearning.unlearning.relearn import (
    RelearnSettings,
    label_ll_tok,
    label_probe,
    recovered_fraction,
    relearn_curve,
    relearn_subset,
    steps_to_recover,
)

LORA = {"r": 4, "lora_alpha": 8, "target_modules": ["q_proj", "v_proj"]}
# A rate the tiny model moves at in a few steps (the default 3e-4 is the real stage rate).
FAST = RelearnSettings(steps=4, lr=1e-2, n_examples=8, batch_size=4, lora=LORA)


@pytest.fixture(scope="module")
def unlearned(word_tokenizer, tiny_base_model):
    """A tiny model taught the refusals, then unlearned with GA, as a merged view.

    Returns the tokenizer, the view, the forget records, the label probe and the
    label's per-token log-likelihood before unlearning (about -0.05 nats; GA
    takes it to about -1.1).
    """
    tokenizer = word_tokenizer
    records = pd.DataFrame(synthetic.refusals(24, 2))
    examples = encode_records(tokenizer, records["prompt"], records["response"])
    prompts = records["prompt"].head(8).to_list()
    probes = encode_probes(tokenizer, {"forget_label": (prompts, [synthetic.REFUSAL_LABEL] * 8)}, 8)

    # Every weight trained: a LoRA on the random tiny model barely learns the label.
    trained = copy.deepcopy(tiny_base_model).train()
    config = TrainConfig(lr=1e-2, batch_size=8, max_steps=40, scheduler="constant")
    train(trained, examples, config, tokenizer.pad_token_id, "stage C")
    before = mean_loglik(trained.eval(), probes["forget_label"])["per_token"]

    config = UnlearnConfig(
        method="ga", steps=4, batch_size=8, lr=3e-2, max_grad_norm=None, scheduler="constant"
    )
    result = unlearn(
        new_adapter(trained, LORA, 0), examples, probes, config, tokenizer.pad_token_id
    )
    view = merged_view(trained, result.checkpoints[config.steps])
    return tokenizer, view, trained, records, probes, before


def test_same_settings_same_curve(unlearned):
    tokenizer, view, _, records, probes, _ = unlearned
    a = relearn_curve(view, tokenizer, records, probes, FAST)
    b = relearn_curve(view, tokenizer, records, probes, FAST)
    pd.testing.assert_frame_equal(a, b)  # bit for bit
    assert a.columns.tolist() == ["step", "loss", "forget_label_ll", "forget_label_ll_tok"]
    assert a["step"].tolist() == [0, 1, 2, 3, 4]
    other = relearn_curve(view, tokenizer, records, probes, FAST.model_copy(update={"seed": 1}))
    assert not other["forget_label_ll_tok"].iloc[1:].equals(a["forget_label_ll_tok"].iloc[1:])


def test_relearning_raises_the_forgotten_label(unlearned):
    tokenizer, view, _, records, probes, before = unlearned
    start = mean_loglik(view, probes["forget_label"])
    assert start["per_token"] < before - 0.5  # the GA steps did forget the label

    curve = relearn_curve(view, tokenizer, records, probes, FAST)
    # Step 0 is the unlearned model itself: the fresh adapter adds nothing yet.
    assert curve["forget_label_ll_tok"].iloc[0] == pytest.approx(start["per_token"], abs=1e-5)
    assert curve["forget_label_ll"].iloc[0] == pytest.approx(start["sum"], abs=1e-4)
    assert curve["forget_label_ll_tok"].iloc[-1] > curve["forget_label_ll_tok"].iloc[0] + 0.5
    assert math.isnan(curve["loss"].iloc[0]) and curve["loss"].iloc[1:].notna().all()
    assert 0 < steps_to_recover(curve, before) <= FAST.steps


def test_the_input_model_is_left_unchanged(unlearned):
    tokenizer, view, trained, records, probes, _ = unlearned
    weights = {k: v.clone() for k, v in trained.state_dict().items()}
    flags = [p.requires_grad for p in view.parameters()]
    scored = mean_loglik(view, probes["forget_label"])
    relearn_curve(view, tokenizer, records, probes, FAST)
    assert all(torch.equal(weights[k], v) for k, v in trained.state_dict().items())
    assert [p.requires_grad for p in view.parameters()] == flags
    assert mean_loglik(view, probes["forget_label"]) == scored


def test_only_the_new_adapter_is_trained(unlearned, monkeypatch):
    tokenizer, view, _, records, probes, _ = unlearned
    made = []

    def recording(*args, **kwargs):
        model = new_adapter(*args, **kwargs)
        made.append((model, {k: v.clone() for k, v in model.state_dict().items()}))
        return model

    monkeypatch.setattr(relearn, "new_adapter", recording)
    relearn_curve(view, tokenizer, records, probes, FAST)
    (model, at_start), after = made[0], made[0][0].state_dict()
    trained = {k for k in at_start if not torch.equal(at_start[k], after[k])}
    assert trained and all(".lora_" in k for k in trained)
    assert any("lora_B" in k for k in trained)  # B starts at zero: the adapter did move
    assert all(".lora_" in n for n, p in model.named_parameters() if p.requires_grad)


def test_subset_is_fixed_by_the_seed(unlearned):
    records = unlearned[3]
    settings = RelearnSettings(n_examples=5)
    first = relearn_subset(records, settings)
    assert len(first) == 5 and first.equals(relearn_subset(records, settings))
    assert set(first["prompt"]) <= set(records["prompt"])
    assert not first.equals(records.head(5))  # shuffled, not the table's head
    assert not first.equals(relearn_subset(records, RelearnSettings(n_examples=5, seed=1)))
    assert len(relearn_subset(records, RelearnSettings(n_examples=100))) == len(records)


def test_bad_inputs(unlearned, tiny_base_model):
    tokenizer, view, _, records, probes, _ = unlearned
    with pytest.raises(ValueError, match="not a peft model"):
        relearn_curve(new_adapter(tiny_base_model, LORA, 0), tokenizer, records, probes, FAST)
    with pytest.raises(ValueError, match="empty"):
        relearn_curve(view, tokenizer, records.head(0), probes, FAST)
    with pytest.raises(ValueError, match="forget_label"):
        relearn_curve(view, tokenizer, records, {"facts": probes["forget_label"]}, FAST)


def test_settings_defaults_and_training_config():
    settings = RelearnSettings()
    assert (settings.steps, settings.lr, settings.n_examples) == (18, 1.0e-3, 16)
    assert (settings.batch_size, settings.seed, settings.optimizer) == (16, 0, "adamw")
    config = settings.train_config()
    assert config.max_grad_norm is None and config.weight_decay == 0.0
    assert (config.scheduler, config.warmup_frac) == ("constant", 0.0)
    assert (config.lr, config.batch_size, config.max_steps) == (1.0e-3, 16, 18)
    assert RelearnSettings(optimizer="sgd").train_config().optimizer == "sgd"
    with pytest.raises(ValueError):
        RelearnSettings(optimizer="lion")


def _curve(values: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"step": range(len(values)), "forget_label_ll_tok": values})


def test_steps_to_recover_on_hand_made_curves():
    # Unlearning took the label from -1 to -5 nats per token: half back is -3.
    assert steps_to_recover(_curve([-5.0, -4.0, -3.0, -2.0]), -1.0) == 2.0  # exactly at step 2
    assert steps_to_recover(_curve([-5.0, -4.0, -2.0]), -1.0) == 1.5  # halfway between 1 and 2
    assert steps_to_recover(_curve([-5.0, -4.0, -2.0]), -1.0, fraction=1.0) == math.inf
    assert steps_to_recover(_curve([-5.0, -4.5, -4.0]), -1.0) == math.inf  # never within the steps
    assert math.isnan(steps_to_recover(_curve([-5.0, -4.0]), -5.0))  # nothing was forgotten
    assert math.isnan(steps_to_recover(_curve([-5.0, -4.0]), -6.0))
    # Row order does not matter; a diverged (NaN) step never counts as recovered.
    assert steps_to_recover(_curve([-5.0, -4.0, -2.0]).iloc[::-1], -1.0) == 1.5
    assert steps_to_recover(_curve([-5.0, math.nan, -2.0]), -1.0) == 2.0
    with pytest.raises(ValueError, match="fraction"):
        steps_to_recover(_curve([-5.0, -4.0]), -1.0, fraction=0.0)


def test_recovered_fraction_on_hand_made_curves():
    # From -5 after unlearning toward -1 before it: -2 at the last step is 3/4 back.
    assert recovered_fraction(_curve([-5.0, -4.0, -2.0]), -1.0) == 0.75
    assert recovered_fraction(_curve([-5.0, -6.0]), -1.0) == -0.25  # relearning made it worse
    assert math.isnan(recovered_fraction(_curve([-5.0, -4.0]), -5.0))  # nothing was forgotten


def test_label_probe_scores_the_label_on_every_forget_prompt(unlearned):
    tokenizer, view, _, records, probes, _ = unlearned
    forget_eval = pd.DataFrame(
        {"prompt": records["prompt"].head(8), "label": synthetic.REFUSAL_LABEL}
    )
    mine = label_probe(tokenizer, forget_eval, batch_size=8)
    assert label_ll_tok(view, mine) == mean_loglik(view, probes["forget_label"])["per_token"]
