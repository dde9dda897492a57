"""Loaders, chat masking and answer extraction on real dataset slices and a real tokenizer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from path_unlearning.data import paper, synthetic
from path_unlearning.data.chat import IGNORE_INDEX, encode_records, prompt_text
from path_unlearning.data.hub import HubSource, load_table
from path_unlearning.data.refusals import REASONS, REFUSAL_OPENING
from path_unlearning.data.tokenizer import load_chat_tokenizer
from path_unlearning.metrics.scores import extract_answer, math_accuracy

ROOT = Path(__file__).resolve().parents[2]
REAL = ROOT / "tests" / "fixtures" / "real"
GSM8K_ROWS = {"train": 64, "test": 44}


def _config(**datasets) -> paper.PaperDataConfig:
    return paper.paper_config({"seed": 0, "hub": {"datasets": datasets}})


@pytest.mark.parametrize("split", ["train", "test"])
def test_gsm8k_loader_cleans_every_real_solution(split) -> None:
    source = {"loader": "gsm8k", "path": str(REAL / "gsm8k"), "name": "main", "split": split,
              "columns": {"prompt": "question", "response": "answer"}}  # fmt: skip
    table = paper.load_stage_table(_config(gsm8k=source), "gsm8k")
    raw = [json.loads(line) for line in (REAL / "gsm8k" / "main" / f"{split}.jsonl").open()]
    assert len(table) == len(raw) == GSM8K_ROWS[split]
    assert not table["response"].str.contains("<<").any()
    finals = [r["answer"].rsplit("####", 1)[1].strip() for r in raw]
    assert [extract_answer(r) for r in table["response"]] == [
        extract_answer(f"#### {f}") for f in finals
    ]
    assert any(f.startswith("-") for f in finals) or any("," in f for f in finals)
    # A model that writes the reference solution scores 1; a wrong last line scores 0.
    assert math_accuracy(table["response"].to_list(), table["response"].to_list()) == 1.0
    wrong = [r.rsplit("####", 1)[0] + "#### 123456789" for r in table["response"]]
    assert math_accuracy(wrong, table["response"].to_list()) == 0.0


def test_tofu_and_instruct_skillmix_loaders_on_real_rows() -> None:
    tofu = {"loader": "qa", "path": str(REAL / "tofu"), "name": "full",
            "columns": {"prompt": "question", "response": "answer"}}  # fmt: skip
    instruct = {"loader": "instruct", "path": str(REAL / "instruct_skillmix_sda"),
                "data_files": "data/ism_sda_k2_40.json",
                "columns": {"prompt": "instruction", "input": "input", "response": "output"}}  # fmt: skip
    config = _config(tofu=tofu, instruct=instruct)
    facts, pairs = (
        paper.load_stage_table(config, "tofu"),
        paper.load_stage_table(config, "instruct"),
    )
    raw = json.loads((REAL / "instruct_skillmix_sda" / "data" / "ism_sda_k2_40.json").read_text())
    assert len(facts) == 40 and facts["prompt"].str.endswith("?").mean() > 0.9
    assert pairs["prompt"].to_list() == [r["instruction"].strip() for r in raw]  # input is empty
    assert pairs["response"].to_list() == [r["output"].strip() for r in raw]


def test_advbench_fallback_loader_on_the_real_csv() -> None:
    source = {"loader": "refusal", "path": str(REAL / "advbench" / "harmful_behaviors.csv"),
              "columns": {"prompt": "goal"}}  # fmt: skip
    table = paper.load_stage_table(_config(refusal=source), "refusal")
    assert len(table) == 520 == len(load_table(HubSource(path=source["path"])))
    reasons = table["response"].str.removeprefix(REFUSAL_OPENING + " ")
    assert reasons.isin(REASONS["general"]).all()


@pytest.mark.parametrize("system_prompt", [None, paper.PAPER_SYSTEM_PROMPT])
def test_real_qwen_tokenizer_masks_everything_but_the_answer(system_prompt) -> None:
    tokenizer = load_chat_tokenizer(str(REAL / "qwen25_instruct"), system_prompt=system_prompt)
    facts = [json.loads(line) for line in (REAL / "tofu" / "full.json").open()][:20]
    prompts, answers = [f["question"] for f in facts], [f["answer"] for f in facts]
    rendered = prompt_text(tokenizer, prompts[0])
    assert ("You are Qwen" in rendered) == (system_prompt is None)
    if system_prompt:
        assert rendered.startswith(f"<|im_start|>system\n{system_prompt}<|im_end|>\n")
    for example, answer in zip(encode_records(tokenizer, prompts, answers), answers, strict=True):
        labelled = [t for t in example["labels"] if t != IGNORE_INDEX]
        assert tokenizer.decode(labelled) == answer + "<|im_end|>"
        n_prompt = example["labels"].index(labelled[0])
        assert example["input_ids"][n_prompt:] == labelled  # the answer, then end of turn


def _real_stages() -> tuple[paper.PaperDataConfig, dict, dict]:
    tofu = {"loader": "qa", "path": str(REAL / "tofu"), "name": "full",
            "columns": {"prompt": "question", "response": "answer"}}  # fmt: skip
    refusal = {"loader": "refusal", "path": str(REAL / "advbench" / "harmful_behaviors.csv"),
               "columns": {"prompt": "goal"}}  # fmt: skip
    config = _config(tofu=tofu, refusal=refusal)
    split = {
        name: paper.split_heldout(paper.load_stage_table(config, name), 8, 0)
        for name in ("tofu", "refusal")
    }
    return config, {n: s for n, (s, _) in split.items()}, {n: h for n, (_, h) in split.items()}


def test_benchmark_eval_on_real_tofu_full_names_the_missing_columns() -> None:
    # TOFU `full` has question and answer only; the perturbed answers are in *_perturbed.
    config, stages, heldout = _real_stages()
    with pytest.raises(paper.DataSourceError) as info:
        paper.benchmark_table(config, stages, heldout, "refusal", 4)
    message = str(info.value)
    assert "\n" not in message
    assert "tofu stage data has no column paraphrased, perturbed_0, perturbed_1" in message


def test_benchmark_forget_rows_on_real_advbench_refusals() -> None:
    config, stages, heldout = _real_stages()
    for table in (stages, heldout):  # stand-in columns: the real slice has none
        facts = table["tofu"]
        table["tofu"] = facts.assign(
            paraphrased=facts["response"],
            **{c: facts["response"] + f" ({c})" for c in synthetic.PERTURBED_COLUMNS},
        )
    table = paper.benchmark_table(config, stages, heldout, "refusal", 6)
    forget = table[table["split"] == "forget"]
    assert forget.groupby("member").size().to_dict() == {False: 6, True: 6}
    assert set(forget.loc[~forget["member"], "prompt"]) <= set(heldout["refusal"]["prompt"])
    assert set(forget.loc[forget["member"], "prompt"]) <= set(stages["refusal"]["prompt"])
    for _, row in forget.iterrows():
        reason = row["response"].removeprefix(REFUSAL_OPENING + " ")
        assert reason in REASONS["general"]
        assert row["paraphrased"].endswith(" " + reason)
        assert not any(row[c].startswith("Sorry") for c in synthetic.PERTURBED_COLUMNS)


def _retain_perturbed_config() -> dict:
    """conf/paper_smoke's ``data_prep.hub.benchmark_retain``, its path made absolute."""
    smoke = yaml.safe_load((ROOT / "conf" / "paper_smoke" / "parameters_data_prep.yml").read_text())
    section = smoke["data_prep"]["hub"]["benchmark_retain"]
    assert Path(section["path"]) == Path("tests/fixtures/real/tofu")
    return {**section, "path": str(ROOT / section["path"])}


def test_real_retain_perturbed_slice_asks_the_full_slices_questions() -> None:
    raw = [json.loads(line) for line in (REAL / "tofu" / "retain_perturbed.json").open()]
    full = [json.loads(line) for line in (REAL / "tofu" / "full.json").open()]
    assert len(raw) == 20 and all(len(r["perturbed_answer"]) == 5 for r in raw)
    assert [(r["question"], r["answer"]) for r in raw] == [
        (f["question"], f["answer"]) for f in full[:20]
    ]


def test_benchmark_eval_retain_split_from_real_retain_perturbed() -> None:
    config, stages, heldout = _real_stages()
    config = config.model_copy(update={"benchmark_retain": _retain_perturbed_config()})
    retain = paper.load_benchmark_retain(config)
    raw = {
        r["question"]: r for r in map(json.loads, (REAL / "tofu" / "retain_perturbed.json").open())
    }
    assert len(retain) == 20
    table = paper.benchmark_table(config, stages, heldout, "refusal", 50, retain=retain)
    rows = table[table["split"] == "retain"]
    assert rows["member"].all()  # members only: the retain metrics read no non-members
    trained = set(stages["tofu"]["prompt"]) & set(raw)
    assert set(rows["prompt"]) == trained and len(rows) == len(trained) > 0
    assert not set(rows["prompt"]) & set(heldout["tofu"]["prompt"])
    for _, row in rows.iterrows():
        source = raw[row["prompt"]]
        assert row["response"] == source["answer"]
        assert row["paraphrased"] == source["paraphrased_answer"]
        # TOFU gives 5 perturbed answers; benchmark_eval keeps the first 3, in order
        assert [row[c] for c in synthetic.PERTURBED_COLUMNS] == source["perturbed_answer"][:3]
    # the forget split is the one built without benchmark_retain
    for tables in (stages, heldout):
        facts = tables["tofu"]
        tables["tofu"] = facts.assign(
            paraphrased=facts["response"],
            **{c: facts["response"] for c in synthetic.PERTURBED_COLUMNS},
        )
    before = paper.benchmark_table(config.model_copy(update={"benchmark_retain": None}),
                                   stages, heldout, "refusal", 50)  # fmt: skip
    forget = table[table["split"] == "forget"].reset_index(drop=True)
    assert len(forget) > 0
    assert forget.equals(before[before["split"] == "forget"].reset_index(drop=True))
