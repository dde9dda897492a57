"""Loaders, chat masking and answer extraction on real dataset slices and a real tokenizer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from path_unlearning.data import paper, synthetic
from path_unlearning.data.chat import IGNORE_INDEX, encode_records, prompt_text
from path_unlearning.data.hub import HubSource, load_table
from path_unlearning.data.refusals import REASONS, REFUSAL_OPENING
from path_unlearning.data.tokenizer import load_chat_tokenizer
from path_unlearning.metrics.scores import extract_answer, math_accuracy

REAL = Path(__file__).resolve().parents[1] / "fixtures" / "real"
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
