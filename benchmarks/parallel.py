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
borrow the idle core without changing the tables.

Then the same pair again with the base model already pretrained (the serial
copy's training cache copied into two fresh projects): the case of a rerun after
changing stages, paths, methods or seeds, since every seed shares the base model.
Extra arguments go to every command, e.g. ``--pipelines=data_prep,staged_finetune``
or ``--params=path:BCA``. Each run's console output is kept in its project as
``kedro_run.log`` (with ``--keep``).

Usage::

    .venv/bin/python benchmarks/parallel.py [--keep] [--cold-only] [kedro run args...]
    .venv/bin/python benchmarks/parallel.py --cold-only --env=full   # 3 seeds, 5 methods
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
CACHE = "data/06_models/training_cache"  # finetune.cache_dir of conf/base
RUNNER = "--runner=path_unlearning.runner.WorkerPoolRunner"  # one worker per core


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
    (project / "kedro_run.log").write_text(proc.stdout + proc.stderr)
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


def compare(label: str, workdir: Path, extra: list[str], cache: Path | None = None) -> float:
    """Time the sequential and the parallel run in fresh copies; print the ratio.

    Args:
        label: Name of the case, for the printout and the copies' folder.
        workdir: Where the two copies go.
        extra: Arguments for both ``kedro run`` commands.
        cache: A training cache to start both copies with (None: empty).

    Returns:
        The sequential run's wall time in seconds.
    """
    sequential = make_project(workdir / label / "sequential")
    parallel = make_project(workdir / label / "parallel")
    if cache is not None:
        for project in (sequential, parallel):
            shutil.copytree(cache, project / CACHE, dirs_exist_ok=True)
    seq_seconds = timed_run(sequential, extra)
    par_seconds = timed_run(parallel, [*extra, RUNNER])
    a, b = latest_scores(sequential), latest_scores(parallel)
    equal = a is not None and b is not None and a.equals(b)
    ratio = par_seconds / seq_seconds
    print(f"[{label}] sequential kedro run:   {seq_seconds:8.1f} s")
    print(f"[{label}] parallel kedro run:     {par_seconds:8.1f} s")
    print(f"[{label}] ratio parallel / sequential = {ratio:.3f} (goal <= 0.55)")
    print(f"[{label}] evaluation_scores bitwise equal: {equal}"
          + ("" if a is not None else " (no evaluation_scores: evaluate did not run)"))  # fmt: skip
    print(f"[{label}] version folders per dataset, sequential: {version_counts(sequential)}; "
          f"parallel: {version_counts(parallel)}")  # fmt: skip
    return seq_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the project copies")
    parser.add_argument(
        "--cold-only", action="store_true", help="skip the pair with the base model pretrained"
    )
    args, extra = parser.parse_known_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench_parallel_"))
    workers = os.cpu_count() or 1
    print(f"cores (= workers): {workers}; load average at the start: {os.getloadavg()[0]:.2f}")
    seq_seconds = compare("cold", workdir, extra)
    serial = make_project(workdir / "serial")
    serial_seconds = timed_run(serial, ["--to-nodes=prepare_base_model"])
    bound = (serial_seconds + (seq_seconds - serial_seconds) / workers) / seq_seconds
    print(f"[cold] serial head (data_prep + pretraining) alone: {serial_seconds:.1f} s; "
          f"Amdahl's bound on the ratio with {workers} workers: {bound:.3f}")  # fmt: skip
    if not args.cold_only:
        compare("base_pretrained", workdir, extra, cache=serial / CACHE)
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    if args.keep:
        print(f"projects kept in {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
