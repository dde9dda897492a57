"""A toy metric added the documented way (docs/how_to_add_metric.md): one registry entry.

Registering it is the only step; the test shows that it then reaches the evaluate
node's ``evaluation_scores`` rows, the ``evaluation_scores`` schema and the
rendering of ``docs/tables.md``, and the report's Table 1 (numeric and blocks).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml
from transformers import AutoModelForCausalLM

from path_unlearning import schemas
from path_unlearning.metrics import registry
from path_unlearning.metrics.probes import FACTS, ll_tok
from path_unlearning.metrics.registry import Metric
from path_unlearning.pipelines.report import nodes as report_nodes
from tests.pipelines.evaluate import probe

ROOT = Path(__file__).resolve().parents[2]
REPORT_PARAMS = yaml.safe_load((ROOT / "conf" / "base" / "parameters_report.yml").read_text())

# The one entry: name, function of (before, after) scores, meaning, Table 1 block.
TOY = Metric(
    name="facts_gain",
    compute=lambda before, after: after[ll_tok(FACTS)] - before[ll_tok(FACTS)],
    meaning="facts_ll_tok_after - facts_ll_tok_before (toy metric)",
    block="Facts gain",
    table1=True,
)


@pytest.fixture(scope="module")
def after_table():
    """The evaluate nodes on a tiny Llama, with the toy metric registered."""
    base = AutoModelForCausalLM.from_pretrained(probe.MODEL, use_safetensors=True).eval()
    torch.manual_seed(0)
    with registry.registered(TOY):
        return probe.run_nodes(base, probe.eval_sets())["after"]


def test_the_toy_metric_reaches_the_evaluate_nodes_table(after_table) -> None:
    rows = after_table.set_index("metric")["value"]
    assert list(after_table.columns) == list(schemas.EVALUATION_SCORES.names)
    assert after_table["metric"].iloc[-1] == TOY.name  # registered last, written last
    expected = rows[schemas.after(ll_tok(FACTS))] - rows[schemas.before(ll_tok(FACTS))]
    assert rows[TOY.name] == expected
    # the other metrics are untouched: same names, same order as without the toy
    assert list(after_table["metric"].iloc[:-1]) == list(registry.metric_names())


def test_the_toy_metric_reaches_the_schema_and_docs() -> None:
    row = f"| `{TOY.name}` | {TOY.meaning} |"
    with registry.registered(TOY):
        assert TOY.name in [c.name for c in schemas.EVALUATION_SCORES.metrics]
        assert row in schemas.tables_markdown()
        assert registry.table1_blocks()[TOY.name] == TOY.block
    assert TOY.name not in registry.metric_names()  # unregistered after the block
    assert row not in schemas.tables_markdown()
    assert row not in (ROOT / "docs" / "tables.md").read_text()


def test_the_toy_metric_reaches_the_reports_table1(after_table) -> None:
    with registry.registered(TOY):
        summary, blocks = report_nodes.make_table1(after_table, REPORT_PARAMS["report"])
    assert TOY.name in set(summary["metric"])
    assert list(blocks["block"].unique()) == [
        "Forget score ↑", "Facts utility ↑", "Math utility ↑", TOY.block,
    ]  # fmt: skip
    toy = blocks[blocks["block"] == TOY.block]
    value = after_table.set_index("metric").loc[TOY.name, "value"]
    assert toy["ga"].tolist() == [f"{value:.3f}"]  # one seed: the mean alone


def test_a_metric_name_is_registered_once() -> None:
    with pytest.raises(ValueError, match="registered already"):
        registry.register(Metric(schemas.FACTS_UTILITY, TOY.compute, "duplicate"))
