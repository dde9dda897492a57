"""The paper environment's settings, and `kedro run --env=paper_smoke` end to end."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from kedro.config import OmegaConfigLoader

from path_unlearning.plan import ExperimentPlan

ROOT = Path(__file__).resolve().parents[1]
PAPER_PATHS = ("UITM", "IUTM", "ITUM", "ITMU")
STAGE_TABLES = ("instruct", "tofu", "gsm8k", "refusal")
EVAL_COLUMNS = {
    "forget_eval": ["prompt", "label", "response"],
    "paraphrase_eval": ["paraphrase"],
    "facts_eval": ["prompt", "response"],
    "math_eval": ["prompt", "response"],
    "generic_eval": ["prompt", "response"],
}


def _parameters(env: str, conf: Path = ROOT / "conf") -> dict[str, Any]:
    loader = OmegaConfigLoader(
        str(conf), base_env="base", default_run_env=env, merge_strategy={"parameters": "soft"}
    )
    return loader["parameters"]


def _keys(value: Any, prefix: str = "") -> set[str]:
    if not isinstance(value, dict):
        return {prefix}
    return {k for key, v in value.items() for k in _keys(v, f"{prefix}.{key}")}


def test_paper_plan_is_the_papers_experiment() -> None:
    params = _parameters("paper")
    plan = ExperimentPlan.from_parameters(params)
    assert plan.paths == PAPER_PATHS
    assert plan.forget_stage == "U" and plan.data_source == "hub"
    assert [plan.position(p) for p in plan.paths] == [1, 2, 3, 4]
    assert {plan.reference(p) for p in plan.paths} == {"ITM"}
    assert {plan.stage_datasets[s] for s in "ITMU"} == set(STAGE_TABLES)
    assert {s: params["stages"][s]["epochs"] for s in "ITMU"} == {"I": 10, "T": 4, "M": 2, "U": 2}
    # App. D and Table 2 (Llama3.2-1B): LoRA 64/128 in FP32, lr 1e-5, batches of 128
    finetune, unlearn = params["finetune"], params["unlearn"]
    assert finetune["batch_size"] * finetune["grad_accum"] == 128
    assert finetune["lr"] == unlearn["lr"] == 1e-5 and unlearn["batch_size"] == 128
    for section in (finetune, unlearn):
        assert (section["lora"]["r"], section["lora"]["lora_alpha"]) == (64, 128)
        assert section["warmup_frac"] == section["decay_frac"] == 0.02
        assert section["weight_decay"] == 0.0 and section["precision"] == "no"
        assert section["scheduler"] == "warmup_stable_decay"
    assert params["model"]["name_or_path"] == "meta-llama/Llama-3.2-1B"
    assert params["model"]["dtype"] == "float32"
    assert params["data_prep"]["hub"]["tokenizer"] == "meta-llama/Llama-3.2-1B-Instruct"
    assert params["evaluate"]["math_samples"] == 5


def test_benchmark_retain_is_tofus_retain_perturbed() -> None:
    # open-unlearning's TOFU retain evaluation (model utility) reads retain_perturbed
    hub = _parameters("paper")["data_prep"]["hub"]
    retain, tofu = hub["benchmark_retain"], hub["datasets"]["tofu"]
    assert (retain["path"], retain["name"], retain["split"]) == (
        "locuslab/TOFU", "retain_perturbed", "train",
    )  # fmt: skip
    assert retain["revision"] == tofu["revision"]  # the same pin as the trained subset
    assert retain["columns"]["perturbed"] == "perturbed_answer"
    smoke = _parameters("paper_smoke")["data_prep"]["hub"]["benchmark_retain"]
    assert smoke["path"] == "tests/fixtures/real/tofu" and smoke["name"] == "retain_perturbed"


def test_paper_smoke_sets_the_same_keys_as_paper() -> None:
    for name in sorted((ROOT / "conf" / "paper").glob("parameters*.yml")):
        smoke = ROOT / "conf" / "paper_smoke" / name.name
        assert smoke.exists(), name.name
    paper, smoke = _parameters("paper"), _parameters("paper_smoke")
    assert _keys(paper) == _keys(smoke)
    assert ExperimentPlan.from_parameters(smoke).paths == PAPER_PATHS


def _copy_project(dest: Path) -> Path:
    """What a Kedro session of the paper_smoke environment needs, in ``dest``."""
    dest.mkdir(parents=True)
    shutil.copy(ROOT / "pyproject.toml", dest / "pyproject.toml")
    (dest / "src").mkdir()  # the package is imported from its installation
    for env in ("base", "paper_smoke"):
        shutil.copytree(ROOT / "conf" / env, dest / "conf" / env)
    shutil.copy(ROOT / "conf" / "logging.yml", dest / "conf" / "logging.yml")
    (dest / "conf" / "local").mkdir()
    if (ROOT / "notebooks").exists():
        shutil.copytree(ROOT / "notebooks", dest / "notebooks")
    for fixtures in ("paper", "real"):
        shutil.copytree(
            ROOT / "tests" / "fixtures" / fixtures,
            dest / "tests" / "fixtures" / fixtures,
            ignore=shutil.ignore_patterns("__pycache__", "qwen25_instruct"),
        )
    return dest


def _latest(project: Path, relative: str) -> pd.DataFrame:
    folder = project / relative
    return pd.read_parquet(sorted(folder.iterdir())[-1] / folder.name)


@pytest.mark.slow
def test_kedro_run_paper_smoke(tmp_path: Path) -> None:
    project = _copy_project(tmp_path / "project")
    env = {
        **os.environ,
        "DO_NOT_TRACK": "1",
        "KEDRO_DISABLE_TELEMETRY": "true",
        "HF_HUB_OFFLINE": "1",  # the slices are local; nothing may be downloaded
        "HF_HOME": str(tmp_path / "hf_home"),
    }
    result = subprocess.run(
        [sys.executable, "-m", "kedro", "run", "--env=paper_smoke"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for name in STAGE_TABLES:
        table = _latest(project, f"data/03_primary/{name}_stage_data.parquet")
        assert list(table.columns) == ["prompt", "response"] and len(table) > 0, name
    for name, columns in EVAL_COLUMNS.items():
        assert list(_latest(project, f"data/05_model_input/{name}.parquet").columns) == columns
    benchmark = _latest(project, "data/05_model_input/benchmark_eval.parquet")
    assert list(benchmark.columns) == [
        "split", "member", "prompt", "response", "paraphrased",
        "perturbed_0", "perturbed_1", "perturbed_2",
    ]  # fmt: skip
    counts = benchmark.groupby(["split", "member"]).size().to_dict()
    assert set(counts) == {("forget", True), ("forget", False), ("retain", True)}
    retain = benchmark[benchmark["split"] == "retain"]  # trained rows of retain_perturbed
    tofu = _latest(project, "data/03_primary/tofu_stage_data.parquet")
    assert set(retain["prompt"]) <= set(tofu["prompt"])
    scores = _latest(project, "data/07_model_output/evaluation_scores.parquet")
    assert sorted(scores["path"].unique()) == sorted(PAPER_PATHS)
    assert sorted(scores["position"].unique()) == [1, 2, 3, 4]
    assert set(scores["method"]) == {"ga", "npo", "simnpo"}
    assert scores["value"].notna().all()
    adapters = {p.name for p in (project / "data" / "06_models" / "adapters" / "s0").iterdir()}
    assert set(PAPER_PATHS) | {"ITM"} <= adapters


def test_paper_pipelines_need_no_input_outside_the_run() -> None:
    from path_unlearning.pipeline_registry import create_pipelines  # noqa: PLC0415

    plan = ExperimentPlan.from_parameters(_parameters("paper"))
    pipelines = create_pipelines(plan)
    data_prep = {node.name for node in pipelines["data_prep"].nodes}
    assert {f"load_{name}" for name in STAGE_TABLES} <= data_prep
    assert {"load_math_eval", "make_eval_sets", "load_tokenizer"} <= data_prep
    # every dataset the run reads is written by one of its nodes: only parameters (and
    # the report's lineage, filled by a hook) are free inputs
    free = {name for name in pipelines["__default__"].inputs() if not name.startswith("params:")}
    assert free <= {"parameters", "report_lineage"}
    outputs = pipelines["data_prep"].all_outputs()
    assert {f"{name}_stage_data" for name in STAGE_TABLES} <= outputs
    assert set(EVAL_COLUMNS) <= outputs
