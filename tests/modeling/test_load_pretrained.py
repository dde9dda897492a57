"""The hub path (model.name_or_path), exercised on a local folder of the same format."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from path_unlearning.modeling.model import FINGERPRINT_KEY, load_base_model
from path_unlearning.pipelines.data_prep.nodes import build_tokenizer
from path_unlearning.pipelines.staged_finetune.nodes import prepare_base_model


@pytest.fixture
def local_hub_folder(tmp_path, word_tokenizer, tiny_base_model):
    folder = tmp_path / "tiny-llama"
    tiny_base_model.save_pretrained(folder)  # safetensors, like hub checkpoints
    word_tokenizer.save_pretrained(folder)
    return folder


def test_prepare_base_model_loads_a_pretrained_folder(local_hub_folder, tiny_base_model):
    empty = pd.DataFrame(columns=["prompt", "response"])
    model_params = {
        "name_or_path": str(local_hub_folder),
        "trust_remote_code": False,
        "dtype": "float32",
    }
    tokenizer = build_tokenizer(empty, empty, empty, empty, empty, model_params)
    assert tokenizer.chat_template  # the folder's own tokenizer and template
    model, log = prepare_base_model(tokenizer, empty, model_params, {}, {"precision": "no"}, 0)
    assert log.empty  # nothing pretrained
    assert getattr(model.config, FINGERPRINT_KEY)
    for name, weight in tiny_base_model.state_dict().items():
        assert torch.equal(weight, model.state_dict()[name])


def test_pickled_weights_are_refused(tmp_path, tiny_base_model):
    folder = tmp_path / "pickled"
    folder.mkdir()
    tiny_base_model.config.save_pretrained(folder)
    torch.save(tiny_base_model.state_dict(), folder / "pytorch_model.bin")
    with pytest.raises(OSError, match="safetensors"):
        load_base_model(str(folder))
