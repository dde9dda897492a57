"""A throwaway copy of the project with synthetic report inputs, for session-level tests.

The copy holds ``pyproject.toml``, ``conf/base``, ``conf/logging.yml``, an empty
``src/`` (the package is imported from its installation) and ``notebooks/``.
Inputs of the report pipeline that the copy's catalog does not declare yet get
entries in ``conf/local/catalog.yml``; synthetic tables are then saved through
the catalog, so Kedro reads them as it would real outputs of unlearn/evaluate.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml
from kedro.config import OmegaConfigLoader
from kedro.io import DataCatalog

from path_unlearning.plan import ExperimentPlan
from tests.report import synthetic as syn

ROOT = Path(__file__).resolve().parents[2]
FALLBACK_ENTRIES = {
    "s{seed}.{path}.{method}.trajectory": {
        "type": "pandas.ParquetDataset",
        "filepath": "data/07_model_output/trajectories/s{seed}/{path}.{method}.parquet",
        "versioned": True,
    },
    **{
        name: {
            "type": "pandas.ParquetDataset",
            "filepath": f"data/07_model_output/{name}.parquet",
            "versioned": True,
        }
        for name in ("evaluation_scores", "path_divergence", "divergence_fits")
    },
}
PROBES = {  # a dataset name each fallback entry must resolve
    "s{seed}.{path}.{method}.trajectory": "s0.BCA.ga.trajectory",
    "evaluation_scores": "evaluation_scores",
    "path_divergence": "path_divergence",
    "divergence_fits": "divergence_fits",
}


def quiet_env() -> dict[str, str]:
    """The environment for Kedro subprocesses: no telemetry."""
    return {**os.environ, "DO_NOT_TRACK": "1", "KEDRO_DISABLE_TELEMETRY": "true"}


def copy_project(dest: Path) -> Path:
    """Copy what a Kedro session needs to ``dest`` and return it."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "pyproject.toml", dest / "pyproject.toml")
    if (ROOT / ".telemetry").exists():
        shutil.copy(ROOT / ".telemetry", dest / ".telemetry")
    (dest / "src").mkdir(exist_ok=True)
    shutil.copytree(ROOT / "conf" / "base", dest / "conf" / "base")
    if (ROOT / "conf" / "logging.yml").exists():
        shutil.copy(ROOT / "conf" / "logging.yml", dest / "conf" / "logging.yml")
    (dest / "conf" / "local").mkdir(parents=True, exist_ok=True)
    shutil.copytree(ROOT / "notebooks", dest / "notebooks")
    return dest


def _loader(project: Path) -> OmegaConfigLoader:
    return OmegaConfigLoader(str(project / "conf"), base_env="base", default_run_env="local")


def project_catalog(project: Path) -> DataCatalog:
    """The copy's catalog, with fallback entries for report inputs it lacks."""
    catalog = DataCatalog.from_config(_loader(project)["catalog"])
    missing = {k: v for k, v in FALLBACK_ENTRIES.items() if PROBES[k] not in catalog}
    if missing:
        local = project / "conf" / "local" / "catalog.yml"
        current = yaml.safe_load(local.read_text()) if local.exists() else {}
        local.write_text(yaml.safe_dump({**(current or {}), **missing}))
        catalog = DataCatalog.from_config(_loader(project)["catalog"])
    return catalog


def project_plan(project: Path) -> ExperimentPlan:
    """The copy's experiment plan (base + local parameters)."""
    return ExperimentPlan.from_parameters(_loader(project)["parameters"])


def seed_report_inputs(project: Path, seeds=None, steps: int = 5) -> ExperimentPlan:
    """Save synthetic trajectories, evaluate tables and a tokenizer for the copy's plan.

    ``seeds`` defaults to the plan's. Relative file paths of the catalog are
    resolved against ``project``.
    """
    plan = project_plan(project)
    seeds = plan.seeds if seeds is None else seeds
    catalog = project_catalog(project)
    trajs = syn.trajectories(
        paths=plan.paths, methods=plan.methods, seeds=seeds, steps=steps, start_noise=2.0
    )
    tables = {
        **trajs,
        "evaluation_scores": syn.evaluation_scores(trajs),
        "path_divergence": syn.path_divergence(plan.methods, seeds, steps),
        "divergence_fits": syn.divergence_fits(plan.methods),
        "benchmark_scores": syn.benchmark_scores(plan.methods, seeds),
        "relearning_curves": syn.relearning_curves(plan.methods, seeds, steps),
        "tokenizer": syn.tokenizer(),
    }
    cwd = Path.cwd()
    os.chdir(project)
    try:
        for name, table in tables.items():
            catalog.save(name, table)
    finally:
        os.chdir(cwd)
    return plan


def kedro(project: Path, *args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    """Run ``python -m kedro ARGS`` in the copy; output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "kedro", *args], cwd=project, env=quiet_env(),
        capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip


def latest(project: Path, relative: str) -> Path:
    """The newest version of a versioned file, e.g. ``data/08_reporting/report.html``."""
    folder = project / relative
    return sorted(folder.iterdir())[-1] / folder.name
