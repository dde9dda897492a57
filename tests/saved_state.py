"""Micro copies of the project for the hardening tests, one saved run shared per session.

``micro_root`` lays out a micro project (as the ``micro_project`` fixture does, but
anywhere and without changing directory); ``saved_project`` runs the whole default
pipeline in one once per test session (about 7 s) and hands out copies of it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from path_unlearning import live_runs
from tests.conftest import DATA_LAYERS, MICRO_PARAMETERS, PROJECT_ROOT, deep_merge

# One path, one method, two unlearning steps: every pipeline of the default run, fast.
SAVED_PARAMETERS: dict[str, Any] = {
    "paths": ["BCA"],
    "unlearn": {"methods": ["ga"], "steps": 2, "batch_size": 8, "checkpoint_every": 2,
                "eval_subset": 4, "eval_batch_size": 8, "lora": {"r": 4, "lora_alpha": 8}},
    "evaluate": {"batch_size": 16, "math_max_new_tokens": 4},
}  # fmt: skip
QUIET_ENV = {"DO_NOT_TRACK": "1", "KEDRO_DISABLE_TELEMETRY": "1"}
_SAVED: dict[str, Path] = {}


def micro_root(root: Path, overrides: dict[str, Any] | None = None) -> Path:
    """A micro copy of the project's conf/ and pyproject.toml at ``root``, empty data/."""
    from kedro.config import OmegaConfigLoader

    shutil.copytree(PROJECT_ROOT / "conf", root / "conf", ignore=shutil.ignore_patterns("local"))
    (root / "conf" / "local").mkdir()
    (root / "src").mkdir()  # bootstrap_project wants it; the package is installed
    shutil.copy(PROJECT_ROOT / "pyproject.toml", root / "pyproject.toml")
    for layer in DATA_LAYERS:
        (root / "data" / layer).mkdir(parents=True)
    params = OmegaConfigLoader(str(root / "conf"), base_env="base", default_run_env="local")[
        "parameters"
    ]
    wanted = deep_merge(deep_merge(MICRO_PARAMETERS, SAVED_PARAMETERS), overrides or {})
    local = {key: deep_merge(params.get(key) or {}, value) if isinstance(value, dict)
             else value for key, value in wanted.items()}  # fmt: skip
    (root / "conf" / "local" / "parameters.yml").write_text(yaml.safe_dump(local))
    return root


def run_session(root: Path, pipelines: list[str] | None = None, **params: Any) -> str:
    """Run pipelines of the project at ``root`` in this process; returns the run id."""
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    for name, value in QUIET_ENV.items():
        os.environ.setdefault(name, value)
    bootstrap_project(root)
    with (
        contextlib.chdir(root),
        KedroSession.create(project_path=root, runtime_params=params or None) as session,
    ):
        session.run(pipeline_names=pipelines)
        return session.session_id


def version_folders(data: Path) -> dict[str, list[str]]:
    """``{dataset folder relative to data: its version folders}`` for every versioned dataset."""
    found: dict[str, list[str]] = {}
    for folder in data.rglob("*"):
        if folder.is_dir() and folder.name.endswith("Z") and folder.name.count("T") == 1:
            found.setdefault(str(folder.parent.relative_to(data)), []).append(folder.name)
    return found


def saved_project(tmp_factory: Any) -> Path:
    """The session's micro project after one full default run (built on first use)."""
    if "saved" not in _SAVED:
        root = micro_root(tmp_factory.mktemp("saved") / "project")
        run_session(root)
        _SAVED["saved"] = root
    return _SAVED["saved"]


def copy_saved(tmp_factory: Any, dest: Path) -> Path:
    """A copy of the saved micro project at ``dest`` (file times kept)."""
    shutil.copytree(saved_project(tmp_factory), dest, symlinks=True)
    return dest


def snapshot(root: Path) -> dict[str, int]:
    """Every path under ``root/data`` with its modification time (ns); ``data`` itself too."""
    data = root / "data"
    if not data.exists():
        return {}
    if not data.is_dir():
        return {"data": data.stat().st_mtime_ns}
    # The folder of live-run markers changes with every run that starts (live_runs.py).
    live = data / live_runs.LIVE
    return {
        str(p.relative_to(root)): p.stat().st_mtime_ns
        for p in sorted(data.rglob("*"))
        if p != live and live not in p.parents
    }


def kedro(
    root: Path, *args: str, timeout: int = 300, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``kedro <args>`` in a subprocess, in ``root``, exactly as a user types it."""
    executable = Path(sys.executable).with_name("kedro")
    return subprocess.run(
        [str(executable), *args], cwd=root, capture_output=True, text=True, timeout=timeout,
        check=False, env={**os.environ, **QUIET_ENV, **(env or {})},
    )  # fmt: skip
