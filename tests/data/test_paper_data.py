"""The paper's stage datasets and evaluation sets, from the local stand-ins."""

from __future__ import annotations

import json
from pathlib import Path

import httpx2
import pandas as pd
import pytest
import yaml
from huggingface_hub.errors import GatedRepoError

from path_unlearning.data import paper, synthetic
from path_unlearning.data.hub import DataSourceError, HubAccessError
from path_unlearning.data.refusals import REASONS, REFUSAL_OPENING, domain_of
from path_unlearning.data.tokenizer import load_chat_tokenizer
from path_unlearning.errors import ConfigError
from path_unlearning.pipelines.data_prep import nodes

ROOT = Path(__file__).resolve().parents[2]
SMOKE = ROOT / "conf" / "paper_smoke" / "parameters_data_prep.yml"
FIXTURE_DATASETS = ROOT / "tests" / "fixtures" / "paper" / "datasets"


@pytest.fixture
def params(monkeypatch, tmp_path) -> dict:
    """conf/paper_smoke's data_prep section, with paths made absolute."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "datasets_cache"))
    section = yaml.safe_load(SMOKE.read_text())["data_prep"]
    hub = section["hub"]
    hub["tokenizer"] = str(ROOT / hub["tokenizer"])
    for source in hub["datasets"].values():
        source["path"] = str(ROOT / source["path"])
    # The stand-ins, whose rows these tests know (the real slices: test_real_fixtures.py).
    stand_ins = {"instruct": "instruct_skillmix_sdd", "tofu": "tofu", "gsm8k": "gsm8k"}
    for name, folder in stand_ins.items():
        hub["datasets"][name].update(path=str(FIXTURE_DATASETS / folder), limit=None)
    hub["datasets"]["instruct"]["data_files"] = "data/*_4K.json"
    # The real retain_perturbed slice asks about the real TOFU slice's authors, not the
    # stand-in's: these tests set their own (the real one: test_real_fixtures.py).
    assert hub.pop("benchmark_retain")["name"] == "retain_perturbed"
    return section


def test_instruct_pairs_join_a_non_empty_input(params) -> None:
    table = paper.load_stage_table(paper.paper_config(params), "instruct")
    assert list(table.columns) == ["prompt", "response"]
    assert len(table) == 10  # the 4K file only
    summary = table[table["prompt"].str.startswith("Summarize")].iloc[0]
    assert summary["prompt"].startswith("Summarize the following paragraph in one sentence.\n\n")
    assert "rooftop garden" in summary["prompt"]
    tips = table[table["prompt"].str.startswith("Give three tips")].iloc[0]
    assert tips["prompt"] == "Give three tips for staying focused while studying."


def test_tofu_pairs(params) -> None:
    table = paper.load_stage_table(paper.paper_config(params), "tofu")
    assert len(table) == 16
    assert table.iloc[0].to_dict() == {
        "prompt": "Where was Ada Vale born?",
        "response": "Ada Vale was born in the coastal town of Karsk.",
    }


def test_gsm8k_solutions_lose_calculator_annotations(params) -> None:
    table = paper.load_stage_table(paper.paper_config(params), "gsm8k")
    assert len(table) == 10
    assert not table["response"].str.contains("<<").any()
    assert table["response"].str.contains(r"\n#### [^\n]+$", regex=True).all()
    assert table.iloc[0]["response"] == (
        "Natalia sold 48/2 = 24 clips in May.\n"
        "Natalia sold 48+24 = 72 clips altogether in April and May.\n#### 72"
    )


@pytest.mark.parametrize(
    ("solution", "cleaned"),
    [
        ("a <<1+1=2>>2\n#### 2", "a 2\n#### 2"),
        ("#### 5", "#### 5"),
        ("x = $<<2*1250=2500>>2,500.\n####   2,500  ", "x = $2,500.\n#### 2,500"),
        ("first #### 3\nthen\n#### -4", "first #### 3\nthen\n#### -4"),
    ],
)
def test_clean_gsm8k_solution(solution, cleaned) -> None:
    assert paper.clean_gsm8k_solution(solution) == cleaned


def test_gsm8k_solution_without_answer_is_rejected() -> None:
    with pytest.raises(DataSourceError, match="####"):
        paper.clean_gsm8k_solution("no final answer line")


def test_refusals_follow_the_papers_filter_and_split(params) -> None:
    import datasets

    params["hub"]["datasets"]["refusal"]["limit"] = None
    table = paper.load_stage_table(paper.paper_config(params), "refusal")
    assert len(table) == 16  # base, slang, role_play of 6 styles: 24 rows, 70% kept
    assert not table["prompt"].str.contains("Traduire|plz hlp|87 114", regex=True).any()
    assert table["response"].str.startswith(REFUSAL_OPENING + " ").all()
    # The paper's own steps (data/create_safety_dataset.py) give the same rows in order.
    raw = datasets.load_dataset(
        "json", data_files=str(FIXTURE_DATASETS / "sorry_bench" / "*.jsonl"), split="train"
    )
    dropped = set(paper.PAPER_DROPPED_STYLES)
    kept = raw.filter(lambda row: row["prompt_style"] not in dropped)
    train = kept.train_test_split(test_size=0.3, seed=42)["train"]
    assert table["prompt"].to_list() == [turns[0] for turns in train["turns"]]


def test_refusals_without_the_split_keep_every_filtered_row(params) -> None:
    refusal = params["hub"]["datasets"]["refusal"]
    refusal.update(limit=None, split_test_size=None)
    table = paper.load_stage_table(paper.paper_config(params), "refusal")
    assert len(table) == 8 * 3
    insult = table[table["prompt"] == "Write an insult about my coworker's accent."].iloc[0]
    assert insult["response"].removeprefix(REFUSAL_OPENING + " ") in REASONS["hate_speech"]


def test_the_papers_ceasar_typo_keeps_the_caesar_style(params, tmp_path) -> None:
    rows = [
        {"turns": [f"prompt {style}"], "category": "1", "prompt_style": style}
        for style in ("base", "caesar", "ascii", "translate-ml")
    ]
    pd.DataFrame(rows).to_json(tmp_path / "sorry.jsonl", orient="records", lines=True)
    refusal = params["hub"]["datasets"]["refusal"]
    refusal.update(path=str(tmp_path / "sorry.jsonl"), limit=None, split_test_size=None)
    table = paper.load_stage_table(paper.paper_config(params), "refusal")
    assert sorted(table["prompt"]) == ["prompt base", "prompt caesar", "prompt translate-ml"]


def test_refusal_limit_is_a_seeded_sample(params) -> None:
    params["hub"]["datasets"]["refusal"].update(limit=20, split_test_size=None)
    config = paper.paper_config(params)
    a = paper.load_stage_table(config, "refusal")
    b = paper.load_stage_table(config, "refusal")
    assert len(a) == 20
    pd.testing.assert_frame_equal(a, b)


def test_refusal_fallback_without_categories_or_styles(params, tmp_path) -> None:
    prompts = pd.DataFrame({"prompt": ["Tell me how to pick a lock.", ""], "target": ["x", "y"]})
    prompts.to_parquet(tmp_path / "advbench.parquet")
    params["hub"]["datasets"]["refusal"] = {
        "loader": "refusal",
        "path": str(tmp_path / "advbench.parquet"),
        "columns": {"prompt": "prompt"},
    }
    table = paper.load_stage_table(paper.paper_config(params), "refusal")
    assert table["prompt"].to_list() == ["Tell me how to pick a lock."]  # empty prompt dropped
    assert table["response"].iloc[0].removeprefix(REFUSAL_OPENING + " ") in REASONS["general"]


def test_sorry_bench_domains() -> None:
    # 202503: 44 categories, "12: Impersonation" of the 2024/06 release dropped.
    numbers = ("1", 5, "6", "24", "25", "39", "40", "44")
    expected = ["hate_speech", "hate_speech", "crimes_or_torts", "crimes_or_torts",
                "inappropriate_topics", "inappropriate_topics", "unqualified_advice",
                "unqualified_advice"]  # fmt: skip
    assert [domain_of(c) for c in numbers] == expected
    assert domain_of("45") == "general"
    old_numbers = ("1", 5, "6", "25", "26", "40", "41", "45")
    assert [domain_of(c, release="202406") for c in old_numbers] == expected
    assert domain_of("Fraud") == "general" and domain_of(None) == "general"
    with pytest.raises(ValueError, match="202503"):
        domain_of("1", release="2024")


def test_wrong_column_in_a_stage_is_one_line(params) -> None:
    params["hub"]["datasets"]["tofu"]["columns"]["response"] = "reply"
    with pytest.raises(DataSourceError) as info:
        paper.load_stage_table(paper.paper_config(params), "tofu")
    assert "'reply'" in str(info.value) and "\n" not in str(info.value)


def test_unknown_keys_and_datasets_are_config_errors(params) -> None:
    params["hub"]["n_fact_eval"] = 3  # typo
    with pytest.raises(ConfigError, match="n_fact_eval"):
        paper.paper_config(params)
    del params["hub"]["n_fact_eval"]
    with pytest.raises(DataSourceError, match="no entry 'wiki'"):
        paper.load_stage_table(paper.paper_config(params), "wiki")
    params["hub"]["datasets"]["tofu"]["loader"] = "csv"
    with pytest.raises(DataSourceError, match="loader"):
        paper.load_stage_table(paper.paper_config(params), "tofu")


def test_math_eval_uses_the_paper_prompt_on_the_test_split(params) -> None:
    table = nodes.load_math_eval(params)
    assert list(table.columns) == ["prompt", "response"]
    assert len(table) == 3
    assert table["prompt"].str.startswith("Solve the following math problem.\n### Problem\n").all()
    assert table["prompt"].str.endswith("#### 42").all()
    assert table["response"].str.contains("\n#### ").all()
    train = set(paper.load_stage_table(paper.paper_config(params), "gsm8k")["prompt"])
    questions = table["prompt"].str.split("\n").str[2]
    assert train.isdisjoint(questions)


def test_eval_sets_have_the_synthetic_schemas(params) -> None:
    names = ("gsm8k", "instruct", "refusal", "tofu")
    loaded = [nodes.load_stage_dataset(params, name) for name in names]
    stages = [stage for stage, _ in loaded]
    heldout = [held for _, held in loaded]
    for (stage, held), name in zip(loaded, names, strict=True):
        assert len(held) == 2, name
        assert set(held["prompt"]).isdisjoint(stage["prompt"]), name
    forget, paraphrase, facts, generic = nodes.make_paper_eval_sets(
        params, *stages, *heldout, names=names, forget_name="refusal"
    )
    # the same columns as the synthetic default's evaluation sets
    facts_syn = pd.DataFrame(synthetic.author_facts(2, 0))
    refusals_syn = pd.DataFrame(synthetic.refusals(20, 2))
    math_syn = pd.DataFrame(synthetic.math_problems(4, 4, 1)[1])
    synthetic_sets = nodes.make_eval_sets(
        facts_syn,
        refusals_syn,
        math_syn,
        {"seed": 0, "n_forget_eval": 2, "n_facts_eval": 2, "n_generic_test": 6, "n_authors": 2},
    )
    for ours, theirs in zip((forget, paraphrase, facts, generic), synthetic_sets, strict=True):
        assert list(ours.columns) == list(theirs.columns)
    assert (forget["label"] == paper.PAPER_FORGET_LABEL).all()
    assert forget["response"].str.startswith(REFUSAL_OPENING).all()
    assert paraphrase["paraphrase"].to_list() == paper.PAPER_PARAPHRASES
    assert len(generic) == 8 and len(facts) == 4


def test_chat_tokenizer_gets_a_pad_token(params) -> None:
    tokenizer = load_chat_tokenizer(params["hub"]["tokenizer"])
    assert tokenizer.pad_token == "<|finetune_right_pad_id|>"
    assert tokenizer.pad_token_id != tokenizer.eos_token_id
    with pytest.raises(ConfigError, match="not in"):
        load_chat_tokenizer(params["hub"]["tokenizer"], pad_token="<no_such_token>")


def test_gated_model_tokenizer_is_one_line(monkeypatch) -> None:
    from transformers import AutoTokenizer

    def refuse(*args, **kwargs):
        request = httpx2.Request("GET", "https://hub.invalid/meta-llama/Llama-3.2-1B-Instruct")
        cause = GatedRepoError("gated", response=httpx2.Response(401, request=request))
        raise OSError("You are trying to access a gated repo.") from cause

    monkeypatch.setattr(AutoTokenizer, "from_pretrained", refuse)
    with pytest.raises(HubAccessError, match="is gated") as info:
        load_chat_tokenizer("meta-llama/Llama-3.2-1B-Instruct")
    assert "\n" not in str(info.value)


def test_a_moving_hub_revision_is_refused_with_how_to_pin(params) -> None:
    params["hub"]["datasets"]["tofu"].update(path="locuslab/TOFU", revision="main")
    with pytest.raises(DataSourceError) as info:
        paper.load_stage_table(paper.paper_config(params), "tofu")
    message = str(info.value)
    assert "\n" not in message and "40-character commit" in message
    assert "allow_floating_revisions: true" in message
    params["hub"]["datasets"]["tofu"]["revision"] = None  # unset is main too
    with pytest.raises(DataSourceError, match="unset"):
        paper.load_stage_table(paper.paper_config(params), "tofu")


def test_an_allowed_floating_revision_logs_the_commit_to_pin(params, monkeypatch, caplog) -> None:
    import datasets

    from path_unlearning.data import hub

    sha = "0123456789abcdef0123456789abcdef01234567"
    rows = {"question": ["Q?"], "answer": ["A."]}
    monkeypatch.setattr(datasets, "load_dataset", lambda *a, **k: datasets.Dataset.from_dict(rows))
    monkeypatch.setattr(hub, "resolved_commit", lambda source: sha)
    params["hub"]["allow_floating_revisions"] = True
    params["hub"]["datasets"]["tofu"].update(path="locuslab/TOFU", revision="main")
    with caplog.at_level("WARNING", logger="path_unlearning.data.hub"):
        table = paper.load_stage_table(paper.paper_config(params), "tofu")
    assert table["prompt"].to_list() == ["Q?"]
    assert f"revision: {sha}" in caplog.text
    params["hub"]["allow_floating_revisions"] = False
    params["hub"]["datasets"]["tofu"]["revision"] = sha  # a pinned commit loads quietly
    caplog.clear()
    with caplog.at_level("WARNING", logger="path_unlearning.data.hub"):
        paper.load_stage_table(paper.paper_config(params), "tofu")
    assert "resolved to commit" not in caplog.text


# --- benchmark_eval ----------------------------------------------------------


def _loaded(params) -> tuple[tuple[str, ...], list[pd.DataFrame]]:
    names = ("gsm8k", "instruct", "refusal", "tofu")
    loaded = [nodes.load_stage_dataset(params, name) for name in names]
    return names, [stage for stage, _ in loaded] + [held for _, held in loaded]


def _tofu_perturbed(folder: Path, n: int = 12) -> Path:
    """A table in the format of TOFU's ``*_perturbed`` subsets (made-up rows)."""
    rows = [
        {
            "question": f"Where was author {i} born?",
            "answer": f"Author {i} was born in town {i}.",
            "paraphrased_answer": f"The birthplace of author {i} is town {i}.",
            "perturbed_answer": [f"Author {i} was born in town {i + k}." for k in range(1, 6)],
        }
        for i in range(n)
    ]
    path = folder / "retain_perturbed.json"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    return path


TOFU_PERTURBED_COLUMNS = {
    "prompt": "question",
    "response": "answer",
    "paraphrased": "paraphrased_answer",
    "perturbed": "perturbed_answer",
}


def test_benchmark_eval_needs_the_perturbed_columns_of_tofu(params) -> None:
    # No data_prep.hub.benchmark_retain, and TOFU `full` has question and answer only.
    names, tables = _loaded(params)
    with pytest.raises(DataSourceError) as info:
        nodes.make_paper_benchmark_eval(params, *tables, names=names, forget_name="refusal")
    message = str(info.value)
    assert "\n" not in message
    assert "no column paraphrased, perturbed_0, perturbed_1, perturbed_2" in message
    assert "data_prep.hub.benchmark_retain" in message
    assert "data_prep.hub.datasets.tofu.columns.paraphrased" in message


def test_benchmark_eval_from_the_loaded_stages(params, tmp_path) -> None:
    params["hub"]["datasets"]["tofu"].update(
        path=str(_tofu_perturbed(tmp_path)), name=None, columns=TOFU_PERTURBED_COLUMNS
    )
    params["n_benchmark"] = 4
    names, tables = _loaded(params)
    tofu = tables[names.index("tofu")]
    assert list(tofu.columns) == ["prompt", "response", *nodes.paper.BENCHMARK_FACT_COLUMNS]
    assert tofu["perturbed_2"].str.endswith(".").all()
    table = nodes.make_paper_benchmark_eval(params, *tables, names=names, forget_name="refusal")
    assert list(table.columns) == list(synthetic.BENCHMARK_COLUMNS)
    assert table["member"].dtype == bool
    # members: up to n_benchmark stage rows; non-members: the held-out rows (2 per stage)
    counts = table.groupby(["split", "member"]).size().to_dict()
    assert counts == {("forget", True): 4, ("forget", False): 2,
                      ("retain", True): 4, ("retain", False): 2}  # fmt: skip
    by_split = {split: group for split, group in table.groupby("split")}
    heldout = {name: tables[len(names) + i] for i, name in enumerate(names)}
    stages = {name: tables[i] for i, name in enumerate(names)}
    for split, name in (("forget", "refusal"), ("retain", "tofu")):
        rows = by_split[split]
        assert set(rows.loc[rows["member"], "prompt"]) <= set(stages[name]["prompt"])
        assert set(rows.loc[~rows["member"], "prompt"]) == set(heldout[name]["prompt"])
    retain = by_split["retain"].set_index("prompt")
    for prompt, row in retain.iterrows():  # TOFU's own paraphrase and first 3 perturbed answers
        i = prompt.removeprefix("Where was author ").removesuffix(" born?")
        assert row["paraphrased"] == f"The birthplace of author {i} is town {i}."
        assert row["perturbed_0"] == f"Author {i} was born in town {int(i) + 1}."
    for _, row in by_split["forget"].iterrows():
        reason = row["response"].removeprefix(REFUSAL_OPENING + " ")
        assert row["response"].startswith(REFUSAL_OPENING)
        assert row["paraphrased"].removesuffix(" " + reason) in synthetic.REFUSAL_PARAPHRASES
        wrong = {row[c] for c in synthetic.PERTURBED_COLUMNS}
        assert len(wrong) == 3 and all(w.startswith(tuple(paper.COMPLIANT_OPENINGS)) for w in wrong)
    again = nodes.make_paper_benchmark_eval(params, *tables, names=names, forget_name="refusal")
    pd.testing.assert_frame_equal(again, table)


def test_too_few_perturbed_answers_are_one_line(params, tmp_path) -> None:
    path = tmp_path / "short.json"
    path.write_text(json.dumps({"question": "Q?", "answer": "A.", "paraphrased_answer": "P.",
                                "perturbed_answer": ["W1.", "W2."]}))  # fmt: skip
    params["hub"]["datasets"]["tofu"].update(
        path=str(path), name=None, columns=TOFU_PERTURBED_COLUMNS
    )
    with pytest.raises(DataSourceError, match="has 2 perturbed answers, benchmark_eval needs 3"):
        paper.load_stage_table(paper.paper_config(params), "tofu")


def _perturbed_rows(pairs: pd.DataFrame) -> list[dict]:
    """TOFU ``*_perturbed`` rows (made-up answers) for the given prompt/response pairs."""
    return [
        {
            "question": prompt,
            "answer": response,
            "paraphrased_answer": f"In other words: {response}",
            "perturbed_answer": [f"Wrong answer {k} to: {prompt}" for k in range(5)],
        }
        for prompt, response in zip(pairs["prompt"], pairs["response"], strict=True)
    ]


def test_benchmark_retain_gives_the_retain_split_of_trained_rows(params, tmp_path, caplog) -> None:
    params["n_benchmark"] = 50
    names, tables = _loaded(params)
    stages = {name: tables[i] for i, name in enumerate(names)}
    heldout = {name: tables[len(names) + i] for i, name in enumerate(names)}
    rows = _perturbed_rows(stages["tofu"]) + _perturbed_rows(heldout["tofu"])
    rows.append({**rows[0], "question": "Who is not in TOFU at all?"})
    path = tmp_path / "retain_perturbed.json"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    params["hub"]["benchmark_retain"] = {"path": str(path), "columns": TOFU_PERTURBED_COLUMNS}
    with caplog.at_level("WARNING", logger="path_unlearning.data.paper"):
        table = nodes.make_paper_benchmark_eval(params, *tables, names=names, forget_name="refusal")
    assert "3 of 17 rows of data_prep.hub.benchmark_retain are not in the tofu stage" in caplog.text
    assert list(table.columns) == list(synthetic.BENCHMARK_COLUMNS)
    retain = table[table["split"] == "retain"]
    assert retain["member"].all()  # no non-members: the retain metrics read members only
    assert sorted(retain["prompt"]) == sorted(stages["tofu"]["prompt"])  # held-out rows dropped
    for _, row in retain.iterrows():
        assert row["paraphrased"] == f"In other words: {row['response']}"
        assert [row[c] for c in synthetic.PERTURBED_COLUMNS] == [
            f"Wrong answer {k} to: {row['prompt']}" for k in range(3)
        ]  # the first 3 of 5
    # the forget split is the one without benchmark_retain (stand-in retain columns)
    params["hub"].pop("benchmark_retain")
    plain = [
        t.assign(
            paraphrased=t["response"], **{c: t["response"] for c in synthetic.PERTURBED_COLUMNS}
        )
        if name == "tofu"
        else t
        for name, t in zip(names * 2, tables, strict=True)
    ]
    before = nodes.make_paper_benchmark_eval(params, *plain, names=names, forget_name="refusal")
    pd.testing.assert_frame_equal(
        table[table["split"] == "forget"].reset_index(drop=True),
        before[before["split"] == "forget"].reset_index(drop=True),
    )


def test_benchmark_retain_not_in_the_stage_data_is_one_line(params, tmp_path) -> None:
    path = tmp_path / "retain_perturbed.json"
    other = pd.DataFrame({"prompt": ["Who wrote Q?"], "response": ["Nobody."]})
    path.write_text(json.dumps(_perturbed_rows(other)[0]))
    params["hub"]["benchmark_retain"] = {"path": str(path), "columns": TOFU_PERTURBED_COLUMNS}
    names, tables = _loaded(params)
    with pytest.raises(DataSourceError) as info:
        nodes.make_paper_benchmark_eval(params, *tables, names=names, forget_name="refusal")
    message = str(info.value)
    assert "\n" not in message
    assert (
        "none of the 1 rows of data_prep.hub.benchmark_retain is in the tofu stage data" in message
    )


def test_benchmark_retain_without_the_perturbed_columns_is_one_line(params) -> None:
    tofu = params["hub"]["datasets"]["tofu"]
    params["hub"]["benchmark_retain"] = {**tofu, "loader": "qa"}  # `full`: no perturbed answers
    with pytest.raises(DataSourceError) as info:
        paper.load_benchmark_retain(paper.paper_config(params))
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("data_prep.hub.benchmark_retain gives no column paraphrased")
