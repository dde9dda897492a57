"""The report document: one self-contained HTML file and its Markdown twin.

Read top to bottom: a summary (one line per headline verdict), the figures,
Table 1 shaped like the paper's, then the verdicts broken down, the detail
tables, the input versions and the parameters. Figures are embedded as base64
PNG data URIs, so either file can be read alone. Input versions come from the
lineage record (``{"run_id", "datasets": {name: {"version", "type", "filepath"}}}``).
"""

from __future__ import annotations

import base64
import html
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import yaml

VERDICT_TITLES = {
    "recency": "Recency",
    "position_effect": "Position effect",
    "path_dependence": "Path dependence",
    "starting_point": "Starting-point control",
    "divergence_growth": "Divergence growth",
}
TABLE1_NOTE = "Mean ± std over seeds (std omitted with one seed)."
NOT_RECORDED = "not recorded"


@dataclass(frozen=True)
class ReportFigure:
    """A figure of the report: anchor name, caption and PNG bytes."""

    name: str
    caption: str
    png: bytes


@dataclass(frozen=True)
class ReportSection:
    """A section with its own verdicts (summary rows) and table, after Table 1."""

    title: str
    note: str
    verdicts: pd.DataFrame
    table: pd.DataFrame


@dataclass(frozen=True)
class ReportContent:
    """Everything the document shows."""

    title: str
    verdicts: pd.DataFrame
    table1: pd.DataFrame
    figures: Sequence[ReportFigure] = ()
    table1_note: str = TABLE1_NOTE
    details: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    sections: Sequence[ReportSection] = ()
    input_versions: pd.DataFrame | None = None
    parameters: Mapping[str, Any] = field(default_factory=dict)
    run_id: str | None = None


def select_parameters(parameters: Mapping[str, Any], sections: Sequence[str]) -> dict[str, Any]:
    """The named top-level parameter sections, in order; absent ones are skipped."""
    return {name: parameters[name] for name in sections if name in parameters}


def input_versions(
    names: Sequence[str], lineage: Mapping[str, Any] | None, rows: Mapping[str, int]
) -> pd.DataFrame:
    """The version of each input table, as recorded by the lineage hook.

    Args:
        names: Input dataset names, in order.
        lineage: ``{"run_id": ..., "datasets": {name: {"version", "type", "filepath"}}}``
            or empty when the hook is not registered.
        rows: Number of rows of each input.

    Returns:
        Columns ``dataset, version, rows, type, filepath, run_id`` (the run
        that read them); the version reads
        ``"not recorded"`` without the hook and ``"unversioned"`` for a dataset
        without versioning.
    """
    recorded = (lineage or {}).get("datasets") or {}
    run_id = (lineage or {}).get("run_id") or ""
    out = []
    for name in names:
        info = recorded.get(name)
        if info is None:
            version = NOT_RECORDED
        else:
            version = info.get("version") or "unversioned"
        info = info or {}
        out.append({
            "dataset": name, "version": version, "rows": rows.get(name),
            "type": info.get("type", ""), "filepath": info.get("filepath", ""), "run_id": run_id,
        })  # fmt: skip
    columns = ["dataset", "version", "rows", "type", "filepath", "run_id"]
    table = pd.DataFrame(out, columns=columns)
    table["rows"] = table["rows"].astype("Int64")
    return table


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def parameters_yaml(parameters: Mapping[str, Any]) -> str:
    """Parameters as YAML (values YAML cannot hold are written as strings)."""
    return yaml.safe_dump(_plain(dict(parameters)), sort_keys=False, allow_unicode=True)


def _cell(value: Any) -> str:
    if value is None or value is pd.NA:
        return ""
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, float | np.floating):
        if math.isnan(value):
            return ""
        return f"{value:.4g}"
    return str(value)


def _holds_mark(value: Any) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return "yes" if bool(value) else "no"


def markdown_table(table: pd.DataFrame) -> str:
    """A pipe table (no extra dependency); ``|`` in cells is escaped."""
    if table.empty:
        return "_(empty)_\n"
    header = [str(c) for c in table.columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in table.itertuples(index=False):
        cells = [_cell(v).replace("|", "\\|").replace("\n", " ") for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _html_table(table: pd.DataFrame) -> str:
    if table.empty:
        return "<p><em>(empty)</em></p>"
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in table.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_cell(v))}</td>" for v in row) + "</tr>"
        for row in table.itertuples(index=False)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _verdict_groups(verdicts: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    groups = []
    for key in [*VERDICT_TITLES, *sorted(set(verdicts["verdict"]) - set(VERDICT_TITLES))]:
        part = verdicts[verdicts["verdict"] == key]
        if len(part):
            groups.append((VERDICT_TITLES.get(key, key), part))
    return groups


def _headline(verdicts: pd.DataFrame) -> list[tuple[str, Any, str]]:
    """(title, holds, detail) of each verdict's ``all`` row, in the summary order."""
    return [(title, r.holds, str(r.detail))
            for title, part in _verdict_groups(verdicts)
            for r in part[part["scope"] == "all"].itertuples()]  # fmt: skip


def _breakdown(verdicts: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    return [(t, p[p["scope"] != "all"]) for t, p in _verdict_groups(verdicts)
            if (p["scope"] != "all").any()]  # fmt: skip


def _intro(content: ReportContent) -> str:
    run = f"run `{content.run_id}`" if content.run_id else "run id not recorded"
    return (
        "Path-dependent unlearning (Yu, He, Goyal, Arora 2025, arXiv 2510.16629) rerun "
        f"with this project; {run}. Every verdict below is computed from the tables; "
        "a dash marks a verdict the data cannot decide."
    )


def render_markdown(content: ReportContent) -> str:
    """The report as Markdown with base64-embedded figures."""
    out = [f"# {content.title}", "", _intro(content), "", "## Summary", ""]
    out += [f"- **{t}** ({_holds_mark(h)}): {d}" for t, h, d in _headline(content.verdicts)]
    out.append("")
    for fig in content.figures:
        out += [f"## {fig.caption}", "", f"![{fig.name}]({_data_uri(fig.png)})", ""]
    out += ["## Table 1: scores by position of the forget stage", "", content.table1_note, "",
            markdown_table(content.table1)]  # fmt: skip
    for section in content.sections:
        out += [f"## {section.title}", "", section.note, ""]
        out += [f"- **{_holds_mark(r.holds)}** {r.detail}" for r in section.verdicts.itertuples()]
        out += ["", markdown_table(section.table)]
    out += ["## Verdicts in detail", ""]
    for title, part in _breakdown(content.verdicts):
        out += [f"### {title}", ""]
        out += [f"- **{_holds_mark(r.holds)}** {r.detail}" for r in part.itertuples()]
        out.append("")
    for title, table in content.details.items():
        out += [f"## {title}", "", markdown_table(table)]
    out += ["## Inputs", ""]
    if content.input_versions is not None:
        out.append(markdown_table(content.input_versions))
    out += ["## Parameters", "", "```yaml", parameters_yaml(content.parameters).rstrip(), "```", ""]
    return "\n".join(out)


_CSS = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:0.5em 0 1.5em;font-size:0.9em}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:left}
th{background:#f3f3f3} img{max-width:100%} pre{background:#f6f6f6;padding:1em;overflow:auto}
.yes{color:#1a7f37;font-weight:bold} .no{color:#b42318;font-weight:bold} .open{color:#777}
""".strip()


def _mark_html(holds: Any) -> str:
    mark = _holds_mark(holds)
    return (
        f'<span class="{ {"yes": "yes", "no": "no"}.get(mark, "open") }">{html.escape(mark)}</span>'
    )


def render_html(content: ReportContent) -> str:
    """The report as one self-contained HTML page (inline CSS, base64 figures)."""
    esc = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{esc(content.title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{esc(content.title)}</h1>",
        f"<p>{esc(_intro(content)).replace('`', '')}</p>",
        '<h2 id="summary">Summary</h2><ul>',
    ]
    for title, holds, detail in _headline(content.verdicts):
        parts.append(f"<li><strong>{esc(title)}</strong> {_mark_html(holds)} {esc(detail)}</li>")
    parts.append("</ul>")
    for fig in content.figures:
        parts += [
            f'<h2 id="{esc(fig.name)}">{esc(fig.caption)}</h2>',
            f'<img alt="{esc(fig.name)}" src="{_data_uri(fig.png)}">',
        ]
    parts += [
        '<h2 id="table1">Table 1: scores by position of the forget stage</h2>',
        f"<p>{esc(content.table1_note)}</p>",
        _html_table(content.table1),
    ]
    for section in content.sections:
        parts += [f"<h2>{esc(section.title)}</h2>", f"<p>{esc(section.note)}</p>", "<ul>"]
        parts += [f"<li>{_mark_html(r.holds)} {esc(str(r.detail))}</li>"
                  for r in section.verdicts.itertuples()]  # fmt: skip
        parts += ["</ul>", _html_table(section.table)]
    parts.append('<h2 id="verdicts">Verdicts in detail</h2>')
    for title, part in _breakdown(content.verdicts):
        parts.append(f"<h3>{esc(title)}</h3><ul>")
        parts += [f"<li>{_mark_html(r.holds)} {esc(str(r.detail))}</li>" for r in part.itertuples()]
        parts.append("</ul>")
    for title, table in content.details.items():
        parts += [f"<h2>{esc(title)}</h2>", _html_table(table)]
    parts.append('<h2 id="inputs">Inputs</h2>')
    if content.input_versions is not None:
        parts.append(_html_table(content.input_versions))
    parts += [
        '<h2 id="parameters">Parameters</h2>',
        f"<pre>{esc(parameters_yaml(content.parameters))}</pre>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"
