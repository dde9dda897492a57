"""Benchmark: the default ``kedro run`` with parallel workers against the sequential run.

Builds two throw-away copies of the project (configuration only, empty ``data/``,
an empty training cache each), runs the same command in both, one after the
other on the same machine:

    kedro run                                                     (SequentialRunner)
    kedro run --runner=path_unlearning.runner.WorkerPoolRunner    (one worker per core)

and prints both wall times, their ratio (goal <= 0.55 on 2 cores), whether
``evaluation_scores`` is bitwise equal, and how many version folders each dataset
got (goal: exactly one).

A third fresh copy times the serial head of the run alone (``--to-nodes=
prepare_base_model``: data preparation and pretraining the base model, on which
every later node depends), which gives Amdahl's bound on the ratio:
``(serial + (sequential - serial) / workers) / sequential``. A one-thread and a
two-thread training step are not bitwise equal on CPU, so a serial node cannot
borrow the idle core without changing the tables. Extra arguments go to both commands, e.g.
``--pipelines=data_prep,staged_finetune`` or ``--params=path:BCA``.

Usage::

    .venv/bin/python benchmarks/parallel.py [--keep] [kedro run args...]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
KEDRO = Path(sys.executable).parent / "kedro"
LAYERS = ("01_raw", "02_intermediate", "03_primary", "04_feature", "05_model_input",
          "06_models", "07_model_output", "08_reporting")  # fmt: skip
SCORES = "data/07_model_output/evaluation_scores.parquet"


def make_project(where: Path) -> Path:
    """A copy of the project's configuration with an empty data folder."""
    project = where / "project"
    shutil.copytree(ROOT / "conf", project / "conf", ignore=shutil.ignore_patterns("local"))
    (project / "conf" / "local").mkdir()
    (project / "src").mkdir()
    shutil.copy(ROOT / "pyproject.toml", project / "pyproject.toml")
    for layer in LAYERS:
        (project / "data" / layer).mkdir(parents=True)
    return project


def timed_run(project: Path, extra: list[str]) -> float:
    env = {**os.environ, "DO_NOT_TRACK": "1", "KEDRO_DISABLE_TELEMETRY": "1", "TQDM_DISABLE": "1"}
    start = time.perf_counter()
    proc = subprocess.run([str(KEDRO), "run", *extra], cwd=project, env=env, check=False,
                          capture_output=True, text=True)  # fmt: skip
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"kedro run {' '.join(extra)} failed:\n{proc.stderr[-3000:]}")
    return seconds


def version_counts(project: Path) -> dict[int, int]:
    """How many datasets got how many version folders (``{versions: datasets}``)."""
    counts: dict[str, int] = {}
    for folder in (project / "data").rglob("*"):
        if folder.is_dir() and folder.name.endswith("Z") and folder.name.count("T") == 1:
            key = str(folder.parent)
            counts[key] = counts.get(key, 0) + 1
    histogram: dict[int, int] = {}
    for n in counts.values():
        histogram[n] = histogram.get(n, 0) + 1
    return histogram


def latest_scores(project: Path) -> pd.DataFrame | None:
    folder = project / SCORES
    if not folder.exists():
        return None
    version = sorted(p.name for p in folder.iterdir())[-1]
    return pd.read_parquet(folder / version / folder.name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the two project copies")
    args, extra = parser.parse_known_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench_parallel_"))
    sequential = make_project(workdir / "sequential")
    parallel = make_project(workdir / "parallel")
    runner = "--runner=path_unlearning.runner.WorkerPoolRunner"
    seq_seconds = timed_run(sequential, extra)
    par_seconds = timed_run(parallel, [*extra, runner])  # one worker per core
    serial_seconds = timed_run(make_project(workdir / "serial"), ["--to-nodes=prepare_base_model"])
    workers = os.cpu_count() or 1
    bound = (serial_seconds + (seq_seconds - serial_seconds) / workers) / seq_seconds

    a, b = latest_scores(sequential), latest_scores(parallel)
    equal = a is not None and b is not None and a.equals(b)
    print(f"cores (= workers): {workers}; "
          f"load average before the end: {os.getloadavg()[0]:.2f}")  # fmt: skip
    print(f"sequential kedro run:   {seq_seconds:8.1f} s")
    print(f"parallel kedro run:     {par_seconds:8.1f} s")
    print(f"ratio parallel / sequential = {par_seconds / seq_seconds:.3f} (goal <= 0.55)")
    print(f"serial head (data_prep + pretraining) alone: {serial_seconds:.1f} s; "
          f"Amdahl's bound on the ratio with {workers} workers: {bound:.3f}")  # fmt: skip
    print(f"evaluation_scores bitwise equal: {equal}"
          + ("" if a is not None else " (no evaluation_scores: evaluate did not run)"))  # fmt: skip
    print(f"version folders per dataset, sequential: {version_counts(sequential)}; "
          f"parallel: {version_counts(parallel)}")  # fmt: skip
    if args.keep:
        print(f"projects kept in {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
