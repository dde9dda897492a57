"""Project pipelines; the per-path ones take their shape from the experiment plan."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from path_unlearning.plan import ExperimentPlan, current_plan


def experiment_plan() -> ExperimentPlan:
    """The plan set by the project hook, or the base configuration's plan.

    Outside a Kedro session (``find_pipelines`` in a test or a tool) there is no
    hook, so the plan comes from ``conf/`` of the current project.
    """
    plan = current_plan()
    if plan is not None:
        return plan
    from kedro.config import OmegaConfigLoader  # noqa: PLC0415 - only needed outside a session

    loader = OmegaConfigLoader(str(Path.cwd() / "conf"), base_env="base", default_run_env="local")
    return ExperimentPlan.from_parameters(loader["parameters"])


@contextmanager
def dotted_names_allowed() -> Iterator[None]:
    """Silence Kedro's warning about dotted dataset names across namespaces.

    Our dataset names are namespaced on purpose (``BC.adapter``,
    ``BCA.npo.trajectory``), and a prefix reads its parent's adapter from
    another namespace, which is the whole point of the trie.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="One or more dataset names contain")
        yield
