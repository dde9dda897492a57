"""Load a table from a Hub dataset or a local folder or file, with one-line errors.

``datasets.load_dataset`` does the work in both cases, so a local folder laid out
like the Hub repository (data files, and a README whose ``configs:`` name the
configs) is read exactly as the real dataset would be. Set ``HF_HUB_OFFLINE=1`` to
use only the local cache. Each local folder or file gets its own ``datasets`` cache,
keyed by its resolved path and the bytes of its files, so two folders of the same
name never serve each other's rows and an edited file is read again. Every failure a user can fix (gated access, no network,
a missing local file, a wrong column) becomes a one-line ``ConfigError`` subclass.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import Field

from path_unlearning.errors import ConfigError
from path_unlearning.parameters import Count, Section, build

logger = logging.getLogger(__name__)

_FILE_BUILDERS = {".json": "json", ".jsonl": "json", ".parquet": "parquet", ".csv": "csv"}
_HUB_ID = re.compile(r"^[\w.-]+/[\w.-]+$")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")


class DataSourceError(ConfigError):
    """A configured dataset cannot be read: missing file, split, config or column."""


class HubAccessError(DataSourceError):
    """The Hub refused or could not be reached (gated dataset, no login, offline)."""


class HubSource(Section):
    """Where one dataset comes from and which of its columns to read.

    Attributes:
        path: A Hub dataset id (``locuslab/TOFU``), a local folder laid out like
            the repository, or a local ``.json``/``.jsonl``/``.parquet``/``.csv`` file.
        name: The dataset config (``full`` for TOFU, ``main`` for GSM8K).
        split: The split to read.
        revision: A commit sha, tag or branch of the Hub repository (a pin).
        data_files: Files of the repository to read (a glob or a list), when
            the repository holds several variants (Instruct-SkillMix's 4k file).
        columns: Role -> column of the source, e.g. ``{prompt: question}``.
        limit: Keep at most this many rows (after filtering), sampled with the
            data_prep seed; ``None`` keeps all.
    """

    path: str = Field(description="A Hub dataset id, a local folder or a local data file.")
    name: str | None = Field(None, description="The dataset config.")
    split: str = Field("train", description="The split to read.")
    revision: str | None = Field(None, description="A commit sha, tag or branch (a pin).")
    data_files: str | list[str] | None = Field(None, description="Files of the repository.")
    columns: dict[str, str] = Field(default_factory=dict, description="Role -> source column.")
    limit: Count | None = Field(None, ge=1, description="At most this many rows; null: all.")

    def column(self, role: str, default: str | None = None) -> str:
        """The source column that plays ``role``."""
        name = self.columns.get(role, default)
        if name is None:
            raise DataSourceError(
                f"{self.path}: no column configured for {role!r} (columns.{role})"
            )
        return name


def _is_local(path: str) -> bool:
    """Whether ``path`` names a local file or folder rather than a Hub id."""
    if Path(path).expanduser().exists():
        return True
    return (
        path.startswith(("/", "./", "../", "~"))
        or path.count("/") > 1
        or Path(path).suffix in _FILE_BUILDERS
        or not _HUB_ID.match(path)
    )


def is_local(source: HubSource) -> bool:
    """Whether the source is a local file or folder (no revision applies)."""
    return _is_local(source.path)


def require_pinned(source: HubSource, section: str) -> None:
    """Refuse a Hub dataset whose revision is a branch (``main``) or unset.

    Raises:
        DataSourceError: One line saying how to pin, or how to allow it.
    """
    if is_local(source) or (source.revision and _COMMIT.match(source.revision)):
        return
    raise DataSourceError(
        f"{section}.revision is {source.revision or 'unset'!r}, a moving branch of "
        f"{source.path}: pin it to a 40-character commit sha (the log of a run with "
        "data_prep.hub.allow_floating_revisions: true prints it), or set "
        "data_prep.hub.allow_floating_revisions: true"
    )


def resolved_commit(source: HubSource) -> str | None:
    """The commit sha the Hub resolves the source's revision to; ``None`` if offline."""
    from huggingface_hub import HfApi  # noqa: PLC0415 - heavy import

    try:
        return HfApi().dataset_info(source.path, revision=source.revision).sha
    except Exception:  # noqa: BLE001 - offline or refused: nothing to print
        return None


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def is_gated(error: BaseException) -> bool:
    """Whether an error (or its cause) is the Hub refusing a gated repository.

    ``datasets`` raises ``DatasetNotFoundError`` from ``huggingface_hub``'s
    ``GatedRepoError``; ``transformers`` raises ``OSError`` from it; both say "gated".
    """
    from huggingface_hub.errors import GatedRepoError  # noqa: PLC0415 - heavy import

    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, GatedRepoError) or "gated" in str(seen).lower():
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def datasets_cache_root() -> Path:
    """The ``datasets`` cache folder, read from the environment at call time.

    ``HF_DATASETS_CACHE``, else ``$HF_HOME/datasets``, else
    ``$XDG_CACHE_HOME/huggingface/datasets`` (``~/.cache`` by default), as ``datasets``
    itself resolves it, but not frozen at import, so a test's temporary folder holds.
    """
    if os.environ.get("HF_DATASETS_CACHE"):
        return Path(os.environ["HF_DATASETS_CACHE"]).expanduser()
    home = (
        os.environ.get("HF_HOME")
        or Path(os.environ.get("XDG_CACHE_HOME") or "~/.cache") / "huggingface"
    )
    return Path(home).expanduser() / "datasets"


def local_cache_dir(path: Path) -> Path:
    """A cache folder of its own for a local dataset: its resolved path and content.

    Args:
        path: A local data file or a folder laid out like a Hub repository.
    """
    path = path.expanduser().resolve()
    digest = hashlib.sha256(str(path).encode())
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for file in files:
        if any(part.startswith(".") for part in file.relative_to(path.parent).parts):
            continue  # .git, .cache: not data
        digest.update(str(file.relative_to(path.parent)).encode() + b"\0")
        with file.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return datasets_cache_root() / "path_unlearning_local" / digest.hexdigest()[:32]


def _load_arguments(source: HubSource) -> tuple[str, dict[str, Any]]:
    path = Path(source.path).expanduser()
    if _is_local(source.path):
        if not path.exists():
            raise DataSourceError(f"local dataset {source.path!r} not found")
        if path.is_file():
            builder = _FILE_BUILDERS.get(path.suffix)
            if builder is None:
                raise DataSourceError(
                    f"{source.path}: unsupported file type {path.suffix!r}; "
                    f"use one of {', '.join(sorted(_FILE_BUILDERS))}"
                )
            cache = str(local_cache_dir(path))
            return builder, {"data_files": {source.split: str(path)}, "cache_dir": cache}
        kwargs = {"name": source.name, "data_files": source.data_files}
        return str(path), {**kwargs, "cache_dir": str(local_cache_dir(path))}
    kwargs = {"name": source.name, "data_files": source.data_files, "revision": source.revision}
    return source.path, {**kwargs, "cache_dir": str(datasets_cache_root())}


def load_table(source: HubSource) -> pd.DataFrame:
    """Read one split of a Hub or local dataset as a DataFrame.

    Raises:
        HubAccessError: Gated dataset without access, or the Hub is unreachable
            (or ``HF_HUB_OFFLINE=1``) and the dataset is not in the local cache.
        DataSourceError: A missing local file, dataset, config, split or data file.
    """
    import datasets  # noqa: PLC0415 - heavy import, only for the paper environment
    from datasets.exceptions import DatasetNotFoundError  # noqa: PLC0415

    target, kwargs = _load_arguments(source)
    kwargs = {k: v for k, v in kwargs.items() if v is not None}
    where = source.path + (f" (config {source.name!r})" if source.name else "")
    try:
        dataset = datasets.load_dataset(target, split=source.split, **kwargs)
    except Exception as error:  # noqa: BLE001 - every failure becomes one clear line
        if is_gated(error):
            raise HubAccessError(
                f"{source.path} is a gated dataset: accept its terms on its Hub page, then "
                "log in with your own token (`hf auth login`) or set HF_TOKEN"
            ) from error
        if isinstance(error, ConnectionError) or "offline" in str(error).lower():
            raise HubAccessError(
                f"cannot reach the Hub for {source.path} and it is not in the local cache "
                f"(HF_HUB_OFFLINE=1 or no network): {_first_line(error)}"
            ) from error
        if isinstance(error, DatasetNotFoundError):
            raise DataSourceError(f"dataset {where} not found: {_first_line(error)}") from error
        if isinstance(error, FileNotFoundError | ValueError | KeyError):
            raise DataSourceError(f"{where}: {_first_line(error)}") from error
        raise
    logger.info("loaded %s split %s: %d rows", where, source.split, len(dataset))
    if not is_local(source) and not (source.revision and _COMMIT.match(source.revision)):
        commit = resolved_commit(source)
        logger.warning(
            "%s: revision %s resolved to commit %s (pin it: revision: %s)",
            source.path,
            source.revision or "main",
            commit or "unknown (Hub unreachable)",
            commit or "<sha>",
        )
    return dataset.to_pandas()


def require_columns(
    table: pd.DataFrame, source: HubSource, roles: Sequence[str], section: str
) -> dict[str, str]:
    """Role -> column for ``roles``; a one-line error names a missing column.

    Args:
        table: The loaded table.
        source: Its source (for the column mapping and the message).
        roles: Roles the caller reads, e.g. ``("prompt", "response")``.
        section: Parameter section of the source, for the message.
    """
    mapping = {role: source.column(role) for role in roles}
    for role, column in mapping.items():
        if column not in table.columns:
            raise DataSourceError(
                f"{source.path}: column {column!r} not found (available: "
                f"{', '.join(map(str, table.columns))}); set {section}.columns.{role}"
            )
    return mapping


def source_from_params(
    params: Mapping[str, Any], section: str, ignore: Sequence[str] = ()
) -> HubSource:
    """A ``HubSource`` from a parameter section; keys in ``ignore`` are read elsewhere."""
    return build(HubSource, {k: v for k, v in params.items() if k not in ignore}, section)
