"""Benchmark: staged_finetune wall time against the bare training steps it contains.

Runs data_prep and the pretraining in a throw-away copy of the project, then times
the stage-training nodes of staged_finetune for the configured plan through a real
KedroSession (catalog I/O, versioned saves and the training cache included), with an
empty training cache so that every prefix of the trie is trained. Right after each
training it replays the same optimizer steps, with the same batch shapes, on a copy of
the same LoRA model in a bare loop (forward, backward, AdamW step; no logging, no data
loader); the replays are subtracted from the session's wall time. Interleaving keeps
both measurements under the same machine load. It prints

    staged_finetune wall time / pure forward+backward+optimizer time   (goal <= 1.15)

next to the number of stage trainings executed, the unique prefixes of the trie and
the naive count (every path and every distinct retrain reference trained from scratch).

Usage::

    .venv/bin/python benchmarks/staged_finetune.py            # conf/base defaults
    .venv/bin/python benchmarks/staged_finetune.py --micro    # seconds, for a smoke test
"""

from __future__ import annotations

import os

# Before tqdm and kedro are imported: no progress bars, no telemetry.
os.environ.setdefault("TQDM_DISABLE", "1")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "1")

# ruff: noqa: E402
import argparse
import copy
import logging
import shutil
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import yaml
from kedro.config import OmegaConfigLoader
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
from torch.utils.data import DataLoader, RandomSampler
from transformers.utils import logging as hf_logging

from path_unlearning.kedro_adapter import run_parameters
from path_unlearning.modeling import stages
from path_unlearning.modeling.model import pad_batch
from path_unlearning.modeling.train import optimizer_steps
from path_unlearning.plan import ExperimentPlan

ROOT = Path(__file__).resolve().parents[1]

MICRO: dict[str, Any] = {
    "paths": ["ABC", "ACB", "BAC", "BCA", "CAB", "CBA"],
    "stages": {"A": {"epochs": 1}, "B": {"epochs": 1}, "C": {"epochs": 1}},
    "data_prep": {"n_authors": 4, "n_math_train": 48, "n_math_test": 10, "n_refusals": 32,
                  "n_pretrain": 64, "n_generic_test": 12, "n_facts_eval": 8,
                  "n_forget_eval": 8},
    "model": {"architecture": {"hidden_size": 32, "intermediate_size": 64,
                               "num_hidden_layers": 2, "num_attention_heads": 2,
                               "num_key_value_heads": 2}},
    "pretrain": {"max_steps": 20},
}  # fmt: skip


@dataclass
class Training:
    """One call of the training loop as the pipeline ran it, and its bare replay."""

    description: str
    steps: int
    seconds: float  # inside train()
    pure: float  # the same steps in the bare loop
    overhead: float  # replay, copy and batch building: not part of staged_finetune


def _merge(base: dict, override: dict) -> dict:
    merged = dict(base)
    for key, value in override.items():
        both_dicts = isinstance(value, dict) and isinstance(merged.get(key), dict)
        merged[key] = _merge(merged[key], value) if both_dicts else value
    return merged


def make_project(where: Path, overrides: dict) -> Path:
    """A copy of conf/base and pyproject.toml with ``overrides`` in conf/local."""
    project = where / "project"
    shutil.copytree(ROOT / "conf", project / "conf", ignore=shutil.ignore_patterns("local"))
    (project / "conf" / "local").mkdir()
    (project / "src").mkdir()
    shutil.copy(ROOT / "pyproject.toml", project / "pyproject.toml")
    for layer in ("01_raw", "02_intermediate", "03_primary", "04_feature", "05_model_input",
                  "06_models", "07_model_output", "08_reporting"):  # fmt: skip
        (project / "data" / layer).mkdir(parents=True)
    params = OmegaConfigLoader(str(project / "conf"), base_env="base",
                               default_run_env="local")["parameters"]  # fmt: skip
    local = {k: _merge(params.get(k) or {}, v) if isinstance(v, dict) else v
             for k, v in overrides.items()}  # fmt: skip
    (project / "conf" / "local" / "parameters.yml").write_text(yaml.safe_dump(local))
    return project


def bare_loop_seconds(model: torch.nn.Module, examples: list, config: Any, pad_id: int) -> float:
    """Time the optimizer steps of one ``train`` call in a bare loop on ``model``."""
    loader = DataLoader(
        examples, batch_size=config.batch_size,
        sampler=RandomSampler(examples, generator=torch.Generator().manual_seed(config.seed)),
        collate_fn=lambda batch: pad_batch(batch, pad_id),
    )  # fmt: skip
    n_micro = optimizer_steps(len(examples), config) * config.grad_accum
    batches: list[dict[str, torch.Tensor]] = []
    while len(batches) < n_micro:
        batches += list(loader)[: n_micro - len(batches)]
    model.train()
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=config.lr, weight_decay=config.weight_decay)
    start = time.perf_counter()
    for i, batch in enumerate(batches, start=1):
        model(**batch).loss.backward()
        if i % config.grad_accum == 0:
            optimizer.step()
            optimizer.zero_grad()
    return time.perf_counter() - start


def main() -> None:  # noqa: PLR0915 - a linear script
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--micro", action="store_true", help="tiny sizes: a smoke test")
    parser.add_argument("--keep", action="store_true", help="keep the temporary project")
    args = parser.parse_args()

    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=UserWarning)
    hf_logging.disable_progress_bar()

    workdir = Path(tempfile.mkdtemp(prefix="bench-staged-"))
    # Cache folders live inside the project copy (outputs may not leave the project).
    pretrain_cache, stage_cache = "data/06_models/pretrain_cache", "data/06_models/stage_cache"
    overrides = _merge(MICRO if args.micro else {},
                       {"finetune": {"cache_dir": pretrain_cache}})  # fmt: skip
    project = make_project(workdir, overrides)
    os.chdir(project)
    bootstrap_project(project)
    logging.getLogger("kedro").setLevel(logging.WARNING)
    logging.getLogger("kedro_viz").setLevel(logging.ERROR)

    trainings: list[Training] = []
    real_train = stages.train

    def spy(model, examples, config, pad_id, description="train"):
        start = time.perf_counter()
        log = real_train(model, examples, config, pad_id, description)
        seconds = time.perf_counter() - start
        pure = bare_loop_seconds(copy.deepcopy(model), examples, config, pad_id)
        overhead = time.perf_counter() - start - seconds
        steps = optimizer_steps(len(examples), config)
        trainings.append(Training(description, steps, seconds, pure, overhead))
        return log

    stages.train = spy
    try:
        start = time.perf_counter()
        with KedroSession.create(project_path=project) as session:
            session.run(pipeline_names=["data_prep", "staged_finetune"],
                        to_nodes=["prepare_base_model"])  # fmt: skip
        prep_seconds = time.perf_counter() - start
        trainings.clear()

        # The timed part: every stage-training node, the training cache empty.
        start = time.perf_counter()
        with KedroSession.create(
            project_path=project, runtime_params={"finetune": {"cache_dir": stage_cache}}
        ) as session:
            session.run(pipeline_names=["staged_finetune"], tags=["stage_training"])
        staged_seconds = time.perf_counter() - start - sum(t.overhead for t in trainings)
    finally:
        stages.train = real_train

    plan = ExperimentPlan.from_parameters(run_parameters())
    references = {plan.reference(p) for p in plan.paths} - {""}
    naive = sum(len(p) for p in plan.paths) + sum(len(r) for r in references)
    steps = sum(t.steps for t in trainings)
    in_train = sum(t.seconds for t in trainings)
    pure = sum(t.pure for t in trainings)

    print(f"config: {'micro' if args.micro else 'conf/base'}; paths {', '.join(plan.paths)}; "
          f"retrain references {', '.join(sorted(references))}")  # fmt: skip
    print(f"data_prep + pretraining:               {prep_seconds:8.1f} s")
    print(f"stage trainings executed:              {len(trainings):8d}")
    print(f"unique prefixes in the trie:           {len(plan.prefixes):8d}")
    print(f"naive (paths + distinct references):   {naive:8d}")
    print(f"optimizer steps replayed:              {steps:8d}")
    print(f"{'':39}{'seconds':>9} {'/ pure':>8}")
    for label, seconds in (("staged_finetune wall time (KedroSession)", staged_seconds),
                           ("  of which inside the training loop", in_train),
                           ("pure forward+backward+AdamW (bare loop)", pure)):  # fmt: skip
        print(f"{label:39}{seconds:9.1f} {seconds / pure:8.3f}")
    print(
        f"ratio staged_finetune / pure = {staged_seconds / pure:.3f} (goal <= 1.15); "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    if args.keep:
        print(f"project kept in {project}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
