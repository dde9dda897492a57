"""Loading Hub datasets or local copies: the fixtures, and one-line errors."""

from __future__ import annotations

import os
from pathlib import Path

import datasets
import httpx2
import pytest
from datasets.exceptions import DatasetNotFoundError
from huggingface_hub.errors import GatedRepoError

from path_unlearning.data import hub
from path_unlearning.data.hub import (
    DataSourceError,
    HubAccessError,
    HubSource,
    load_table,
    require_columns,
)
from path_unlearning.errors import ConfigError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "paper" / "datasets"
GATED_ID = "sorry-bench/sorry-bench-202503"


@pytest.fixture(autouse=True)
def _offline(monkeypatch, tmp_path):
    """Never reach a network; keep the datasets cache out of the home directory."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "datasets_cache"))


def _gated_error(repo_id: str) -> DatasetNotFoundError:
    """What ``datasets.load_dataset`` raises for a gated repository without access."""
    request = httpx2.Request("GET", f"https://hub.invalid/api/datasets/{repo_id}")
    response = httpx2.Response(401, request=request)
    cause = GatedRepoError(
        f"401 Client Error: access to {repo_id} is restricted", response=response
    )
    error = DatasetNotFoundError(
        f"Dataset '{repo_id}' is a gated dataset on the Hub. "
        "You must be authenticated to access it."
    )
    error.__cause__ = cause
    return error


def test_local_folder_with_configs_reads_like_the_hub() -> None:
    full = load_table(HubSource(path=str(FIXTURES / "tofu"), name="full"))
    forget = load_table(HubSource(path=str(FIXTURES / "tofu"), name="forget01"))
    assert list(full.columns) == ["question", "answer"]
    assert (len(full), len(forget)) == (16, 2)


def _tofu_like(folder: Path, n_rows: int) -> Path:
    """A folder named ``tofu`` with a ``full`` config of ``n_rows`` rows."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "README.md").write_text((FIXTURES / "tofu" / "README.md").read_text())
    rows = [
        f'{{"question": "q{i} in {folder.parent.name}", "answer": "a{i}"}}' for i in range(n_rows)
    ]
    (folder / "full.json").write_text("\n".join(rows) + "\n")
    (folder / "forget01.json").write_text(rows[0] + "\n")
    return folder


def test_same_name_folders_each_read_their_own_rows(tmp_path) -> None:
    first = _tofu_like(tmp_path / "one" / "tofu", 3)
    second = _tofu_like(tmp_path / "two" / "tofu", 5)
    a = load_table(HubSource(path=str(first), name="full"))
    b = load_table(HubSource(path=str(second), name="full"))
    assert (len(a), len(b)) == (3, 5)
    assert a["question"].str.endswith("in one").all() and b["question"].str.endswith("in two").all()
    _tofu_like(first, 2)  # edited in place: read again, not served from the cache
    assert len(load_table(HubSource(path=str(first), name="full"))) == 2


def test_the_suite_never_uses_the_users_cache() -> None:
    root = hub.datasets_cache_root().resolve()
    assert Path("~/.cache/huggingface").expanduser().resolve() not in (root, *root.parents)
    assert str(datasets.config.HF_DATASETS_CACHE).startswith(os.environ["HF_HOME"])


def test_splits_of_a_local_dataset() -> None:
    train = load_table(HubSource(path=str(FIXTURES / "gsm8k"), name="main", split="train"))
    test = load_table(HubSource(path=str(FIXTURES / "gsm8k"), name="main", split="test"))
    assert (len(train), len(test)) == (10, 6)
    assert set(train["question"]).isdisjoint(test["question"])


def test_data_files_pick_one_file_of_the_repository() -> None:
    source = HubSource(path=str(FIXTURES / "instruct_skillmix_sdd"), data_files="data/*_4K.json")
    table = load_table(source)
    assert len(table) == 10
    assert "This row is in the 1K file only." not in set(table["instruction"])


def test_a_single_local_file() -> None:
    table = load_table(HubSource(path=str(FIXTURES / "sorry_bench" / "question.jsonl")))
    assert {"question_id", "category", "turns", "prompt_style"} <= set(table.columns)
    assert set(table["prompt_style"]) == {"base"}


def test_gated_dataset_is_one_clear_line(monkeypatch) -> None:
    def refuse(*args, **kwargs):
        raise _gated_error(GATED_ID)

    monkeypatch.setattr(datasets, "load_dataset", refuse)
    with pytest.raises(HubAccessError) as info:
        load_table(HubSource(path=GATED_ID))
    message = str(info.value)
    assert "\n" not in message
    assert GATED_ID in message and "gated" in message and "hf auth login" in message
    assert isinstance(info.value, ConfigError)  # the CLI prints it as one line


def test_gated_detection_follows_the_cause_chain() -> None:
    request = httpx2.Request("GET", "https://hub.invalid/x")
    cause = GatedRepoError("restricted", response=httpx2.Response(403, request=request))
    wrapped = OSError("could not load")
    wrapped.__cause__ = cause
    assert hub.is_gated(wrapped)
    assert not hub.is_gated(OSError("disk full"))


def test_unreachable_hub_when_offline(monkeypatch) -> None:
    def offline(*args, **kwargs):
        raise ConnectionError("Couldn't reach 'openai/gsm8k' on the Hub (OfflineModeIsEnabled)")

    monkeypatch.setattr(datasets, "load_dataset", offline)
    with pytest.raises(HubAccessError, match="not in the local cache"):
        load_table(HubSource(path="openai/gsm8k", name="main"))


def test_missing_local_file() -> None:
    with pytest.raises(DataSourceError, match="not found") as info:
        load_table(HubSource(path=str(FIXTURES / "tofu" / "no_such_file.json")))
    assert "\n" not in str(info.value)
    with pytest.raises(DataSourceError, match="not found"):
        load_table(HubSource(path="./no/such/folder"))


def test_missing_config_or_data_files_are_one_line() -> None:
    with pytest.raises(DataSourceError) as info:
        load_table(HubSource(path=str(FIXTURES / "tofu"), name="no_such_config"))
    assert "\n" not in str(info.value)
    with pytest.raises(DataSourceError):
        load_table(HubSource(path=str(FIXTURES / "instruct_skillmix_sdd"), data_files="x/*.json"))


def test_wrong_column_names_the_available_ones() -> None:
    source = HubSource(path=str(FIXTURES / "tofu"), name="full", columns={"prompt": "query"})
    table = load_table(source)
    with pytest.raises(DataSourceError) as info:
        require_columns(table, source, ("prompt",), "data_prep.hub.datasets.tofu")
    message = str(info.value)
    assert "'query'" in message and "question, answer" in message
    assert "data_prep.hub.datasets.tofu.columns.prompt" in message


def test_hub_ids_and_local_paths_are_told_apart() -> None:
    assert not hub._is_local("openai/gsm8k")
    assert not hub._is_local("locuslab/TOFU")
    assert hub._is_local("tests/fixtures/paper/datasets/tofu")
    assert hub._is_local("data/train.jsonl")
    assert hub._is_local("./gsm8k")
