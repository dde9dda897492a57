"""The training cache: fingerprints decide reuse, entries appear atomically."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import torch

from path_unlearning.data import synthetic
from path_unlearning.io.atomic import PARTIAL_SUFFIX
from path_unlearning.modeling import stages
from path_unlearning.modeling.cache import CHECKSUMS, LOG_FILE, SET_ASIDE, TrainingCache
from path_unlearning.modeling.lora import AdapterCheckpoint
from path_unlearning.modeling.train import TrainConfig

LORA = {"r": 2, "lora_alpha": 4, "lora_dropout": 0.0, "target_modules": ["q_proj"]}
CONFIG = TrainConfig(lr=1e-2, batch_size=8, epochs=1, seed=5)


@pytest.fixture(scope="module")
def records() -> pd.DataFrame:
    return pd.DataFrame(synthetic.refusals(30, 2)[:8])


@pytest.fixture
def counting_train(monkeypatch) -> list[str]:
    """Records each real training run of ``train_stage``/``pretrain_base_model``."""
    calls: list[str] = []
    real = stages.train

    def spy(*args, **kwargs):
        calls.append(kwargs.get("description", args[4] if len(args) > 4 else "train"))
        return real(*args, **kwargs)

    monkeypatch.setattr(stages, "train", spy)
    return calls


def _stage(base, tokenizer, data, cache, *, prefix="C", parent=None, config=CONFIG, lora=LORA):
    return stages.train_stage(base, parent, data, tokenizer, prefix, lora, config, cache)


def _no_temp_folders(root: Path) -> bool:
    return not [p for p in root.iterdir() if p.name.endswith(PARTIAL_SUFFIX)]


def _entries(root: Path) -> list[str]:
    """Cache entries and other visible folders (lock files start with a dot)."""
    return sorted(p.name for p in root.iterdir() if not p.name.startswith("."))


def test_second_call_reuses_the_cache_without_training(
    tiny_base_model, word_tokenizer, records, tmp_path, monkeypatch
):
    cache = TrainingCache(tmp_path / "cache")
    first, log = _stage(tiny_base_model, word_tokenizer, records, cache)
    key = first.metadata["fingerprint"]
    assert (tmp_path / "cache" / key / LOG_FILE).exists()
    assert _no_temp_folders(tmp_path / "cache")

    def refuse(*args, **kwargs):
        raise AssertionError("trained although the cache holds this stage")

    monkeypatch.setattr(stages, "train", refuse)
    second, cached_log = _stage(tiny_base_model, word_tokenizer, records, cache)
    assert second.metadata == first.metadata
    for name in first.state:
        assert torch.equal(first.state[name], second.state[name])
    pd.testing.assert_frame_equal(log, cached_log)


@pytest.mark.parametrize(
    "change",
    [
        {"config": TrainConfig(lr=2e-2, batch_size=8, epochs=1, seed=5)},
        {"config": TrainConfig(lr=1e-2, batch_size=8, epochs=2, seed=5)},
        {"config": TrainConfig(lr=1e-2, batch_size=8, epochs=1, seed=6)},
        {"lora": {**LORA, "r": 4}},
        {"prefix": "AC"},
    ],
    ids=["lr", "epochs", "seed", "lora", "prefix"],
)
def test_changed_inputs_change_the_fingerprint_and_retrain(  # noqa: PLR0917 - fixtures
    tiny_base_model, word_tokenizer, records, tmp_path, counting_train, change
):
    cache = TrainingCache(tmp_path)
    first, _ = _stage(tiny_base_model, word_tokenizer, records, cache)
    changed, _ = _stage(tiny_base_model, word_tokenizer, records, cache, **change)
    assert len(counting_train) == 2
    assert changed.metadata["fingerprint"] != first.metadata["fingerprint"]
    assert len([p for p in tmp_path.iterdir() if p.is_dir()]) == 2


def test_changed_stage_data_retrains(tiny_base_model, word_tokenizer, records, tmp_path,
                                     counting_train):  # fmt: skip
    cache = TrainingCache(tmp_path)
    first, _ = _stage(tiny_base_model, word_tokenizer, records, cache)
    edited = records.copy()
    edited.loc[0, "response"] = synthetic.REFUSAL_PARAPHRASES[0]
    second, _ = _stage(tiny_base_model, word_tokenizer, edited, cache)
    again, _ = _stage(tiny_base_model, word_tokenizer, edited, cache)
    assert len(counting_train) == 2  # the third call is a cache hit
    assert second.metadata["fingerprint"] != first.metadata["fingerprint"]
    assert again.metadata["fingerprint"] == second.metadata["fingerprint"]


def test_a_changed_parent_changes_the_child_fingerprint(
    tiny_base_model, word_tokenizer, records, tmp_path, counting_train
):
    cache = TrainingCache(tmp_path)
    parent_1, _ = _stage(tiny_base_model, word_tokenizer, records, cache, prefix="B")
    parent_2, _ = _stage(tiny_base_model, word_tokenizer, records, cache, prefix="B",
                         config=TrainConfig(lr=3e-2, batch_size=8, seed=5))  # fmt: skip
    child_1, _ = _stage(
        tiny_base_model, word_tokenizer, records, cache, prefix="BC", parent=parent_1
    )
    child_2, _ = _stage(
        tiny_base_model, word_tokenizer, records, cache, prefix="BC", parent=parent_2
    )
    assert len(counting_train) == 4
    assert child_1.metadata["parent"] == parent_1.metadata["fingerprint"]
    assert child_1.metadata["fingerprint"] != child_2.metadata["fingerprint"]


def test_pretraining_is_cached_by_architecture_config_corpus_and_vocab(
    word_tokenizer, tmp_path, counting_train
):
    corpus = pd.DataFrame(synthetic.generic_corpus(16, 3))
    architecture = {"hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1,
                    "num_attention_heads": 2, "num_key_value_heads": 2,
                    "max_position_embeddings": 96, "tie_word_embeddings": True}  # fmt: skip
    config = TrainConfig(lr=1e-2, batch_size=8, max_steps=2, seed=0)
    cache = TrainingCache(tmp_path)
    model, log = stages.pretrain_base_model(corpus, word_tokenizer, architecture, config, cache)
    again, cached_log = stages.pretrain_base_model(
        corpus, word_tokenizer, architecture, config, cache
    )
    assert counting_train == ["pretrain"]
    key = model.config.path_unlearning_fingerprint
    assert again.config.path_unlearning_fingerprint == key
    pd.testing.assert_frame_equal(log, cached_log)
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, again.state_dict()[name])
    stages.pretrain_base_model(corpus, word_tokenizer, {**architecture, "hidden_size": 32},
                               config, cache)  # fmt: skip
    stages.pretrain_base_model(corpus.iloc[:8], word_tokenizer, architecture, config, cache)
    assert len(counting_train) == 3
    assert len([p for p in tmp_path.iterdir() if p.is_dir()]) == 3


class _Saves:
    """A minimal object with ``save_pretrained``; optionally fails halfway."""

    def __init__(self, fail: bool = False):
        self.fail = fail

    def save_pretrained(self, directory: str) -> None:
        (Path(directory) / "weights.bin").write_text("half")
        if self.fail:
            raise RuntimeError("disk full")
        (Path(directory) / "config.json").write_text("{}")


LOG = pd.DataFrame({"step": [1], "loss": [1.0], "lr": [0.1], "tokens": [3]})


def test_store_is_atomic_and_a_failed_store_leaves_nothing(tmp_path):
    cache = TrainingCache(tmp_path)
    with pytest.raises(RuntimeError, match="disk full"):
        cache.store("k1", _Saves(fail=True), LOG)
    assert _entries(tmp_path) == []
    assert _no_temp_folders(tmp_path)
    assert cache.load("k1", lambda d: d) is None
    cache.store("k1", _Saves(), LOG)
    assert sorted(p.name for p in (tmp_path / "k1").iterdir()) == [
        CHECKSUMS, "config.json", LOG_FILE, "weights.bin"
    ]  # fmt: skip
    assert _entries(tmp_path) == ["k1"]
    folder, log = cache.load("k1", lambda d: d)
    assert folder == str(tmp_path / "k1")
    pd.testing.assert_frame_equal(log, LOG)


def test_storing_an_existing_key_again_keeps_the_first_entry(tmp_path):
    cache = TrainingCache(tmp_path)
    cache.store("k", _Saves(), LOG)
    mtime = (tmp_path / "k" / LOG_FILE).stat().st_mtime_ns
    cache.store("k", _Saves(), LOG.assign(loss=2.0))  # a racing run finished the same key
    assert (tmp_path / "k" / LOG_FILE).stat().st_mtime_ns == mtime
    assert _no_temp_folders(tmp_path)


def _garble(folder: Path) -> None:
    """Overwrite the middle of the weights, size unchanged (a safetensors header would stay)."""
    path = folder / "weights.bin"
    data = bytearray(path.read_bytes())
    data[1:3] = b"XY"
    path.write_bytes(bytes(data))


FAULTS = {
    "garbled": (_garble, "garbled or truncated (weights.bin"),
    "truncated": (lambda f: (f / "weights.bin").write_bytes(b"h"), "garbled or truncated"),
    "file-missing": (lambda f: (f / "config.json").unlink(), "truncated (config.json is missing)"),
    "emptied": (lambda f: [p.unlink() for p in f.iterdir()], "is empty"),
    "no-checksums": (lambda f: (f / CHECKSUMS).unlink(), f"without {CHECKSUMS}"),
    "checksums-garbled": (lambda f: (f / CHECKSUMS).write_text("{"), "incomplete"),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_a_faulty_entry_is_set_aside_reported_and_stored_again(tmp_path, caplog, fault):
    cache = TrainingCache(tmp_path)
    cache.store("k", _Saves(), LOG)
    damage, reported = FAULTS[fault]
    damage(tmp_path / "k")
    before = sorted(p.name for p in (tmp_path / "k").iterdir())
    with caplog.at_level("WARNING"):
        assert cache.load("k", lambda d: d) is None  # not a hit: the caller trains again
    lines = [r.getMessage() for r in caplog.records if "training cache entry k" in r.getMessage()]
    assert len(lines) == 1 and reported in lines[0] and "\n" not in lines[0]
    assert not (tmp_path / "k").exists()
    (moved,) = (tmp_path / SET_ASIDE).iterdir()  # kept, never deleted
    assert moved.name.startswith("k.") and sorted(p.name for p in moved.iterdir()) == before
    cache.store("k", _Saves(), LOG)  # the retrained result takes the key
    folder, log = cache.load("k", lambda d: d)
    pd.testing.assert_frame_equal(log, LOG)


def test_storing_over_a_faulty_entry_sets_it_aside(tmp_path):
    (tmp_path / "k").mkdir()  # an entry folder that exists but is empty
    cache = TrainingCache(tmp_path)
    cache.store("k", _Saves(), LOG)
    assert (tmp_path / "k" / CHECKSUMS).is_file()
    assert len(list((tmp_path / SET_ASIDE).iterdir())) == 1
    assert cache.load("k", lambda d: d) is not None


def test_a_garbled_adapter_in_the_cache_is_trained_again(
    tiny_base_model, word_tokenizer, records, tmp_path, counting_train
):
    cache = TrainingCache(tmp_path)
    first, _ = _stage(tiny_base_model, word_tokenizer, records, cache)
    weights = tmp_path / first.metadata["fingerprint"] / "adapter_model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-8:] = bytes(8)  # tensor bytes at the end; the header stays readable
    weights.write_bytes(bytes(data))
    again, _ = _stage(tiny_base_model, word_tokenizer, records, cache)
    assert len(counting_train) == 2  # trained again, not loaded
    for name in first.state:
        assert torch.equal(first.state[name], again.state[name])  # the same seed, same result
    assert len(list((tmp_path / SET_ASIDE).iterdir())) == 1


def test_disabled_cache_stores_and_finds_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cache = TrainingCache(None)
    cache.store("k", _Saves(), LOG)
    assert cache.load("k", lambda d: d) is None
    assert list(tmp_path.iterdir()) == []


def test_cached_adapter_loads_as_a_checkpoint(tiny_base_model, word_tokenizer, records, tmp_path):
    checkpoint, _ = _stage(tiny_base_model, word_tokenizer, records, TrainingCache(tmp_path))
    loaded = AdapterCheckpoint.from_pretrained(tmp_path / checkpoint.metadata["fingerprint"])
    assert loaded.metadata["prefix"] == "C"
