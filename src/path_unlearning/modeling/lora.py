"""LoRA adapters with peft, and a plain-data checkpoint of them.

A path's checkpoint after stages B, C is the LoRA adapter that was trained
through B and then continued through C; the base model is shared by all paths.
For evaluation, :func:`merged_view` gives the base with adapters merged in without
copying it: every view shares the base's tensors.
"""

from __future__ import annotations

import copy
import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from peft import LoraConfig, PeftModel, get_peft_model
from peft.utils import get_peft_model_state_dict, set_peft_model_state_dict
from safetensors.torch import load_file, save_file
from torch.nn.utils import parametrize
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


class _MergedWeight(torch.nn.Module):
    """A linear layer's weight with LoRA deltas added in turn, at every access.

    ``W + (B @ A) * scaling`` (transposed for ``fan_in_fan_out``), with the same
    operations, in the same order, as peft's ``merge_and_unload``, so a view's
    outputs equal a merged copy's bit for bit; the merged weight exists only while
    its layer runs.
    """

    def __init__(self, deltas: list[tuple[torch.Tensor, torch.Tensor, float, bool]]):
        super().__init__()
        self.deltas = deltas  # a plain list: not parameters of the view

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        if self.deltas[0][0].device != weight.device:  # moved with the base: follow once
            self.deltas[:] = [(a.to(weight.device), b.to(weight.device), s, t)
                              for a, b, s, t in self.deltas]  # fmt: skip
        for lora_a, lora_b, scaling, fan_in_fan_out in self.deltas:
            merged = lora_b @ lora_a
            merged = merged.T if fan_in_fan_out else merged
            # In place, one temporary per layer; IEEE addition commutes, so
            # delta + W equals peft's W += delta bit for bit.
            merged.mul_(scaling).add_(weight)
            weight = merged.to(weight.dtype)
        return weight


def _lora_factors(
    adapter: AdapterCheckpoint,
) -> dict[str, tuple[torch.Tensor, torch.Tensor, float, bool]]:
    """Module name -> ``(A, B, scaling, fan_in_fan_out)`` of one adapter."""
    config = adapter.config
    if config.use_dora or config.rank_pattern or config.alpha_pattern:
        raise ValueError("merged_view supports plain LoRA (no DoRA, rank or alpha patterns)")
    scaling = config.lora_alpha / (config.r**0.5 if config.use_rslora else config.r)
    factors: dict[str, dict[str, torch.Tensor]] = {}
    for key, tensor in adapter.state.items():
        module, _, kind = key.removeprefix("base_model.model.").rpartition(".lora_")
        factors.setdefault(module, {})[kind.split(".")[0]] = tensor
    return {
        name: (parts["A"], parts["B"], scaling, bool(config.fan_in_fan_out))
        for name, parts in factors.items()
    }


def merged_view(base_model: PreTrainedModel, *adapters: AdapterCheckpoint) -> PreTrainedModel:
    """The base model with ``adapters`` merged in, in order, sharing the base's tensors.

    The view is a model of its own (``generate``, ``get_decoder``, ``config`` work)
    whose parameters and buffers are the base's objects, so it costs the adapters'
    factors, not a copy of the base: one base in memory serves every checkpoint of
    a path. Its outputs equal those of ``merged_model`` (stacked for several
    adapters) bit for bit. For evaluation only: a view is not trainable.

    Args:
        base_model: The shared base model (left unchanged).
        *adapters: LoRA checkpoints; a later one sits on the earlier ones merged,
            e.g. a path's stage adapter, then an unlearning adapter trained on it.

    Raises:
        ValueError: An adapter names a module the base model does not have.
    """
    shared = itertools.chain(base_model.parameters(), base_model.buffers())
    view = copy.deepcopy(base_model, memo={id(t): t for t in shared})
    stacked: dict[str, list[tuple[torch.Tensor, torch.Tensor, float, bool]]] = {}
    for adapter in adapters:
        for name, factors in _lora_factors(adapter).items():
            stacked.setdefault(name, []).append(factors)
    for name, deltas in stacked.items():
        try:
            module = view.get_submodule(name)
        except AttributeError as error:
            raise ValueError(f"adapter does not fit the base model: no module {name!r}") from error
        parametrize.register_parametrization(module, "weight", _MergedWeight(deltas), unsafe=True)
    return view.eval()


def unlearned_view(
    base_model: PreTrainedModel,
    path_adapter: AdapterCheckpoint,
    series: AdapterSeries,
    seed: int,
    step: int | None = None,
) -> PreTrainedModel:
    """The unlearned model of ``series`` at ``step`` (default: its last), as a ``merged_view``.

    A continued stage adapter already contains the path; a fresh one sits on the
    merged path model.
    """
    step = series.steps(seed)[-1] if step is None else step
    adapter = series.adapters[(seed, step)]
    if series.metadata.get("continue_adapter"):
        return merged_view(base_model, adapter)
    return merged_view(base_model, path_adapter, adapter)
