"""docs/tables.md is generated from the schema module and lists every column."""

from __future__ import annotations

from pathlib import Path

from path_unlearning import schemas

DOCS = Path(__file__).resolve().parents[2] / "docs" / "tables.md"


def test_docs_tables_is_generated_from_the_schemas() -> None:
    text = DOCS.read_text()
    assert text == schemas.tables_markdown(), (
        "docs/tables.md is stale: python -m path_unlearning.schemas > docs/tables.md"
    )
    for schema in schemas.SCHEMAS:
        assert f"`{schema.name}`" in text
        for column in (*schema.columns, *schema.metrics):
            assert f"| `{column.name}` |" in text, (schema.name, column.name)


def test_one_name_per_log_likelihood() -> None:
    assert schemas.FORGET_LABEL_LL == "forget_label_ll"
    assert schemas.start(schemas.FORGET_LABEL_LL) == "forget_label_ll_start"
    assert schemas.before(schemas.FORGET_LABEL_LL) == "forget_label_ll_before"
    names = {c.name for s in schemas.SCHEMAS for c in (*s.columns, *s.metrics)}
    assert not {n for n in names if n.startswith(("ll_", "start_"))}  # old spellings gone
    metrics = [c.name for c in schemas.EVALUATION_SCORES.metrics]
    assert len(metrics) == len(set(metrics))
