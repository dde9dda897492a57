"""The experiment plan: which paths, prefixes, methods and seeds a run builds.

Kedro builds pipelines before it runs them, so the shape of the per-path
pipelines must be known from the parameters alone. A project hook hands the
resolved parameters (runtime ``--params`` included) to ``set_parameters``
before the registry is loaded; the pipelines then read ``current_plan()``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from path_unlearning.errors import ConfigError
from path_unlearning.paths import (
    PathError,
    forget_position,
    retrain_reference,
    select_paths,
    training_prefixes,
)
from path_unlearning.unlearning.losses import needs_reference


@dataclass(frozen=True)
class ExperimentPlan:
    """Paths and their shared-prefix trie, resolved from the parameters."""

    stage_datasets: dict[str, str]  # stage letter -> dataset name
    forget_stage: str
    paths: tuple[str, ...]
    methods: tuple[str, ...] = ()
    seeds: tuple[int, ...] = (0,)

    @property
    def prefixes(self) -> list[str]:
        """Every prefix to train, parents first: paths and retrain references."""
        return training_prefixes(self.paths, self.forget_stage)

    def reference(self, path: str) -> str:
        """The retrain reference of a path (forget stage removed)."""
        return retrain_reference(path, self.forget_stage)

    def position(self, path: str) -> int:
        """1-based position of the forget stage in the path."""
        return forget_position(path, self.forget_stage)

    @classmethod
    def from_parameters(cls, params: Mapping[str, Any]) -> ExperimentPlan:
        """Validate and resolve the plan; bad input raises a one-line ``ConfigError``."""
        stages = params.get("stages") or {}
        if not stages:
            raise PathError("no stages configured: set 'stages:' in parameters")
        forget_stage = params.get("forget_stage")
        requested = params.get("path")
        if requested is not None:
            requested = str(requested)
        paths = select_paths(params.get("paths") or [], stages, forget_stage, requested)
        unlearn = params.get("unlearn") or {}
        requested_method = params.get("method")
        methods = (
            [str(requested_method)] if requested_method else list(unlearn.get("methods") or [])
        )
        for method in methods:
            needs_reference(method)  # raises a one-line UnknownMethodError
        seeds = _seed_list(unlearn.get("seeds", [0]))
        datasets = {letter: cfg["dataset"] for letter, cfg in stages.items()}
        return cls(datasets, forget_stage, tuple(paths), tuple(methods), tuple(seeds))


def _seed_list(seeds: Any) -> list[int]:
    if isinstance(seeds, int) and not isinstance(seeds, bool):
        seeds = [seeds]
    if (
        not isinstance(seeds, list | tuple)
        or not seeds
        or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds)
        or len(set(seeds)) != len(seeds)
    ):
        raise ConfigError(
            f"invalid seeds {seeds!r}: give a non-empty list of distinct integers >= 0"
        )
    return list(seeds)


_current: ExperimentPlan | None = None


def set_parameters(params: Mapping[str, Any]) -> ExperimentPlan:
    """Resolve the plan from run parameters and make it current."""
    global _current  # noqa: PLW0603 - one plan per Kedro session, set by the hook
    _current = ExperimentPlan.from_parameters(params)
    return _current


def current_plan() -> ExperimentPlan | None:
    """The plan of the running session, or ``None`` before any was set."""
    return _current
