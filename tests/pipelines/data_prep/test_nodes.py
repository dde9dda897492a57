"""data_prep's nodes and pipeline: benchmark_eval, and the tables it must not change."""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest

from path_unlearning.data import synthetic
from path_unlearning.errors import ConfigError
from path_unlearning.metrics.probes import BENCHMARK_SET, EVAL_SETS, PROBE_SETS
from path_unlearning.pipelines.data_prep import nodes
from path_unlearning.pipelines.data_prep.pipeline import create_pipeline
from path_unlearning.plan import ExperimentPlan

MICRO = {"n_authors": 3, "n_math_train": 40, "n_math_test": 10, "n_refusals": 30,
         "n_pretrain": 60, "n_generic_test": 12, "n_facts_eval": 8, "n_forget_eval": 8}  # fmt: skip

# sha256 of every table (DataFrame.to_json(orient="split")) and of the tokenizer
# (its tokenizers JSON), computed before benchmark_eval existed: the stage data, the
# evaluation sets, the pretraining corpus and the tokenizer of the default must stay
# bitwise the same (every base model, adapter and result depends on them).
GOLDEN = {
    "default": {
        "stage": [
            "2bbf9db27d86f5a0c505d3994d9e5ba27540778abd93ae5544ae645006e2a7b1",
            "f09470a2c23101709ae78f78254be481c733a62d3f589af10c856a69d12b6b92",
            "265a1e89538d2a2f865daa9ab44aa8dbf0fd5bfee96cd57ef36dc33464137324",
            "434e3132571d4d88db03e5e3b9be0eb38e273af5853647757f973a2d68e9ea37",
            "d1a013a048d5237e4f9c196b3e139c287b3b5c6ada1e58a3994bd0429d180720",
        ],
        "eval": [
            "4170ce9f86913dc6aae50e5fa47cf236d1a906f7b9f3d9f34c147e501fd9930f",
            "1ee470dd8d17bb364e68576b0ee73e01c0b37f71d67ea6c1350196b835c8f1ab",
            "c89991c6f3276712bf76c7b1a28dcd18b9184af1ce84ccf87143f875df38e8b4",
            "a3f8fe459a4bce2180c533fb16d87f3cda73b946917bb291be9b88528c77dabb",
        ],
        "tokenizer": "b8542210f8280fbb843e681e5d0cd7170e78f95cd57b30df6b7fe7c67b0199c7",
    },
    "micro": {
        "stage": [
            "f5d564da6787efa105b29349689f6edea66f6b0499e6359b3a4d367ac3490f6a",
            "f9d801195121da8d34cf667bd3978f3a6b8f59ee8c699b67514583e5776f75d9",
            "307164797022dc9efb95d130abc10a6b1d41bdde7ea7d917617d8d781e109d6c",
            "b1532c84aed577b19402b9d5ca3b5e457996d99bf4a1f9fa57ddd1b2b71fb80c",
            "6fccc05f8c00d7e925938cfaa385f26cc7aedc2d5ce006b48f17a9429ba5992a",
        ],
        "eval": [
            "8723c832e92ce5ae0382c1ecb5ceb8f267da2fa655f48ba2976b9d2b10e6c900",
            "1ee470dd8d17bb364e68576b0ee73e01c0b37f71d67ea6c1350196b835c8f1ab",
            "d7db8b4321e976c13623fba646b4ce783f4d4cf1f2cad4c141ee1420808391cf",
            "d5376e8f724e8553646ff46dc8d825ec7826e5e6090cc67722ea9d5d756ccd5a",
        ],
        "tokenizer": "267ba4b94a6be039e58058f2f3d6d0ab83f560a12c3a8905e2d4aeb8830913e5",
    },
}
SIZES = {"default": {}, "micro": MICRO}


def _sha(table: pd.DataFrame) -> str:
    return hashlib.sha256(table.to_json(orient="split").encode()).hexdigest()


@pytest.fixture(scope="module", params=sorted(SIZES))
def prepared(request) -> dict:
    """Every synthetic data_prep output, at the default sizes and the micro project's."""
    params = SIZES[request.param]
    stage = nodes.make_stage_data(params)
    facts, math, math_test, refusals, corpus = stage
    return {
        "name": request.param,
        "params": params,
        "stage": stage,
        "eval": nodes.make_eval_sets(facts, refusals, math_test, params),
        "benchmark": nodes.make_benchmark_eval(facts, refusals, params),
        "tokenizer": nodes.build_tokenizer(corpus, facts, math, math_test, refusals, {}),
    }


def test_stage_data_eval_sets_and_tokenizer_are_unchanged(prepared) -> None:
    golden = GOLDEN[prepared["name"]]
    assert [_sha(t) for t in prepared["stage"]] == golden["stage"]
    assert [_sha(t) for t in prepared["eval"]] == golden["eval"]
    tokenizer_json = prepared["tokenizer"].backend_tokenizer.to_str()
    assert hashlib.sha256(tokenizer_json.encode()).hexdigest() == golden["tokenizer"]


def test_benchmark_eval_has_no_unknown_token(prepared) -> None:
    tokenizer, table = prepared["tokenizer"], prepared["benchmark"]
    texts = table[["prompt", "response", "paraphrased", *synthetic.PERTURBED_COLUMNS]]
    unk = tokenizer.unk_token_id
    unknown = [t for t in texts.to_numpy().ravel() if unk in tokenizer(t)["input_ids"]]
    assert not unknown
    assert len(table) > 0


def test_benchmark_eval_columns_and_sizes(prepared) -> None:
    table = prepared["benchmark"]
    assert list(table.columns) == list(synthetic.BENCHMARK_COLUMNS) == [
        "split", "member", "prompt", "response", "paraphrased",
        "perturbed_0", "perturbed_1", "perturbed_2",
    ]  # fmt: skip
    assert table["member"].dtype == bool
    counts = table.groupby(["split", "member"]).size().to_dict()
    if prepared["name"] == "default":  # 32 of each (data_prep.n_benchmark)
        assert counts == {(s, m): 32 for s in ("forget", "retain") for m in (False, True)}
    else:  # the micro project trains 30 refusals and 3 authors (18 facts): all of them
        assert counts == {("forget", False): 32, ("forget", True): 30,
                          ("retain", False): 32, ("retain", True): 18}  # fmt: skip
    facts, refusals = prepared["stage"][0], prepared["stage"][3]
    trained = pd.concat([facts, refusals])
    members = table[table["member"]]
    assert set(zip(members["prompt"], members["response"], strict=True)) <= set(
        zip(trained["prompt"], trained["response"], strict=True)
    )
    assert not set(table.loc[~table["member"], "prompt"]) & set(trained["prompt"])
    again = nodes.make_benchmark_eval(facts, refusals, prepared["params"])
    pd.testing.assert_frame_equal(again, table)


def test_n_benchmark_sets_the_rows_per_split_and_membership() -> None:
    facts, _, _, refusals, _ = nodes.make_stage_data(MICRO)
    table = nodes.make_benchmark_eval(facts, refusals, {**MICRO, "n_benchmark": 5})
    assert table.groupby(["split", "member"]).size().eq(5).all() and len(table) == 20
    with pytest.raises(ConfigError, match="n_benchmark"):
        nodes.make_benchmark_eval(facts, refusals, {**MICRO, "n_benchmark": 0})


def test_benchmark_set_is_no_probe_set() -> None:
    assert BENCHMARK_SET == "benchmark_eval"
    assert BENCHMARK_SET not in PROBE_SETS and BENCHMARK_SET not in EVAL_SETS


@pytest.mark.parametrize("source", ["synthetic", "hub"])
def test_data_prep_writes_benchmark_eval(source) -> None:
    plan = ExperimentPlan(paths=("UT",), forget_stage="U", data_source=source,
                          stage_datasets={"U": "refusal", "T": "tofu"})  # fmt: skip
    pipeline = create_pipeline(plan)
    (node,) = [n for n in pipeline.nodes if n.name == "make_benchmark_eval"]
    assert node.outputs == [BENCHMARK_SET]
    if source == "synthetic":
        assert node.inputs == ["facts_stage_data", "refusal_stage_data", "params:data_prep"]
    else:
        assert set(node.inputs) == {"params:data_prep", "refusal_stage_data", "tofu_stage_data",
                                    "refusal_heldout", "tofu_heldout"}  # fmt: skip
