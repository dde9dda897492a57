"""Benchmark: do the fine-tuning stages coexist before unlearning?

The paper's premise (Figures 3 and 5) is that every path starts unlearning from
nearly the same place: the forget stage's refusal is learned on every path, and
the other stages' skills survive the stages after them. This script runs
``data_prep`` and ``staged_finetune`` through a real KedroSession in the project
(trainings are reused from the training cache when unchanged), scores every
path's fine-tuned model with ``model_scores`` (the evaluate pipeline's
before-scores, without the distance to the retrain reference) and prints

    path | forget_label_ll | facts_ll | math_acc

with the spreads across paths and whether each target of docs/coexistence.md
holds:

- forget-label log-likelihood >= -8 nats on every path (the label "Sorry, I can
  not assist you with this question." is learned wherever stage C sits);
- its spread (max - min over paths) <= 6 nats (the paper's curves start within a
  few nats);
- greedy math accuracy >= 0.6 on every path (stage B survives);
- facts log-likelihood spread <= 6 nats (stage A is not erased by what follows).

It also prints the wall and CPU (user + sys, this process) time of the run.

Usage::

    .venv/bin/python benchmarks/coexistence.py
    .venv/bin/python benchmarks/coexistence.py --set finetune.lr=2e-3 --set stages.A.epochs=2

``--set KEY=VALUE`` (repeatable) overrides a parameter for this run only, like
``kedro run --params``; the value is read as YAML.
"""

from __future__ import annotations

import os

# Before tqdm and kedro are imported: no progress bars, no telemetry.
os.environ.setdefault("TQDM_DISABLE", "1")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "1")

# ruff: noqa: E402
import argparse
import logging
import resource
import time
import warnings
from pathlib import Path
from typing import Any

import yaml
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
from transformers.utils import logging as hf_logging

from path_unlearning.metrics.evaluation import model_scores
from path_unlearning.metrics.probes import EVAL_SETS
from path_unlearning.modeling.lora import merged_model
from path_unlearning.pipelines.evaluate.nodes import prepare_eval_sets
from path_unlearning.schemas import FACTS, FORGET_LABEL, MATH_ACC, ll

ROOT = Path(__file__).resolve().parents[1]

# The targets (nats of summed log-likelihood; accuracy as a fraction).
MIN_FORGET_LL = -8.0
MAX_FORGET_SPREAD = 6.0
MIN_MATH_ACC = 0.6
MAX_FACTS_SPREAD = 6.0


def _override(params: dict[str, Any], dotted: str) -> None:
    key, _, raw = dotted.partition("=")
    *parents, leaf = key.split(".")
    node = params
    for part in parents:
        node = node.setdefault(part, {})
    try:  # YAML 1.1 reads "1e-3" as a string; numbers first
        node[leaf] = int(raw) if raw.lstrip("-").isdigit() else float(raw)
    except ValueError:
        node[leaf] = yaml.safe_load(raw)


def _adapter_name(catalog: Any, seed: int, path: str) -> str:
    for name in (f"s{seed}.{path}.adapter", f"{path}.adapter"):
        if catalog.exists(name):
            return name
    raise KeyError(f"no adapter of path {path} (seed {seed}) in the catalog")


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--env", default=None, help="kedro configuration environment")
    args = parser.parse_args()

    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=UserWarning)
    hf_logging.disable_progress_bar()
    runtime: dict[str, Any] = {}
    for item in args.set:
        _override(runtime, item)

    os.chdir(ROOT)
    bootstrap_project(ROOT)
    logging.getLogger("kedro").setLevel(logging.WARNING)
    wall0, cpu0 = time.perf_counter(), _cpu_seconds()
    with KedroSession.create(project_path=ROOT, env=args.env, runtime_params=runtime) as session:
        session.run(pipeline_names=["data_prep", "staged_finetune"])
    with KedroSession.create(project_path=ROOT, env=args.env, runtime_params=runtime) as session:
        context = session.load_context()
        catalog, params = context.catalog, context.params
        train_wall, train_cpu = time.perf_counter() - wall0, _cpu_seconds() - cpu0
        sets = prepare_eval_sets(
            catalog.load("tokenizer"),
            params["evaluate"],
            **{name: catalog.load(name) for name in EVAL_SETS},
        )
        seeds = params.get("seeds") or [params.get("seed", 0)]
        paths = [params["path"]] if params.get("path") else list(params["paths"])
        scores_by_seed = {}
        for seed in seeds:
            base = catalog.load(_base_name(catalog, seed))
            scores_by_seed[seed] = {
                path: model_scores(
                    merged_model(base, catalog.load(_adapter_name(catalog, seed, path))),
                    sets,
                    params["evaluate"],
                )
                for path in paths
            }
    wall, cpu = time.perf_counter() - wall0, _cpu_seconds() - cpu0

    print(f"overrides: {runtime or 'none'}")
    held = [_report(seed, scores) for seed, scores in scores_by_seed.items()]
    print(f"all targets hold on {sum(held)} of {len(held)} replicates: {all(held)}")
    print(f"time: data_prep + staged_finetune {train_wall:.0f} s wall, {train_cpu:.0f} s CPU; "
          f"with scoring {wall:.0f} s wall, {cpu:.0f} s CPU (user + sys)")  # fmt: skip


def _base_name(catalog: Any, seed: int) -> str:
    """A replicate's own base model (``s<seed>.base_model``), or the shared one of old runs."""
    return f"s{seed}.base_model" if catalog.exists(f"s{seed}.base_model") else "base_model"


def _report(seed: int, scores: dict[str, dict[str, float]]) -> bool:
    """Print one replicate's table and targets; whether every target holds."""
    forget_name, facts_name, math_name = ll(FORGET_LABEL), ll(FACTS), MATH_ACC
    rows = {p: (s[forget_name], s[facts_name], s[math_name]) for p, s in scores.items()}
    print(f"replicate s{seed}")
    print(f"{'path':6}{forget_name:>18}{facts_name:>12}{math_name:>12}")
    for path, (forget, facts, math) in rows.items():
        print(f"{path:6}{forget:18.2f}{facts:12.2f}{math:12.2f}")
    forget_values = [r[0] for r in rows.values()]
    facts_values = [r[1] for r in rows.values()]
    math_values = [r[2] for r in rows.values()]
    forget_spread = max(forget_values) - min(forget_values)
    facts_spread = max(facts_values) - min(facts_values)
    print(f"{'spread':6}{forget_spread:18.2f}{facts_spread:12.2f}"
          f"{max(math_values) - min(math_values):12.2f}")  # fmt: skip
    targets = [
        (f"forget-label ll >= {MIN_FORGET_LL} on every path (min {min(forget_values):.2f})",
         min(forget_values) >= MIN_FORGET_LL),
        (f"forget-label ll spread <= {MAX_FORGET_SPREAD} ({forget_spread:.2f})",
         forget_spread <= MAX_FORGET_SPREAD),
        (f"math accuracy >= {MIN_MATH_ACC} on every path (min {min(math_values):.2f})",
         min(math_values) >= MIN_MATH_ACC),
        (f"facts ll spread <= {MAX_FACTS_SPREAD} ({facts_spread:.2f})",
         facts_spread <= MAX_FACTS_SPREAD),
    ]  # fmt: skip
    for label, holds in targets:
        print(f"  [{'x' if holds else ' '}] {label}")
    return all(h for _, h in targets)


if __name__ == "__main__":
    main()
