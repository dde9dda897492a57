"""Evaluation keeps one base model in memory and scores exactly as merged copies did."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch
from transformers import AutoModelForCausalLM

from path_unlearning.modeling.lora import merged_view
from path_unlearning.pipelines.evaluate import nodes
from tests.pipelines.evaluate import probe

ROOT = Path(__file__).resolve().parents[3]


def test_views_score_bit_for_bit_like_merged_copies(monkeypatch) -> None:
    base = AutoModelForCausalLM.from_pretrained(probe.MODEL, use_safetensors=True).eval()
    snapshot = {name: t.clone() for name, t in base.state_dict().items()}
    sets = probe.eval_sets()
    torch.manual_seed(0)
    ours = probe.run_nodes(base, sets)
    monkeypatch.setattr(nodes, "merged_view", probe.old_way)
    torch.manual_seed(0)
    old = probe.run_nodes(base, sets)
    for name in ("before", "after", "divergence"):
        pd.testing.assert_frame_equal(ours[name], old[name], check_exact=True)
    assert (ours["divergence"]["re_distance"] > 0).all()  # the adapters do differ
    assert all(torch.equal(t, snapshot[n]) for n, t in base.state_dict().items())


def test_a_view_shares_the_base_tensors_and_refuses_a_foreign_adapter() -> None:
    base = AutoModelForCausalLM.from_pretrained(probe.MODEL, use_safetensors=True).eval()
    adapter = probe.random_adapter(base, 0)
    view = merged_view(base, adapter)
    assert {id(p) for p in view.parameters()} == {id(p) for p in base.parameters()}
    adapter.state = {k.replace("q_proj", "no_proj"): v for k, v in adapter.state.items()}
    with pytest.raises(ValueError, match="no_proj"):
        merged_view(base, adapter)


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux /proc")
def test_evaluation_nodes_peak_at_most_1_3_models() -> None:
    """Peak resident memory of each node over what it held before: <= 0.3 model."""
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536", "PYTHONPATH": str(ROOT)}
    run = subprocess.run(
        [sys.executable, str(Path(probe.__file__))],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=600, check=True,
    )  # fmt: skip
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["model_mb"] > 200  # Llama-shaped, a few hundred MB
    assert result["control_deepcopy"] > 0.9  # the measurement sees one copy
    for node, growth in result["growth"].items():
        assert growth <= 0.3, f"{node}: peak {1 + growth:.2f} x the model"
