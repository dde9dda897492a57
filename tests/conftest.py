"""Shared fixtures: a tiny tokenizer and model, and a micro copy of the Kedro project."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DATA_LAYERS = (
    "01_raw", "02_intermediate", "03_primary", "04_feature",
    "05_model_input", "06_models", "07_model_output", "08_reporting", "09_runs/live",
)  # fmt: skip

# A two-layer, hidden-32 Llama: a training step takes milliseconds on a CPU.
TINY_ARCHITECTURE = {
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "num_key_value_heads": 2,
    "max_position_embeddings": 96,
    "tie_word_embeddings": True,
}

# Parameter overrides that make every pipeline run in seconds. conf/local replaces
# whole top-level keys, so the micro_project fixture merges these into conf/base.
MICRO_PARAMETERS: dict[str, Any] = {
    "seeds": [0],  # one replicate (the default runs three)
    "paths": ["ABC", "BCA"],
    "stages": {"A": {"epochs": 1}, "B": {"epochs": 1}, "C": {"epochs": 1}},
    "data_prep": {
        "n_authors": 3, "n_math_train": 40, "n_math_test": 10, "n_refusals": 30,
        "n_pretrain": 60, "n_generic_test": 12, "n_facts_eval": 8, "n_forget_eval": 8,
        "n_benchmark": 4,
    },
    "model": {"architecture": TINY_ARCHITECTURE},
    "pretrain": {"max_steps": 20, "batch_size": 16},
    "finetune": {"batch_size": 16, "lora": {"r": 4, "lora_alpha": 8}},
    "benchmark": {
        "batch_size": 16, "max_new_tokens": 6,
        "relearn": {"steps": 3, "n_examples": 8, "batch_size": 4, "lora": {"r": 4, "lora_alpha": 8}},
    },
}  # fmt: skip


def pytest_configure(config: pytest.Config) -> None:
    """Point every Hugging Face cache at a temporary folder for the whole session.

    Set before any test module imports ``datasets`` (which freezes its cache path at
    import), so the suite never reads or fills the user's ``~/.cache/huggingface``.
    """
    import os
    import tempfile

    home = Path(tempfile.mkdtemp(prefix="path_unlearning_hf_"))
    config.stash[_HF_HOME_KEY] = home
    os.environ["HF_HOME"] = str(home)
    os.environ["HF_DATASETS_CACHE"] = str(home / "datasets")
    os.environ["HF_HUB_CACHE"] = str(home / "hub")


def pytest_unconfigure(config: pytest.Config) -> None:
    """Remove the session's temporary Hugging Face home."""
    home = config.stash.get(_HF_HOME_KEY, None)
    if home is not None:
        shutil.rmtree(home, ignore_errors=True)


_HF_HOME_KEY = pytest.StashKey[Path]()


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``base`` updated recursively with ``override`` (new dicts, inputs untouched)."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


@pytest.fixture(autouse=True)
def _restore_global_state():
    """Don't leak process state between tests.

    A Kedro run flushes denormal floats to zero (``configure_torch_for_cpu``),
    which breaks code that needs subnormals, e.g. hypothesis' float strategies;
    a session hands its configuration to the registry through the environment.
    """
    import os

    import torch

    from path_unlearning import kedro_adapter

    names = (
        kedro_adapter.ENV_VAR,
        kedro_adapter.RUNTIME_PARAMS_VAR,
        kedro_adapter.CONF_SOURCE_VAR,
        kedro_adapter.PROJECT_VAR,
        kedro_adapter.PUBLISHER_VAR,
    )
    saved = {name: os.environ.get(name) for name in names}
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    torch.set_flush_denormal(False)


@pytest.fixture(scope="session")
def word_tokenizer():
    """A word-level tokenizer trained on a little of every synthetic dataset."""
    from path_unlearning.data import synthetic
    from path_unlearning.data.tokenizer import train_word_tokenizer

    records = (
        synthetic.generic_corpus(60, 3)
        + synthetic.author_facts(3, 0)
        + synthetic.math_problems(40, 10, 1)[0]
        + synthetic.refusals(30, 2)
    )
    texts = [synthetic.REFUSAL_LABEL, *synthetic.REFUSAL_PARAPHRASES]
    texts += [r["prompt"] for r in records] + [r["response"] for r in records]
    return train_word_tokenizer(texts)


@pytest.fixture(scope="session")
def tiny_base_model(word_tokenizer):
    """A randomly initialised tiny Llama carrying a base-model fingerprint."""
    from path_unlearning.modeling.model import FINGERPRINT_KEY, build_tiny_llama

    model = build_tiny_llama(len(word_tokenizer), TINY_ARCHITECTURE, seed=0)
    setattr(model.config, FINGERPRINT_KEY, "tiny-test-base")
    return model.eval()


@pytest.fixture
def micro_project(tmp_path: Path, monkeypatch) -> Callable[..., Path]:
    """Factory: a copy of the project's conf/ and pyproject.toml with micro parameters.

    Call it (optionally with more parameter overrides) to get the project root; the
    working directory is changed to it, because relative parameter paths (the
    training cache) resolve against the working directory.
    """
    from kedro.config import OmegaConfigLoader

    monkeypatch.setenv("DO_NOT_TRACK", "1")  # kedro-telemetry: no consent prompt, no network
    monkeypatch.setenv("KEDRO_DISABLE_TELEMETRY", "1")

    def make(overrides: dict[str, Any] | None = None) -> Path:
        root = tmp_path / "project"
        shutil.copytree(PROJECT_ROOT / "conf", root / "conf",
                        ignore=shutil.ignore_patterns("local"))  # fmt: skip
        (root / "conf" / "local").mkdir()
        (root / "src").mkdir()  # bootstrap_project wants it; the package is installed
        shutil.copy(PROJECT_ROOT / "pyproject.toml", root / "pyproject.toml")
        for layer in DATA_LAYERS:
            (root / "data" / layer).mkdir(parents=True)
        base = OmegaConfigLoader(str(root / "conf"), base_env="base", default_run_env="local")
        params = base["parameters"]
        wanted = deep_merge(MICRO_PARAMETERS, overrides or {})
        local = {key: deep_merge(params.get(key) or {}, value) if isinstance(value, dict)
                 else value for key, value in wanted.items()}  # fmt: skip
        (root / "conf" / "local" / "parameters.yml").write_text(yaml.safe_dump(local))
        monkeypatch.chdir(root)
        return root

    return make
