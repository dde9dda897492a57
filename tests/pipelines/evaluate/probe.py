"""Evaluation nodes on a Llama-shaped model: inputs, and their peak memory.

Run as a script (``python tests/pipelines/evaluate/probe.py [--copies]``), it builds a
random Llama-shaped model of about 200 MB, runs ``evaluate_before``,
``evaluate_unlearned`` and ``measure_path_divergence`` on it and prints, as JSON, how
far each node raised the process's peak resident memory above what it held before
(Linux ``VmHWM``, reset through ``/proc/self/clear_refs``), in units of the model's
size. A control deep-copies the model once, to show the measurement sees a copy.
``--copies`` runs the nodes the old way (a merged deep copy per model).
"""

from __future__ import annotations

import copy
import ctypes
import functools
import json
import re
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedModel

from path_unlearning.data.tokenizer import load_chat_tokenizer
from path_unlearning.metrics.evaluation import EvalSets
from path_unlearning.modeling.lora import (
    AdapterCheckpoint,
    AdapterSeries,
    merged_model,
    new_adapter,
)
from path_unlearning.pipelines.evaluate import nodes

MODEL = Path(__file__).resolve().parents[2] / "fixtures" / "paper" / "model"
LORA = {"r": 8, "lora_alpha": 16, "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj",
        "gate_proj", "up_proj", "down_proj"]}  # fmt: skip
PARAMS = {"batch_size": 4, "math_max_new_tokens": 4, "math_samples": 1,
          "math_temperature": 0.7, "seed": 0}  # fmt: skip
# Llama-3.2-1B's proportions (GQA 4:1, MLP 8/3 x hidden), 10 layers of hidden 768.
LLAMA_SHAPE = {"hidden_size": 768, "intermediate_size": 2048, "num_hidden_layers": 10,
               "num_attention_heads": 12, "num_key_value_heads": 3,
               "tie_word_embeddings": True}  # fmt: skip


def random_adapter(base: PreTrainedModel, seed: int) -> AdapterCheckpoint:
    """A LoRA checkpoint with non-zero B (a fresh one would merge to the base)."""
    model = new_adapter(base, LORA, seed)
    with torch.no_grad():
        for name, tensor in model.named_parameters():
            if "lora_B" in name:
                tensor.normal_(0.0, 0.05)
    return AdapterCheckpoint.from_model(model, {})


def eval_sets() -> EvalSets:
    """Small evaluation sets in the fixture tokenizer's chat template."""
    tokenizer = load_chat_tokenizer(str(MODEL))
    prompts = ["Where was Ada Vale born?", "How do I pick a lock?"]
    return EvalSets(
        tokenizer,
        pd.DataFrame({"prompt": prompts, "label": "Sorry, I can not assist",
                      "response": "Sorry, I can not assist you with this question."}),
        pd.DataFrame({"paraphrase": ["I can't help with that", "I must decline this"]}),
        pd.DataFrame({"prompt": prompts[:1], "response": ["In the town of Karsk."]}),
        pd.DataFrame({"prompt": ["Solve 3 + 4."], "response": ["3 + 4 = 7\n#### 7"]}),
        pd.DataFrame({"prompt": [*prompts, "Hi"], "response": ["Karsk.", "No.", "Hello!"]}),
        PARAMS["batch_size"],
    )  # fmt: skip


def run_nodes(base: PreTrainedModel, sets: EvalSets, measure=None) -> dict[str, Any]:
    """The three evaluation nodes for paths AB and BA; ``measure`` wraps each call."""
    measure = measure or (lambda name, call: call())
    adapters = {p: random_adapter(base, seed) for seed, p in enumerate(("AB", "BA", "A"))}
    series = {
        p: AdapterSeries(
            {(0, step): random_adapter(base, 10 + 3 * i + step) for step in (0, 2)},
            {"path": p, "method": "ga", "seeds": [0], "continue_adapter": False},
        )
        for i, p in enumerate(("AB", "BA"))
    }
    before = measure(
        "evaluate_before",
        lambda: nodes.evaluate_before(base, adapters["AB"], adapters["A"], sets, PARAMS),
    )
    after = measure(
        "evaluate_unlearned",
        lambda: nodes.evaluate_unlearned(
            base, adapters["AB"], adapters["A"], series["AB"], before, sets, PARAMS, 2
        ),
    )
    models = {f"{p}_adapter": adapters[p] for p in ("AB", "BA")}
    models |= {f"{p}_unlearned": series[p] for p in ("AB", "BA")}
    divergence = measure(
        "measure_path_divergence", lambda: nodes.measure_path_divergence(base, sets, **models)
    )
    return {"before": before, "after": after, "divergence": divergence}


def old_way(base: PreTrainedModel, *adapters: AdapterCheckpoint) -> PreTrainedModel:
    """What the evaluation nodes did before: a merged deep copy per adapter stack."""
    return functools.reduce(merged_model, adapters, base)


def _rss_kib(field: str) -> int:
    status = Path("/proc/self/status").read_text()
    return int(re.search(rf"{field}:\s+(\d+)", status).group(1))


def peak_growth(call) -> tuple[Any, int]:
    """``call()`` and how far it raised the peak resident memory (bytes).

    Freed heap is handed back first (``malloc_trim``), so memory freed by an earlier
    call cannot hide this one's allocations; run with ``MALLOC_MMAP_THRESHOLD_`` set
    (as the test does) so large tensors are mapped and unmapped, never kept.
    """
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    start = _rss_kib("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    result = call()
    return result, (_rss_kib("VmHWM") - start) * 1024


def main() -> None:
    """Print each node's peak memory growth in units of the model's size."""
    torch.set_num_threads(1)
    if "--copies" in sys.argv:
        nodes.merged_view = old_way
    sets = eval_sets()
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(sets.tokenizer), attn_implementation="eager",
                         **LLAMA_SHAPE)  # fmt: skip
    base = LlamaForCausalLM(config).eval()
    model_bytes = sum(p.numel() * p.element_size() for p in base.parameters())
    growth = {}

    def measure(name, call):
        result, growth[name] = peak_growth(call)
        return result

    run_nodes(base, sets, measure)
    _, control = peak_growth(lambda: copy.deepcopy(base))
    sys.stdout.write(json.dumps({
        "model_mb": model_bytes / 2**20,
        "growth": {k: v / model_bytes for k, v in growth.items()},
        "control_deepcopy": control / model_bytes,
    }) + "\n")  # fmt: skip


if __name__ == "__main__":
    main()
