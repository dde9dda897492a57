"""LoRA adapters with peft, and a plain-data checkpoint of them.

A path's checkpoint after stages B, C is the LoRA adapter that was trained
through B and then continued through C; the base model is shared by all paths.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from peft import LoraConfig, PeftModel, get_peft_model
from peft.utils import get_peft_model_state_dict, set_peft_model_state_dict
from safetensors.torch import load_file, save_file
from transformers import PreTrainedModel

ADAPTER_WEIGHTS = "adapter_model.safetensors"
METADATA_FILE = "training_metadata.json"


def lora_config(params: dict[str, Any]) -> LoraConfig:
    """A peft ``LoraConfig`` for causal LM from the ``lora:`` parameters."""
    return LoraConfig(task_type="CAUSAL_LM", bias="none", **params)


@dataclass
class AdapterCheckpoint:
    """A LoRA adapter as data: peft config, weights and training metadata.

    Saved in peft's own folder layout (``adapter_config.json`` +
    ``adapter_model.safetensors``), so ``PeftModel.from_pretrained`` reads it too.
    """

    config: LoraConfig
    state: dict[str, torch.Tensor]
    metadata: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_model(cls, model: PeftModel, metadata: dict[str, Any]) -> AdapterCheckpoint:
        """Snapshot the active adapter of a peft model (weights copied to CPU)."""
        state = {k: v.detach().cpu().clone() for k, v in get_peft_model_state_dict(model).items()}
        return cls(copy.deepcopy(model.peft_config["default"]), state, dict(metadata))

    def attach(self, base_model: PreTrainedModel) -> PeftModel:
        """A trainable peft model: a copy of ``base_model`` with this adapter loaded."""
        model = get_peft_model(copy.deepcopy(base_model), copy.deepcopy(self.config))
        result = set_peft_model_state_dict(model, self.state)
        if result.unexpected_keys:
            raise ValueError(f"adapter does not fit the base model: {result.unexpected_keys[:3]}")
        return model

    def save_pretrained(self, directory: str | Path) -> None:
        """Write peft's folder layout plus ``training_metadata.json``."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.config.save_pretrained(str(directory))
        save_file(
            {k: v.contiguous() for k, v in self.state.items()},
            str(directory / ADAPTER_WEIGHTS),
            metadata={"format": "pt"},
        )
        (directory / METADATA_FILE).write_text(json.dumps(self.metadata, indent=2, sort_keys=True))

    @classmethod
    def from_pretrained(cls, directory: str | Path) -> AdapterCheckpoint:
        """Read a folder written by ``save_pretrained`` (safetensors only)."""
        directory = Path(directory)
        config = LoraConfig.from_pretrained(str(directory))
        state = load_file(str(directory / ADAPTER_WEIGHTS))
        meta_path = directory / METADATA_FILE
        metadata = json.loads(meta_path.read_text()) if meta_path.exists() else {}
        return cls(config, state, metadata)


def new_adapter(base_model: PreTrainedModel, params: dict[str, Any], seed: int) -> PeftModel:
    """A fresh LoRA adapter on a copy of the base model; init seeded for reproducibility."""
    torch.manual_seed(seed)
    return get_peft_model(copy.deepcopy(base_model), lora_config(params))


SERIES_INDEX = "series_index.json"


@dataclass
class AdapterSeries:
    """Adapters saved along an unlearning run: ``{(seed, step): AdapterCheckpoint}``.

    On disk: ``seed<s>/step<t>/`` per adapter plus ``series_index.json``.
    """

    adapters: dict[tuple[int, int], AdapterCheckpoint]
    metadata: dict[str, Any] = field(default_factory=dict)

    def save_pretrained(self, directory: str | Path) -> None:
        """Write every adapter in peft's layout, then the index."""
        directory = Path(directory)
        for (seed, step), adapter in self.adapters.items():
            adapter.save_pretrained(directory / f"seed{seed}" / f"step{step:05d}")
        index = {"adapters": [[s, t] for s, t in sorted(self.adapters)], "metadata": self.metadata}
        (directory / SERIES_INDEX).write_text(json.dumps(index, indent=2, sort_keys=True))

    @classmethod
    def from_pretrained(cls, directory: str | Path) -> AdapterSeries:
        """Read a folder written by ``save_pretrained``."""
        directory = Path(directory)
        index = json.loads((directory / SERIES_INDEX).read_text())
        adapters = {
            (s, t): AdapterCheckpoint.from_pretrained(directory / f"seed{s}" / f"step{t:05d}")
            for s, t in index["adapters"]
        }
        return cls(adapters, index["metadata"])

    def steps(self, seed: int) -> list[int]:
        """Saved steps of one seed, ascending."""
        return sorted(t for s, t in self.adapters if s == seed)


def merged_model(base_model: PreTrainedModel, adapter: AdapterCheckpoint) -> PreTrainedModel:
    """A plain model: a copy of the base with the adapter merged into its weights."""
    return adapter.attach(base_model).merge_and_unload()
