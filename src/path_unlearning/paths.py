"""Paths: ordered sequences of training stages, and the trie of their prefixes.

A path such as ``BCA`` means "fine-tune on stage B, then C, then A". Training a
prefix depends only on (base model, prefix, stage configs, seed), so the set of
paths forms a trie and each prefix is trained once, whichever path asked for it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence

from path_unlearning.errors import ConfigError, quoted

_PATH_PATTERN = re.compile(r"^[A-Z]+$")


class PathError(ConfigError):
    """A path string that is not a valid path over the configured stages."""


def validate_path(path: object, stages: Iterable[str]) -> str:
    """Check a path string against the configured stage letters.

    Args:
        path: Candidate path, e.g. ``"BCA"``.
        stages: The configured stage letters.

    Returns:
        The path, unchanged.

    Raises:
        PathError: With a one-line message if the path is malformed.
    """
    known = set(stages)
    if not isinstance(path, str) or not _PATH_PATTERN.fullmatch(path):
        raise PathError(f"invalid path {quoted(path)}: use capital stage letters only, e.g. 'BCA'")
    unknown = sorted(set(path) - known)
    if unknown:
        raise PathError(
            f"invalid path {quoted(path)}: unknown stage(s) {', '.join(unknown)}; "
            f"configured stages are {', '.join(sorted(known))}"
        )
    if len(set(path)) != len(path):
        raise PathError(f"invalid path {quoted(path)}: a stage may appear only once")
    return path


def retrain_reference(path: str, forget_stage: str) -> str:
    """The path with the forget stage removed (``BCA`` -> ``BA`` when C is forgotten)."""
    if forget_stage not in path:
        raise PathError(f"path {quoted(path)} never trains the forget stage {quoted(forget_stage)}")
    return path.replace(forget_stage, "")


def forget_position(path: str, forget_stage: str) -> int:
    """1-based position p of the forget stage in the path."""
    if forget_stage not in path:
        raise PathError(f"path {quoted(path)} never trains the forget stage {quoted(forget_stage)}")
    return path.index(forget_stage) + 1


def prefix_trie(paths: Iterable[str]) -> list[str]:
    """All non-empty prefixes of the paths, each once, parents before children."""
    prefixes = {path[:i] for path in paths for i in range(1, len(path) + 1)}
    return sorted(prefixes, key=lambda p: (len(p), p))


def parent(prefix: str) -> str:
    """The prefix one stage shorter; ``""`` means the base model."""
    return prefix[:-1]


def select_paths(
    configured: Sequence[str],
    stages: Iterable[str],
    forget_stage: str,
    requested: str | None = None,
) -> list[str]:
    """The paths a run works on: the requested one, or all configured ones.

    Args:
        configured: Paths from ``paths:`` in parameters.
        stages: The configured stage letters.
        forget_stage: Letter of the stage to unlearn.
        requested: A single path from ``--params=path:XYZ``; may be outside
            ``configured``.

    Returns:
        The validated paths, in order.
    """
    stages = list(stages)
    if forget_stage not in stages:
        raise PathError(f"forget_stage {quoted(forget_stage)} is not a configured stage")
    chosen = [requested] if requested else list(configured)
    if not chosen:
        raise PathError("no paths configured: set 'paths:' or pass --params=path:XYZ")
    for path in chosen:
        validate_path(path, stages)
        forget_position(path, forget_stage)
    return list(dict.fromkeys(chosen))


def training_prefixes(paths: Iterable[str], forget_stage: str) -> list[str]:
    """Every prefix to train: the trie of the paths and of their retrain references."""
    paths = list(paths)
    references = [retrain_reference(p, forget_stage) for p in paths]
    return prefix_trie(paths + [r for r in references if r])


def prefix_seed(seed: int, prefix: str) -> int:
    """A seed derived from the replica seed and the prefix alone (not a counter)."""
    digest = hashlib.sha256(f"{seed}:{prefix}".encode()).digest()
    return int.from_bytes(digest[:4], "little")
