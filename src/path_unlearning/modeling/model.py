"""Build or load the base causal language model."""

from __future__ import annotations

from typing import Any

import torch
from transformers import AutoModelForCausalLM, LlamaConfig, LlamaForCausalLM, PreTrainedModel

from path_unlearning.fingerprints import fingerprint

FINGERPRINT_KEY = "path_unlearning_fingerprint"


def configure_torch_for_cpu() -> None:
    """Settings that matter a lot for tiny models on a CPU.

    Flushing denormals made pretraining about 2.5x faster in our probe: small
    LoRA and Adam updates otherwise produce subnormal floats that take the slow
    path in every matmul.
    """
    torch.set_flush_denormal(True)


def build_tiny_llama(vocab_size: int, architecture: dict[str, Any], seed: int) -> LlamaForCausalLM:
    """A randomly initialised Llama-architecture model sized for a CPU.

    Eager attention: with a padding mask, SDPA on CPU was about 13x slower
    than eager for these tiny shapes.
    """
    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=vocab_size, attn_implementation="eager", **architecture)
    return LlamaForCausalLM(config)


def load_base_model(
    name_or_path: str, trust_remote_code: bool = False, dtype: str = "auto"
) -> PreTrainedModel:
    """Load a causal LM with ``from_pretrained`` from safetensors weights only."""
    model = AutoModelForCausalLM.from_pretrained(
        name_or_path,
        use_safetensors=True,
        trust_remote_code=trust_remote_code,
        dtype=dtype,
    )
    setattr(model.config, FINGERPRINT_KEY, fingerprint(name_or_path, model.config.to_dict()))
    return model


def model_fingerprint(model: PreTrainedModel) -> str:
    """The fingerprint recorded on a base model's config when it was made."""
    value = getattr(model.config, FINGERPRINT_KEY, None)
    if value is None:
        raise ValueError("base model carries no fingerprint; build it with this project")
    return value


def pad_batch(
    examples: list[dict[str, list[int]]], pad_id: int, padding_side: str = "right"
) -> dict[str, torch.Tensor]:
    """Pad tokenized examples to the longest one; labels are padded with -100."""
    width = max(len(e["input_ids"]) for e in examples)
    batch: dict[str, list[list[int]]] = {"input_ids": [], "attention_mask": [], "labels": []}
    for e in examples:
        n = len(e["input_ids"])
        pad = width - n
        labels = e.get("labels", e["input_ids"])
        rows = (e["input_ids"], [1] * n, labels)
        fills = (pad_id, 0, -100)
        for key, row, fill in zip(batch, rows, fills, strict=True):
            batch[key].append(row + [fill] * pad if padding_side == "right" else [fill] * pad + row)
    return {k: torch.tensor(v) for k, v in batch.items()}
