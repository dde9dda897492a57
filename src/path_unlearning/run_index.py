"""The run index: one JSON record per ``kedro run``, in ``data/09_runs/run_index.jsonl``.

Every versioned dataset's version folder is the save_version (session id) of the
run that wrote it, so a version names its producing run. The index says what that
run was: when it ran, from which git commit, with which parameters (a fingerprint,
the full set, and what changed since the previous run), which pipelines, and which
datasets it wrote. ``RunIndexHook`` (``hooks/run_index.py``) writes it; the report looks up
the producing run of each input here; the ``compare`` pipeline reads it.

No Kedro imports: this is plain data handling, testable on its own.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from path_unlearning.errors import ConfigError, quoted
from path_unlearning.fingerprints import fingerprint

# The file itself (read whole, appended atomically) lives in ``io``, which the
# compare pipeline's dataset reads too; the hooks read and append it through here.
from path_unlearning.io.run_index_file import (  # noqa: F401 - re-exported
    append_record,
    plain,
    read_index,
)

RUN_INDEX = Path("data/09_runs/run_index.jsonl")
NOT_INDEXED = "not in run index"
ABSENT = "(absent)"
# The node input that ``LineageHook`` (``hooks/lineage.py``) fills with the
# versions of the node's other inputs and their producing runs; the report's
# node reads it (``add_producing_runs``).
LINEAGE_INPUT = "report_lineage"


def parameter_fingerprint(parameters: Mapping[str, Any]) -> str:
    """A short sha256 of the resolved parameters, as JSON with sorted keys."""
    return fingerprint(dict(parameters))


def flatten(parameters: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested parameters as dotted keys (``unlearn.hparams.npo.beta``); lists stay values."""
    flat: dict[str, Any] = {}
    for key, value in parameters.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def parameter_changes(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> dict[str, Any]:
    """The dotted keys whose values differ, as ``{key: {"old": ..., "new": ...}}``.

    Both arguments are flat (see ``flatten``); a key missing on one side reads
    ``"(absent)"``. Without a previous run (``old`` is None) nothing changed.
    """
    if old is None:
        return {}
    keys = sorted(set(old) | set(new))
    return {
        key: {"old": old.get(key, ABSENT), "new": new.get(key, ABSENT)}
        for key in keys
        if plain(old.get(key, ABSENT)) != plain(new.get(key, ABSENT))
    }


def git_commit(folder: Path) -> str | None:
    """``git rev-parse HEAD`` in ``folder``; None outside a checkout or without git."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=folder, capture_output=True, text=True, timeout=10, check=False,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and commit else None


def by_run(records: Sequence[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """Records keyed by run id (a later record of the same id wins)."""
    return {str(r["run_id"]): r for r in records}


def producing_run(version: str | None, records: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """The producing run and parameter fingerprint of one dataset version."""
    record = records.get(str(version)) if version else None
    if record is None:
        return {"producing_run": NOT_INDEXED if version else "", "parameter_fingerprint": ""}
    return {
        "producing_run": str(record["run_id"]),
        "parameter_fingerprint": str(record.get("parameter_fingerprint") or ""),
    }


def add_producing_runs(table: pd.DataFrame, lineage: Mapping[str, Any] | None) -> pd.DataFrame:
    """Add ``producing_run`` and ``parameter_fingerprint`` to the input-versions table.

    The lineage hook puts both into each dataset's lineage record; without the
    hook (or the index) the columns are empty.
    """
    recorded = (lineage or {}).get("datasets") or {}
    out = table.copy()
    for column in ("producing_run", "parameter_fingerprint"):
        out[column] = [str((recorded.get(n) or {}).get(column) or "") for n in out["dataset"]]
    return out


def split_run_ids(value: Any) -> list[str]:
    """Run ids from ``--params=runs:...``: ``a+b``, ``a;b``, ``a b`` or a YAML list."""
    if value is None:
        return []
    if isinstance(value, list | tuple):
        items = [str(v) for v in value]
    else:
        items = str(value).replace(";", " ").replace("+", " ").split()
    return [item.strip() for item in items if item.strip()]


def resolve_runs(
    requested: Sequence[str], records: Sequence[Mapping[str, Any]], needs: str
) -> list[Mapping[str, Any]]:
    """The index records of the requested runs, each of which must have written ``needs``.

    ``latest`` and ``previous`` name the last two runs that wrote ``needs``.

    Raises:
        ConfigError: An id is unknown or its run did not write ``needs``
            (one line, listing the runs that did).
    """
    known = by_run(records)
    with_output = [r for r in records if needs in (r.get("datasets") or {})]
    aliases = {}
    if with_output:
        aliases["latest"] = with_output[-1]
    if len(with_output) > 1:
        aliases["previous"] = with_output[-2]
    choices = ", ".join(str(r["run_id"]) for r in with_output[-6:]) or "none yet"
    resolved = []
    for run_id in requested:
        record = aliases.get(run_id) or known.get(run_id)
        if record is None:
            raise ConfigError(
                f"unknown run {quoted(run_id)}: runs with a report in {RUN_INDEX}: {choices}"
            )
        if needs not in (record.get("datasets") or {}):
            ran = ",".join(record.get("pipelines") or []) or "__default__"
            raise ConfigError(
                f"run {run_id} wrote no {needs} (it ran --pipelines={ran}); "
                f"runs with a report: {choices}"
            )
        resolved.append(record)
    return resolved


RUN_COLUMNS = (
    "run_id", "status", "started", "ended", "git_commit", "env", "pipelines",
    "runtime_params", "parameter_fingerprint",
)  # fmt: skip


def runs_table(records: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """One row per run: what it was (lists and mappings written as JSON)."""
    rows = [
        {c: v if isinstance(v := r.get(c), str | None) else json.dumps(v) for c in RUN_COLUMNS}
        for r in records
    ]
    return pd.DataFrame(rows, columns=list(RUN_COLUMNS))


def parameter_table(first: Mapping[str, Any], second: Mapping[str, Any]) -> pd.DataFrame:
    """The parameters (dotted keys) whose values differ between two runs' records.

    Columns: ``parameter``, then one per run id with the value (JSON unless a
    string; ``"(absent)"`` where that run had no such key).
    """
    a, b = str(first["run_id"]), str(second["run_id"])
    changes = parameter_changes(first.get("parameters") or {}, second.get("parameters") or {})
    rows = [
        {"parameter": key, a: _cell(c["old"]), b: _cell(c["new"])} for key, c in changes.items()
    ]
    return pd.DataFrame(rows, columns=["parameter", a, b] if a != b else ["parameter", a])


def _cell(value: Any) -> str:
    """A parameter value for a table cell: strings as they are, the rest as JSON."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def side_by_side(
    first: pd.DataFrame, second: pd.DataFrame, keys: Sequence[str], labels: tuple[str, str]
) -> pd.DataFrame:
    """Two versions of a table, row by row: key columns, then ``col [label]`` pairs.

    Rows are matched on the key columns both tables have (a row only one run has
    shows empty cells for the other); ``same`` says whether every compared value
    of the row is equal.
    """
    on = [k for k in keys if k in first.columns and k in second.columns]
    values = [c for c in dict.fromkeys([*first.columns, *second.columns]) if c not in on]
    left, right = (f" [{labels[0]}]", f" [{labels[1]}]")
    if labels[0] == labels[1]:
        right = f" [{labels[1]} again]"
    a = first.rename(columns={c: f"{c}{left}" for c in values})
    b = second.rename(columns={c: f"{c}{right}" for c in values})
    if on:
        a, b = a.astype(dict.fromkeys(on, str)), b.astype(dict.fromkeys(on, str))
        merged = a.merge(b, on=on, how="outer", sort=False)
    else:  # no common key: line the rows up by position
        merged = pd.concat([a.reset_index(drop=True), b.reset_index(drop=True)], axis=1)
    ordered = [*on]
    same = pd.Series(True, index=merged.index)
    for column in values:
        pair = [f"{column}{left}", f"{column}{right}"]
        for name in pair:
            if name not in merged:
                merged[name] = pd.NA
        ordered += pair
        x, y = merged[pair[0]].astype("string"), merged[pair[1]].astype("string")
        same &= (x == y).fillna(False) | (x.isna() & y.isna())
    merged = merged[ordered]
    merged["same"] = same.astype(bool)
    return merged
