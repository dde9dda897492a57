"""PretrainedFolderDataset: versioned, atomic save_pretrained folders."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from kedro.io.core import DatasetError, Version, generate_timestamp

from path_unlearning.io import PretrainedFolderDataset


class Folder:
    """A stand-in for a model/tokenizer/adapter: ``save_pretrained`` + ``from_pretrained``."""

    def __init__(self, value: int, fail_halfway: bool = False):
        self.value = value
        self.fail_halfway = fail_halfway

    def save_pretrained(self, directory: str) -> None:
        (Path(directory) / "weights.json").write_text(json.dumps(self.value))
        if self.fail_halfway:
            raise RuntimeError("interrupted")
        (Path(directory) / "config.json").write_text("{}")

    @classmethod
    def from_pretrained(cls, directory: str, **kwargs) -> Folder:
        loaded = cls(json.loads((Path(directory) / "weights.json").read_text()))
        loaded.kwargs = kwargs
        return loaded


LOAD_CLASS = f"{__name__}.Folder"


def _dataset(root: Path, version: Version | None = Version(None, None), **kwargs):
    return PretrainedFolderDataset(
        filepath=str(root / "adapters" / "BC"), load_class=LOAD_CLASS, version=version, **kwargs
    )


def _fresh_version() -> str:
    time.sleep(0.002)  # timestamps have millisecond resolution
    return generate_timestamp()


def _snapshot(folder: Path) -> dict[str, tuple[int, bytes]]:
    return {str(p.relative_to(folder)): (p.stat().st_mtime_ns, p.read_bytes())
            for p in sorted(folder.rglob("*")) if p.is_file()}  # fmt: skip


def test_versioned_save_writes_version_folder_named_after_the_dataset(tmp_path):
    version = _fresh_version()
    _dataset(tmp_path, Version(None, version)).save(Folder(1))
    folder = tmp_path / "adapters" / "BC" / version / "BC"
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "weights.json"]


def test_latest_version_loads_by_default_and_older_ones_on_request(tmp_path):
    first, second = _fresh_version(), _fresh_version()
    _dataset(tmp_path, Version(None, first)).save(Folder(1))
    before = _snapshot(tmp_path / "adapters" / "BC" / first)
    _dataset(tmp_path, Version(None, second)).save(Folder(2))
    # the second save added a version and left the first untouched
    assert sorted(p.name for p in (tmp_path / "adapters" / "BC").iterdir()) == [first, second]
    assert _snapshot(tmp_path / "adapters" / "BC" / first) == before
    assert _dataset(tmp_path).load().value == 2
    assert _dataset(tmp_path, Version(first, None)).load().value == 1
    assert _dataset(tmp_path, Version(second, None)).load().value == 2
    assert _dataset(tmp_path).exists()


def test_loading_a_missing_version_fails(tmp_path):
    _dataset(tmp_path, Version(None, _fresh_version())).save(Folder(1))
    with pytest.raises(DatasetError):
        _dataset(tmp_path, Version("2000-01-01T00.00.00.000Z", None)).load()
    assert not _dataset(tmp_path, Version("2000-01-01T00.00.00.000Z", None)).exists()


def test_nothing_saved_yet(tmp_path):
    assert not _dataset(tmp_path).exists()
    with pytest.raises(DatasetError):
        _dataset(tmp_path).load()


def test_interrupted_save_leaves_no_version_behind(tmp_path):
    good = _fresh_version()
    _dataset(tmp_path, Version(None, good)).save(Folder(1))
    with pytest.raises(DatasetError):  # kedro wraps the error of save_pretrained
        _dataset(tmp_path, Version(None, _fresh_version())).save(Folder(2, fail_halfway=True))
    root = tmp_path / "adapters" / "BC"
    # no partial version and no temporary folder left (the failed version's empty
    # timestamp folder may remain; it holds no "BC" folder, so it is never loaded)
    assert [p.relative_to(root).as_posix() for p in root.glob("*/BC")] == [f"{good}/BC"]
    assert not [p for p in root.rglob("*") if p.name.startswith(".")]
    assert all(p.name == good or not any(p.iterdir()) for p in root.iterdir())
    assert _dataset(tmp_path).exists()
    assert _dataset(tmp_path).load().value == 1


def test_interrupted_first_save_leaves_nothing_loadable(tmp_path):
    with pytest.raises(DatasetError):
        _dataset(tmp_path, Version(None, _fresh_version())).save(Folder(2, fail_halfway=True))
    assert not _dataset(tmp_path).exists()
    with pytest.raises(DatasetError):
        _dataset(tmp_path).load()
    assert not list((tmp_path / "adapters" / "BC").rglob("*/BC"))


def test_unversioned_save_and_load(tmp_path):
    dataset = _dataset(tmp_path, version=None)
    dataset.save(Folder(7))
    assert (tmp_path / "adapters" / "BC" / "weights.json").exists()
    assert dataset.load().value == 7


def test_load_args_are_passed_and_model_classes_get_safetensors_only(tmp_path):
    dataset = _dataset(tmp_path, version=None, load_args={"revision": "x"})
    dataset.save(Folder(1))
    assert dataset.load().kwargs == {"revision": "x"}
    model = PretrainedFolderDataset(filepath=str(tmp_path / "m"),
                                    load_class="transformers.AutoModelForCausalLM")  # fmt: skip
    assert model._load_args == {"use_safetensors": True}
    assert "load_class" in model._describe()


def test_round_trip_of_a_real_tokenizer(tmp_path, word_tokenizer):
    dataset = PretrainedFolderDataset(
        filepath=str(tmp_path / "tokenizer"), load_class="transformers.AutoTokenizer",
        version=Version(None, _fresh_version()),
    )  # fmt: skip
    dataset.save(word_tokenizer)
    loaded = PretrainedFolderDataset(filepath=str(tmp_path / "tokenizer"),
                                     load_class="transformers.AutoTokenizer",
                                     version=Version(None, None)).load()  # fmt: skip
    assert loaded.get_vocab() == word_tokenizer.get_vocab()
    assert loaded.chat_template == word_tokenizer.chat_template
