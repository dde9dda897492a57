"""The report document: self-contained HTML and Markdown, parameters and input versions."""

from __future__ import annotations

import base64

import pandas as pd

from path_unlearning.report import document, tables
from path_unlearning.report.figures import figure_png
from path_unlearning.report.verdicts import compute_verdicts
from tests.report import synthetic as syn


def _content(lineage=None) -> document.ReportContent:
    trajs = syn.trajectories(start_noise=2.0)
    traj = tables.concat_trajectories(list(trajs.values()))
    scores = syn.evaluation_scores(trajs)
    v = compute_verdicts(traj, scores, syn.divergence_fits())
    blocks = {"forget_score_label": "Forget score", "math_utility": "Math utility"}
    from matplotlib.figure import Figure

    fig = Figure()
    fig.subplots().plot([0, 1], [1, 0])
    names = ["evaluation_scores", *trajs]
    versions = document.input_versions(names, lineage, {"evaluation_scores": len(scores)})
    return document.ReportContent(
        title="Test report",
        verdicts=v.summary,
        table1=tables.table1_blocks(tables.summarise_scores(scores), blocks),
        figures=[document.ReportFigure("figure1", "Figure 1: curves", figure_png(fig, 40))],
        details={
            "Starting points": tables.starting_points(traj, scores),
            "Position effect": v.position_effect,
        },
        input_versions=versions,
        parameters={"report": {"band": "t"}, "paths": ["ABC", "BCA"]},
        run_id=(lineage or {}).get("run_id"),
    )


def test_input_versions_with_and_without_hook() -> None:
    lineage = {"run_id": "r1", "datasets": {
        "evaluation_scores": {"version": "2026-01-01T00.00.00.000Z", "type": "P",
                              "filepath": "data/x.parquet"},
        "ABC.ga.trajectory": {"version": None, "type": "M", "filepath": ""},
    }}  # fmt: skip
    table = document.input_versions(["evaluation_scores", "ABC.ga.trajectory", "other"],
                                    lineage, {"evaluation_scores": 3})  # fmt: skip
    assert list(table["version"]) == ["2026-01-01T00.00.00.000Z", "unversioned", "not recorded"]
    assert table["rows"].iloc[0] == 3 and table["rows"].isna().iloc[1]
    assert set(table["run_id"]) == {"r1"}
    bare = document.input_versions(["evaluation_scores"], {}, {})
    assert bare["version"].item() == document.NOT_RECORDED


def test_markdown_is_self_contained() -> None:
    md = document.render_markdown(_content())
    assert md.startswith("# Test report")
    # Summary first (one line per headline verdict), then figures, Table 1, details.
    order = [
        "## Summary",
        "![figure1](data:image/png;base64,",
        "## Table 1",
        "## Verdicts in detail",
        "### Recency",
        "## Starting points",
        "## Parameters",
    ]
    assert [md.index(x) for x in order] == sorted(md.index(x) for x in order)
    summary = md[md.index("## Summary") : md.index("## Figure 1")]
    assert [line.split("**")[1] for line in summary.splitlines() if line.startswith("- ")] == [
        "Recency", "Position effect", "Path dependence", "Starting-point control",
        "Divergence growth"]  # fmt: skip
    assert "in 4 of 4 method x replicate cells" in summary and "p = " in summary
    assert "| block | position | path | ga | npo |" in md
    assert "| Forget score | 1 | CAB |" in md
    assert "```yaml\nreport:\n  band: t\npaths:\n- ABC\n- BCA\n```" in md
    assert "not recorded" in md


def test_html_is_self_contained_and_escaped() -> None:
    lineage = {"run_id": "run-42", "datasets": {"evaluation_scores": {
        "version": "2026-11-27T10.00.00.000Z", "type": "P", "filepath": "f"}}}  # fmt: skip
    page = document.render_html(_content(lineage))
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "run run-42" in page and "2026-11-27T10.00.00.000Z" in page
    start = page.index('src="data:image/png;base64,') + len('src="data:image/png;base64,')
    png = base64.b64decode(page[start : page.index('"', start)])
    assert png[:4] == b"\x89PNG"
    assert "http://" not in page and "https://" not in page  # nothing fetched
    assert '<h2 id="summary">Summary</h2>' in page and "<strong>Recency</strong>" in page
    assert "<h3>Recency</h3>" in page and 'class="yes"' in page
    assert page.index('id="summary"') < page.index("<img") < page.index('id="table1"')


def test_markdown_table_escapes_pipes() -> None:
    table = pd.DataFrame({"a": ["x|y", None], "b": [1.23456789, float("nan")]})
    text = document.markdown_table(table)
    assert "x\\|y" in text and "1.235" in text
    assert document.markdown_table(table.iloc[0:0]) == "_(empty)_\n"


def test_select_parameters_skips_absent_sections() -> None:
    params = {"seed": 0, "report": {"band": "t"}, "other": 1}
    assert document.select_parameters(params, ["report", "missing", "seed"]) == {
        "report": {"band": "t"}, "seed": 0}  # fmt: skip
