"""Typed parameter sections: bad nested values fail in one line at plan time, and a
node with a typed ``params:`` input receives the validated model under Kedro.

The table runs in process through ``ExperimentPlan.from_parameters`` (the CLI cases
live in tests/test_bad_inputs.py); each case changes one dotted key of conf/base.
"""

from __future__ import annotations

import copy
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from kedro.framework.context import KedroContext
from kedro.io import DataCatalog, MemoryDataset
from kedro.pipeline import Node, Pipeline
from kedro.runner import SequentialRunner
from kedro.validation.parameter_validator import ParameterValidator

from path_unlearning.errors import ConfigError
from path_unlearning.metrics.evaluation import EvaluateSettings
from path_unlearning.modeling.train import TrainConfig
from path_unlearning.parameters import plain
from path_unlearning.plan import ExperimentPlan
from path_unlearning.sections import (
    DataPrepSection,
    FinetuneSection,
    StageSection,
    UnlearnSection,
    stage_config,
)
from path_unlearning.theory.config import TheorySection

BASE = Path(__file__).resolve().parents[1] / "conf" / "base"


def _base() -> dict[str, Any]:
    params: dict[str, Any] = {}
    for path in sorted(BASE.glob("parameters*.yml")):
        params.update(yaml.safe_load(path.read_text()) or {})
    return params


BASE_PARAMS = _base()


def _with(key: str, value: Any) -> dict[str, Any]:
    """conf/base's parameters with one dotted key set."""
    params = copy.deepcopy(BASE_PARAMS)
    *parents, last = key.split(".")
    node = params
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value
    return params


# (dotted key, bad value, words the one-line error holds)
CASES = [
    ("finetune.lora.r", -1, "finetune.lora.r=-1 is out of range: expected an integer >= 1"),
    ("unlearn.lora.lora_dropout", 1.5, "unlearn.lora.lora_dropout=1.5 is out of range"),
    ("finetune.lora.rank", 8, "finetune.lora: unknown parameter 'rank' (finetune.lora.rank)"),
    ("stages.A.epochs", 0, "stages.A.epochs=0 is out of range: expected a number > 0"),
    ("pretrain.scheduler", "bogus", "pretrain.scheduler='bogus': use one of linear, cosine"),
    ("finetune.precision", "fp8", "finetune.precision='fp8': use one of no, fp16, bf16"),
    ("unlearn.lr", -1, "unlearn.lr=-1 is out of range: expected a number > 0"),
    ("unlearn.hparams.npo.betta", 1, "unlearn.hparams.npo: unknown hyper-parameter(s) betta"),
    ("unlearn.scheduler", "cosinee", "unlearn.scheduler='cosinee': use one of"),
    ("evaluate.batch_size", 0, "evaluate.batch_size=0 is out of range: expected an integer >= 1"),
    ("data_prep.n_authors", 0, "data_prep.n_authors=0 is out of range: expected an integer >= 1"),
    ("data_prep.source", "web", "data_prep.source='web': use one of synthetic, hub"),
    ("theory.eta", 0, "theory.eta=0 is out of range: expected a number > 0"),
    ("theory.k", 100, "theory: k=100 must be <= d=60"),
    ("depth.unlearn.lr", 0, "depth.unlearn.lr=0 is out of range"),
    ("depth.finetune.optimizer", "adam", "depth.finetune.optimizer='adam': use one of adamw, sgd"),
    ("depth.classification.read_epoch", 99, "depth.classification.read_epoch=99: expected 1"),
    (
        "depth.cache_dir",
        "../outside",
        "depth.cache_dir='../outside' must be a folder inside the project",
    ),
    ("finetune.max_grad_norm", True, "finetune.max_grad_norm=True is out of range"),
    ("stages.B.batch_size", 2.5, "stages.B.batch_size=2.5 is out of range: expected an integer"),
    ("torch_threads", 0, "torch_threads=0 is out of range"),
    # a misspelled key at each level
    (
        "finetune.learning_rate",
        0.1,
        "finetune: unknown parameter 'learning_rate' (finetune.learning_rate)",
    ),
    ("stages.C.epoch", 2, "stages.C: unknown parameter 'epoch' (stages.C.epoch)"),
    ("pretrain.warmup", 0.1, "pretrain: unknown parameter 'warmup' (pretrain.warmup)"),
    ("unlearn.stepz", 5, "unlearn: unknown parameter 'stepz' (unlearn.stepz)"),
    ("evaluate.batchsize", 8, "evaluate: unknown parameter 'batchsize' (evaluate.batchsize)"),
    ("data_prep.n_author", 3, "data_prep: unknown parameter 'n_author' (data_prep.n_author)"),
    ("theory.surprise", 1, "theory: unknown parameter 'surprise' (theory.surprise)"),
    ("depth.unlearn.epoch", 3, "depth.unlearn: unknown parameter 'epoch' (depth.unlearn.epoch)"),
    (
        "depth.classification.deep",
        0.3,
        "depth.classification: unknown parameter 'deep' (depth.classification.deep)",
    ),
]


@pytest.mark.parametrize(("key", "value", "words"), CASES, ids=[c[0] for c in CASES])
def test_bad_nested_value_fails_in_one_line(key: str, value: Any, words: str) -> None:
    params = _with(key, value)
    if key.startswith("unlearn.hparams.npo"):
        params["method"] = "npo"
    with pytest.raises(ConfigError) as info:
        ExperimentPlan.from_parameters(params)
    message = str(info.value)
    assert "\n" not in message, message
    assert words in message, message
    assert key.rsplit(".", 1)[0] in message, message  # the dotted key's section at least


def test_the_default_parameters_pass() -> None:
    plan = ExperimentPlan.from_parameters(BASE_PARAMS)
    assert plan.paths and plan.methods


def test_kedro_validates_what_the_plan_validates() -> None:
    """Every section a node takes typed is valid by Kedro's own check too."""
    from kedro.framework.project import pipelines  # noqa: PLC0415
    from kedro.framework.startup import bootstrap_project  # noqa: PLC0415

    bootstrap_project(BASE.parents[1])
    validator = ParameterValidator(dict(pipelines))
    requirements = validator.type_extractor.extract_types_from_pipelines()
    assert requirements["finetune"] is FinetuneSection
    assert requirements["stages.A"] is StageSection
    assert requirements["pretrain"] is TrainConfig
    assert requirements["data_prep"] is DataPrepSection
    assert requirements["theory"] is TheorySection
    assert requirements["unlearn"] is UnlearnSection
    assert requirements["evaluate"] is EvaluateSettings
    validated = validator.validate_raw_params(BASE_PARAMS)
    assert isinstance(validated["finetune"], FinetuneSection)
    assert plain(validated) == BASE_PARAMS  # the tree as configured, models turned back


def test_merged_stage_matches_the_mapping_route() -> None:
    finetune = FinetuneSection.model_validate(BASE_PARAMS["finetune"])
    stage = StageSection.model_validate(BASE_PARAMS["stages"]["C"])
    typed = stage_config(finetune, stage, "C", seed=11)
    raw = stage_config(BASE_PARAMS["finetune"], BASE_PARAMS["stages"]["C"], "C", seed=11)
    assert typed == raw and repr(typed) == repr(raw)
    assert raw.epochs == 6 and isinstance(raw.epochs, int)  # integers stay integers


def _takes_stage(stage: StageSection, finetune: FinetuneSection) -> str:
    assert isinstance(stage, StageSection) and isinstance(finetune, FinetuneSection)
    return f"{stage.dataset}:{finetune.lr}:{stage_config(finetune, stage, 'A', 0).epochs}"


def test_node_with_typed_parameter_receives_the_model() -> None:
    """Kedro's validator and its parameter feed, then a real runner: the node gets the model."""
    pipeline = Pipeline(
        [Node(_takes_stage, ["params:stages.A", "params:finetune"], "out", name="typed")]
    )
    params = {"stages": {"A": {"dataset": "facts", "epochs": 4}}, "finetune": {"lr": 0.5}}
    validated = ParameterValidator({"p": pipeline}).validate_raw_params(params)
    assert isinstance(validated["stages"]["A"], StageSection)
    # KedroContext._get_parameters reads only `self.params`: the catalog feed Kedro builds
    feed = KedroContext._get_parameters(SimpleNamespace(params=validated))
    catalog = DataCatalog({name: MemoryDataset(value) for name, value in feed.items()})
    outputs = SequentialRunner().run(pipeline, catalog)
    assert outputs["out"].load() == "facts:0.5:4"
    assert feed["params:stages.A.epochs"] == 4  # nested keys stay readable one by one
