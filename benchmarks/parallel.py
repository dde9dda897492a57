"""Benchmark: the default ``kedro run`` with parallel workers against the sequential run.

Builds two throw-away copies of the project (configuration and source, empty
``data/``, an empty training cache each), runs the same command in both, one after
the other on the same machine:

    kedro run --runner=SequentialRunner                           (one process)
    kedro run --runner=path_unlearning.runner.WorkerPoolRunner    (one worker per core)

and prints both wall times, their ratio (goal <= 0.55 on 2 cores), whether
``evaluation_scores`` is bitwise equal, and how many version folders each dataset
got (goal: exactly one).

A third fresh copy times the serial head of the run alone (``--pipelines=
data_prep``, on which every later node depends; each replicate then pretrains its
own base model, so the rest is parallel), which gives Amdahl's bound on the ratio:
``(serial + (sequential - serial) / workers) / sequential``. A one-thread and a
two-thread training step are not bitwise equal on CPU, so a serial node cannot
borrow the idle core without changing the tables.

Extra arguments go to every command, e.g. ``--env=full`` or ``--params=path:BCA``.
Each run's console output is kept in its project as ``kedro_run.log`` (with ``--keep``).

Usage::

    .venv/bin/python benchmarks/parallel.py [--keep] [kedro run args...]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path

import pandas as pd
import project_runs as pr

SCORES = "data/07_model_output/evaluation_scores.parquet"
SEQUENTIAL = "--runner=SequentialRunner"
RUNNER = "--runner=path_unlearning.runner.WorkerPoolRunner"  # one worker per core


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


def compare(workdir: Path, extra: list[str]) -> float:
    """Time the sequential and the parallel run in fresh copies; print the ratio.

    Args:
        workdir: Where the two copies go.
        extra: Arguments for both ``kedro run`` commands.

    Returns:
        The sequential run's wall time in seconds.
    """
    sequential = pr.copy_tree(workdir / "sequential")
    parallel = pr.copy_tree(workdir / "parallel")
    seq_seconds = pr.run(sequential, *extra, SEQUENTIAL)
    par_seconds = pr.run(parallel, *extra, RUNNER)
    a, b = latest_scores(sequential), latest_scores(parallel)
    equal = a is not None and b is not None and a.equals(b)
    print(f"sequential kedro run:   {seq_seconds:8.1f} s")
    print(f"parallel kedro run:     {par_seconds:8.1f} s")
    print(f"ratio parallel / sequential = {par_seconds / seq_seconds:.3f} (goal <= 0.55)")
    print("evaluation_scores bitwise equal: "
          + (str(equal) if a is not None else "no table (evaluate did not run)"))  # fmt: skip
    print(f"version folders per dataset, sequential: {version_counts(sequential)}; "
          f"parallel: {version_counts(parallel)}")  # fmt: skip
    return seq_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the project copies")
    args, extra = parser.parse_known_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench_parallel_"))
    workers = os.cpu_count() or 1
    print(f"cores (= workers): {workers}; load average at the start: {os.getloadavg()[0]:.2f}")
    seq_seconds = compare(workdir, extra)
    serial = pr.copy_tree(workdir / "serial")
    serial_seconds = pr.run(serial, *extra, "--pipelines=data_prep", SEQUENTIAL)
    bound = (serial_seconds + (seq_seconds - serial_seconds) / workers) / seq_seconds
    print(f"serial head (data_prep) alone: {serial_seconds:.1f} s; "
          f"Amdahl's bound on the ratio with {workers} workers: {bound:.3f}")  # fmt: skip
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    if args.keep:
        print(f"projects kept in {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
