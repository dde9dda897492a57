"""data_prep + staged_finetune through real Kedro sessions on a micro copy of the project."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from kedro.framework.project import pipelines
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from path_unlearning.modeling import stages
from path_unlearning.modeling.lora import AdapterCheckpoint

PIPELINES = ["data_prep", "staged_finetune"]


def _run(root: Path, runtime_params: dict | None = None) -> str:
    """One session; returns its id, which is the save version of every dataset."""
    with KedroSession.create(project_path=root, runtime_params=runtime_params) as session:
        session.run(pipeline_names=PIPELINES)
        return session.session_id


def _adapters(root: Path) -> Path:
    return root / "data" / "06_models" / "adapters" / "s0"


def _versions(root: Path, prefix: str) -> list[str]:
    return sorted(p.name for p in (_adapters(root) / prefix).iterdir())


def _snapshot(folder: Path) -> dict[str, tuple[int, bytes]]:
    return {str(p.relative_to(folder)): (p.stat().st_mtime_ns, p.read_bytes())
            for p in sorted(folder.rglob("*")) if p.is_file()}  # fmt: skip


def _trained_namespaces() -> set[str]:
    """Namespaces of the stage trainings (the replicate's own ``s0`` pretrains its base)."""
    return {n.namespace for n in pipelines["staged_finetune"].nodes if n.namespace} - {"s0"}


@pytest.mark.slow
def test_session_trains_the_trie_versions_checkpoints_and_resumes(micro_project, monkeypatch):
    root = micro_project()
    bootstrap_project(root)  # once: later sessions in this process reuse Kedro's registry
    trained: list[str] = []
    real_train = stages.train

    def spy(*args, **kwargs):
        trained.append(kwargs.get("description") or args[4])
        return real_train(*args, **kwargs)

    monkeypatch.setattr(stages, "train", spy)

    # 1. --params=path:BCA trains B, BC, BCA and the retrain reference BA, nothing else
    first = _run(root, {"path": "BCA"})
    assert sorted(trained) == ["pretrain", "stage B", "stage BA", "stage BC", "stage BCA"]
    assert _trained_namespaces() == {"s0.B", "s0.BC", "s0.BCA", "s0.BA"}
    assert sorted(p.name for p in _adapters(root).iterdir()) == ["B", "BA", "BC", "BCA"]
    for prefix in ("B", "BC", "BCA", "BA"):
        assert _versions(root, prefix) == [first]
        folder = _adapters(root) / prefix / first / prefix
        assert {p.name for p in folder.iterdir()} == {
            "adapter_config.json", "adapter_model.safetensors", "training_metadata.json"
        }  # fmt: skip
        meta = AdapterCheckpoint.from_pretrained(folder).metadata
        assert meta["prefix"] == prefix
    bca = AdapterCheckpoint.from_pretrained(_adapters(root) / "BCA" / first / "BCA")
    bc = AdapterCheckpoint.from_pretrained(_adapters(root) / "BC" / first / "BC")
    assert bca.metadata["parent"] == bc.metadata["fingerprint"]
    assert not list(root.rglob("*.pickle")) and not list(root.rglob("*.pkl"))
    snapshot = _snapshot(root / "data")

    # 2. the same run again: new versions next to the old, every training from the cache
    def refuse(*args, **kwargs):
        raise AssertionError("trained although the training cache holds the result")

    monkeypatch.setattr(stages, "train", refuse)
    second = _run(root, {"path": "BCA"})
    assert second != first
    for prefix in ("B", "BC", "BCA", "BA"):
        assert _versions(root, prefix) == sorted([first, second])
        old = AdapterCheckpoint.from_pretrained(_adapters(root) / prefix / first / prefix)
        new = AdapterCheckpoint.from_pretrained(_adapters(root) / prefix / second / prefix)
        assert new.metadata == old.metadata
        assert all(torch.equal(old.state[k], new.state[k]) for k in old.state)
    after = _snapshot(root / "data")
    index = "09_runs/run_index.jsonl"  # the run index only grows: the old records stay first
    assert after[index][1].startswith(snapshot.pop(index)[1])
    assert {k: v for k, v in after.items() if k in snapshot} == snapshot  # old files untouched
    assert any(second in k for k in after)

    # 3. without a path, in the same process: the configured plan [ABC, BCA] (the
    # pipelines are built afresh for it) trains only the prefixes not yet in the cache
    monkeypatch.setattr(stages, "train", spy)
    trained.clear()
    third = _run(root)
    assert sorted(trained) == ["stage A", "stage AB", "stage ABC"]
    assert _trained_namespaces() == {f"s0.{p}" for p in ("A", "AB", "ABC", "B", "BC", "BCA", "BA")}
    assert _versions(root, "ABC") == [third]
    assert _versions(root, "BCA") == sorted([first, second, third])
