"""LoRA stage training: only adapters learn, prefixes are reproducible, checkpoints round-trip."""

from __future__ import annotations

import pandas as pd
import pytest
import torch
from peft import PeftModel

from path_unlearning.data import synthetic
from path_unlearning.data.chat import encode_records
from path_unlearning.modeling.cache import TrainingCache
from path_unlearning.modeling.lora import AdapterCheckpoint, new_adapter
from path_unlearning.modeling.stages import train_stage
from path_unlearning.modeling.train import TrainConfig, optimizer_steps, train
from path_unlearning.paths import prefix_seed
from path_unlearning.pipelines.staged_finetune.nodes import train_prefix

# lora_dropout > 0 so that reproducibility also covers the dropout masks
LORA = {"r": 4, "lora_alpha": 8, "lora_dropout": 0.1, "target_modules": ["q_proj", "v_proj"]}
FINETUNE = {"cache_dir": None, "precision": "no", "batch_size": 8, "lr": 1e-2, "lora": LORA}


@pytest.fixture(scope="module")
def stage_data() -> dict[str, pd.DataFrame]:
    """Small stage tables drawn from the generators the conftest tokenizer saw."""
    math, _ = synthetic.math_problems(40, 10, 1)
    return {
        "A": pd.DataFrame(synthetic.author_facts(3, 0)),
        "B": pd.DataFrame(math[:16]),
        "C": pd.DataFrame(synthetic.refusals(30, 2)[:16]),
    }


def _state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _assert_same_state(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for key, value in a.items():
        assert torch.equal(value, b[key]), key


def test_train_updates_only_the_lora_weights(tiny_base_model, word_tokenizer, stage_data):
    model = new_adapter(tiny_base_model, LORA, seed=1)
    before = _state(model)
    lora_b = [k for k in before if "lora_B" in k]
    assert lora_b and all(torch.count_nonzero(before[k]) == 0 for k in lora_b)
    records = stage_data["B"]
    examples = encode_records(word_tokenizer, records["prompt"], records["response"])
    config = TrainConfig(lr=1e-2, batch_size=8, epochs=1, seed=3)
    log = train(model, examples, config, word_tokenizer.pad_token_id)
    after = _state(model)
    assert len(log) == optimizer_steps(len(examples), config) == 2
    assert list(log.columns) == ["step", "loss", "lr", "tokens"]
    for key in before:
        changed = not torch.equal(before[key], after[key])
        assert changed == ("lora_" in key), key
    assert all(torch.count_nonzero(after[k]) > 0 for k in lora_b)


def test_train_stage_leaves_the_base_model_untouched(tiny_base_model, word_tokenizer, stage_data):
    base_before = _state(tiny_base_model)
    checkpoint, log = train_stage(
        tiny_base_model, None, stage_data["B"], word_tokenizer, "B", LORA,
        TrainConfig(lr=1e-2, batch_size=8, seed=prefix_seed(0, "B")), TrainingCache(None),
    )  # fmt: skip
    _assert_same_state(base_before, _state(tiny_base_model))
    assert not any("lora_" in key for key in base_before)  # no adapter injected into it
    assert all("lora_" in key for key in checkpoint.state)
    lora_b = [k for k in checkpoint.state if "lora_B" in k]
    assert lora_b and all(torch.count_nonzero(checkpoint.state[k]) > 0 for k in lora_b)
    assert set(log["prefix"]) == {"B"}
    assert checkpoint.metadata["prefix"] == "B"
    assert checkpoint.metadata["parent"] == "tiny-test-base"
    assert checkpoint.metadata["seed"] == prefix_seed(0, "B")


def _train_path(base, tokenizer, stage_data, path: str) -> dict[str, AdapterCheckpoint]:
    """Train every prefix of ``path`` through the node function, cache disabled."""
    trained: dict[str, AdapterCheckpoint] = {}
    parent = None
    for i in range(1, len(path) + 1):
        prefix = path[:i]
        parent, _ = train_prefix(base, tokenizer, stage_data[prefix[-1]], {"epochs": 1},
                                 FINETUNE, 0, prefix, parent)  # fmt: skip
        trained[prefix] = parent
    return trained


def test_a_prefix_trains_identically_whatever_ran_before(
    tiny_base_model, word_tokenizer, stage_data
):
    first = _train_path(tiny_base_model, word_tokenizer, stage_data, "BC")
    # Second time, another path's training and stray draws from the global RNG run
    # between B and BC (as when the runner interleaves branches of the trie). They must
    # not matter: the seed, data order and dropout masks come from the prefix alone.
    b_again = _train_path(tiny_base_model, word_tokenizer, stage_data, "B")["B"]
    _train_path(tiny_base_model, word_tokenizer, stage_data, "A")
    torch.rand(17)
    bc_again, _ = train_prefix(tiny_base_model, word_tokenizer, stage_data["C"], {"epochs": 1},
                               FINETUNE, 0, "BC", b_again)  # fmt: skip
    _assert_same_state(first["B"].state, b_again.state)
    _assert_same_state(first["BC"].state, bc_again.state)
    assert first["BC"].metadata == bc_again.metadata
    # and the two stages did move the adapter
    key = next(k for k in b_again.state if "lora_B" in k)
    assert not torch.equal(b_again.state[key], bc_again.state[key])


def test_another_seed_trains_the_prefix_differently(tiny_base_model, word_tokenizer, stage_data):
    """A replica's seed drives stage training (adapter init, data order, dropout)."""
    args = (tiny_base_model, word_tokenizer, stage_data["B"], {"epochs": 1}, FINETUNE)
    seed0, log0 = train_prefix(*args, 0, "B")
    seed0_again, log0_again = train_prefix(*args, 0, "B")
    seed1, log1 = train_prefix(*args, 1, "B")
    _assert_same_state(seed0.state, seed0_again.state)
    pd.testing.assert_frame_equal(log0, log0_again, check_exact=True)
    assert seed1.metadata["seed"] == prefix_seed(1, "B") != seed0.metadata["seed"]
    for key in seed0.state:  # every LoRA matrix differs, A from its init on
        assert not torch.equal(seed0.state[key], seed1.state[key]), key
    assert not log0["loss"].equals(log1["loss"])  # another data order


def test_adapter_checkpoint_round_trip(tiny_base_model, word_tokenizer, stage_data, tmp_path):
    checkpoint = _train_path(tiny_base_model, word_tokenizer, stage_data, "C")["C"]
    checkpoint.save_pretrained(tmp_path / "C")
    files = {p.name for p in (tmp_path / "C").iterdir()}
    assert files == {"adapter_config.json", "adapter_model.safetensors", "training_metadata.json"}
    loaded = AdapterCheckpoint.from_pretrained(tmp_path / "C")
    _assert_same_state(checkpoint.state, loaded.state)
    assert loaded.metadata == checkpoint.metadata
    assert loaded.config.r == LORA["r"]

    ids = torch.tensor([encode_records(word_tokenizer, ["Compute 3 + 4 ."], ["3 + 4 = 7 ."])[0][
        "input_ids"]])  # fmt: skip
    ours = checkpoint.attach(tiny_base_model).eval()
    # peft itself reads the folder: same adapter weights, same outputs
    import copy

    theirs = PeftModel.from_pretrained(copy.deepcopy(tiny_base_model), str(tmp_path / "C")).eval()
    with torch.no_grad():
        assert torch.allclose(ours(input_ids=ids).logits, theirs(input_ids=ids).logits)
        plain = tiny_base_model(input_ids=ids).logits
    assert not torch.allclose(plain, ours(input_ids=ids).logits)


def test_attach_rejects_an_adapter_for_another_model(tiny_base_model, word_tokenizer):
    checkpoint = AdapterCheckpoint.from_model(new_adapter(tiny_base_model, LORA, 0), {})
    checkpoint.state["base_model.model.model.layers.9.self_attn.q_proj.lora_A.weight"] = (
        torch.zeros(4, 32)
    )
    with pytest.raises(ValueError, match="does not fit"):
        checkpoint.attach(tiny_base_model)
