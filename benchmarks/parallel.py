"""Benchmark: the default ``kedro run`` with parallel workers against the sequential run.

Builds two throw-away copies of the project (configuration and source, empty
``data/``, an empty training cache each), runs the same command in both, one after
the other on the same machine:

    kedro run --runner=SequentialRunner                           (one process)
    kedro run --runner=path_unlearning.runner.WorkerPoolRunner    (one worker per core)
    kedro run --runner=path_unlearning.runner.DaskRunner          (a LocalCluster, same workers)

and prints the wall times, the ratios to the sequential run (goal <= 0.55 on 2
cores; DaskRunner within 5% of WorkerPoolRunner to replace it), whether
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
import tempfile
from pathlib import Path

import pandas as pd
import project_runs as pr

SCORES = "data/07_model_output/evaluation_scores.parquet"
SEQUENTIAL = "--runner=SequentialRunner"
RUNNER = "--runner=path_unlearning.runner.WorkerPoolRunner"  # one worker per core
DASK = "--runner=path_unlearning.runner.DaskRunner"  # a LocalCluster, one worker per core


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
    """Time the sequential run and both parallel runners in fresh copies; print the ratios.

    Args:
        workdir: Where the two copies go.
        extra: Arguments for both ``kedro run`` commands.

    Returns:
        The sequential run's wall time in seconds.
    """
    sequential = pr.copy_tree(workdir / "sequential")
    seq_seconds = pr.run(sequential, *extra, SEQUENTIAL)
    reference = latest_scores(sequential)
    print(f"sequential kedro run:   {seq_seconds:8.1f} s")
    parallel_seconds = {}
    for label, runner in (("WorkerPoolRunner", RUNNER), ("DaskRunner", DASK)):
        project = pr.copy_tree(workdir / label)
        seconds = parallel_seconds[label] = pr.run(project, *extra, runner)
        scores = latest_scores(project)
        equal = reference is not None and scores is not None and reference.equals(scores)
        print(f"{label} kedro run: {seconds:8.1f} s; ratio to sequential "
              f"{seconds / seq_seconds:.3f} (goal <= 0.55); evaluation_scores bitwise equal: "
              + (str(equal) if scores is not None else "no table (evaluate did not run)")
              + f"; version folders per dataset: {version_counts(project)}")  # fmt: skip
    ratio = parallel_seconds["DaskRunner"] / parallel_seconds["WorkerPoolRunner"]
    print(f"DaskRunner / WorkerPoolRunner = {ratio:.3f} (within 5%: {ratio <= 1.05})")
    print(f"version folders per dataset, sequential: {version_counts(sequential)}")
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
    pr.finish(workdir, args.keep)


if __name__ == "__main__":
    main()
