"""Fresh project copies for the benchmarks that compare whole ``kedro run`` s.

A copy holds the configuration, the source and an empty ``data/`` (so an empty
training cache); ``run`` times ``kedro run`` in it with its own ``src`` first on
``PYTHONPATH``, so a copy of an older commit runs that commit's code.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
KEDRO = Path(sys.executable).parent / "kedro"
LAYERS = ("01_raw", "02_intermediate", "03_primary", "04_feature", "05_model_input",
          "06_models", "07_model_output", "08_reporting", "09_runs")  # fmt: skip
COPIED = ("conf", "src", "pyproject.toml")


def copy_tree(where: Path, ref: str | None = None) -> Path:
    """A project in ``where``: the working tree, or the commit ``ref`` (``git archive``)."""
    where.mkdir(parents=True)
    if ref is None:
        for name in COPIED:
            source = ROOT / name
            if source.is_dir():
                shutil.copytree(source, where / name,
                                ignore=shutil.ignore_patterns("local", "__pycache__"))  # fmt: skip
            else:
                shutil.copy(source, where / name)
    else:
        archive = subprocess.run(["git", "archive", ref, *COPIED], cwd=ROOT, check=True,
                                 capture_output=True).stdout  # fmt: skip
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(where, filter="data")
    (where / "conf" / "local").mkdir(exist_ok=True)
    for layer in LAYERS:
        (where / "data" / layer).mkdir(parents=True, exist_ok=True)
    return where


def run(project: Path, *args: str) -> float:
    """``kedro run`` in ``project`` with its own source; its wall time in seconds.

    The console output is kept in ``project/kedro_run.log``; a failure exits.
    """
    env = {**os.environ, "PYTHONPATH": str(project / "src"), "TQDM_DISABLE": "1",
           "DO_NOT_TRACK": "1", "KEDRO_DISABLE_TELEMETRY": "1"}  # fmt: skip
    start = time.perf_counter()
    proc = subprocess.run([str(KEDRO), "run", *args], cwd=project, env=env, check=False,
                          capture_output=True, text=True)  # fmt: skip
    seconds = time.perf_counter() - start
    (project / "kedro_run.log").write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        sys.exit(f"kedro run {' '.join(args)} in {project} failed:\n{proc.stderr[-3000:]}")
    return seconds


def latest_table(project: Path, relative: str) -> pd.DataFrame:
    """The newest version of a versioned CSV or parquet dataset of ``project``."""
    folder = project / relative
    newest = max(p for p in folder.iterdir() if p.is_dir())
    path = newest / folder.name
    return pd.read_csv(path) if path.suffix == ".csv" else pd.read_parquet(path)


def finish(where: Path, keep: bool) -> None:
    """Keep the project copies under ``where`` (and say where), or remove them."""
    if keep:
        print(f"projects kept in {where}")
    else:
        shutil.rmtree(where, ignore_errors=True)
