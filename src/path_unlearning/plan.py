"""The experiment plan: which paths, prefixes, methods and seeds a run builds.

Kedro builds pipelines before it runs them, so the shape of the per-path
pipelines must be known from the parameters alone. ``register_pipelines()``
resolves the plan from the run's parameters (environment and runtime
``--params`` included) and passes it to every ``create_pipeline(plan)``.

Seeds: every seed in ``seeds:`` is one replicate of the experiment with its own
base model and trie (namespace ``s<seed>``): pretraining of the tiny default,
stage training (data order, adapter init) and unlearning all draw from it, so
replicates differ in everything a change of processor perturbs. The data are
shared; a configured hub model (``model.name_or_path``) is one base model for
every replicate.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from path_unlearning.errors import ConfigError, quoted
from path_unlearning.parameters import plain
from path_unlearning.paths import (
    PathError,
    forget_position,
    retrain_reference,
    select_paths,
    training_prefixes,
)
from path_unlearning.sections import resolve_method, validate_sections


@dataclass(frozen=True)
class ExperimentPlan:
    """Paths and their shared-prefix trie, resolved from the parameters."""

    stage_datasets: dict[str, str]  # stage letter -> dataset name
    forget_stage: str
    paths: tuple[str, ...]
    methods: tuple[str, ...] = ()
    seeds: tuple[int, ...] = (0,)
    data_source: str = "synthetic"  # data_prep.source: synthetic or hub (paper datasets)
    # (method, loss) pairs: a variant (unlearn.variants) names its registered loss
    method_losses: tuple[tuple[str, str], ...] = ()
    # The depth experiment's own orders (``depth.paths``, validated against
    # ``depth.stages`` and ``depth.forget_stage``); empty without a depth section.
    depth_paths: tuple[str, ...] = ()
    # True for the tiny default: each replicate pretrains its own base model.
    replicate_base: bool = True
    # The depth experiment's replicates (``depth.seeds``, a subset of ``seeds``,
    # whose base models the default's ``s<seed>.prepare_base_model`` trains).
    depth_seeds: tuple[int, ...] = ()

    @staticmethod
    def namespace(seed: int, name: str = "") -> str:
        """The dataset namespace of one seed's replica: ``s0``, ``s0.BCA``."""
        return f"s{seed}.{name}" if name else f"s{seed}"

    def base_model(self, seed: int) -> str:
        """Catalog name of a replicate's base model: ``s0.base_model``, or the shared one."""
        return f"{self.namespace(seed)}.base_model" if self.replicate_base else "base_model"

    @property
    def prefixes(self) -> list[str]:
        """Every prefix to train, parents first: paths and retrain references."""
        return training_prefixes(self.paths, self.forget_stage)

    def reference(self, path: str) -> str:
        """The retrain reference of a path (forget stage removed)."""
        return retrain_reference(path, self.forget_stage)

    def loss_of(self, method: str) -> str:
        """The registered loss a method runs (itself, unless it is a variant)."""
        return dict(self.method_losses).get(method, method)

    def position(self, path: str) -> int:
        """1-based position of the forget stage in the path."""
        return forget_position(path, self.forget_stage)

    @classmethod
    def from_parameters(cls, params: Mapping[str, Any]) -> ExperimentPlan:
        """Validate and resolve the plan; bad input raises a one-line ``ConfigError``.

        ``params`` may hold sections Kedro has already validated into their models
        (``context.params``); they are read as configured.
        """
        params = plain(params)
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
        # A method is a registered loss or a variant of one (unlearn.variants);
        # anything else raises a one-line UnknownMethodError / ConfigError.
        losses = tuple((m, resolve_method(unlearn, m)[0]) for m in methods)
        seeds = _seed_list(params.get("seeds", [0]))
        validate_sections(params, tuple(methods))
        # Only the stages the paths train: an environment's `stages:` merges into
        # conf/base's, so the base letters may be present without being used.
        used = {letter for path in paths for letter in path}
        datasets = {letter: cfg["dataset"] for letter, cfg in stages.items() if letter in used}
        depth = params.get("depth") or {}
        depth_paths = (
            select_paths(
                depth.get("paths") or [], depth.get("stages") or {}, depth.get("forget_stage")
            )
            if depth
            else []
        )
        # depth.seeds null: every replicate of `seeds:` (each has its own base model).
        depth_seeds = _seed_list(depth.get("seeds") or seeds) if depth else []
        if set(depth_seeds) - set(seeds):
            raise ConfigError(
                f"depth.seeds {depth_seeds} include seeds without a base model: "
                f"use seeds from seeds: {seeds}"
            )
        return cls(
            datasets,
            forget_stage,
            tuple(paths),
            tuple(methods),
            tuple(seeds),
            str((params.get("data_prep") or {}).get("source", "synthetic")),
            losses,
            tuple(depth_paths),
            not (params.get("model") or {}).get("name_or_path"),
            tuple(depth_seeds),
        )


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
            f"invalid seeds {quoted(seeds)}: give a non-empty list of distinct integers >= 0"
        )
    return list(seeds)
