"""Where the project meets Kedro's process-wide pipeline registry (the one adapter module).

Kedro calls ``register_pipelines()`` with no arguments and keeps the result for
the process, while the shape of our pipelines (the path trie, methods, seeds)
depends on the run's configuration: its environment and its runtime
``--params``. Kedro's own channel for the environment is the ``KEDRO_ENV``
variable (``kedro ipython --env`` sets it, ``KedroSession.create`` reads it); we
pass the runtime parameters and the configuration folder the same way.

``RunConfigurationHook`` copies a new session's environment, runtime
parameters and configuration source into the process environment and, when
they changed, asks Kedro to build the pipelines again through the public
``pipelines.configure``. ``run_parameters()`` then resolves the parameters with
the project's configured config loader, exactly as the session does. No private
Kedro attribute is used.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from kedro.framework import project
from kedro.framework.context import KedroContext
from kedro.framework.hooks import hook_impl
from kedro.framework.project import pipelines, settings
from kedro.framework.startup import bootstrap_project
from kedro.utils import find_kedro_project

ENV_VAR = "KEDRO_ENV"
RUNTIME_PARAMS_VAR = "PATH_UNLEARNING_RUNTIME_PARAMS"
CONF_SOURCE_VAR = "PATH_UNLEARNING_CONF_SOURCE"


def project_root() -> Path:
    """The root of the Kedro project the process runs in (the working directory's)."""
    return Path(find_kedro_project(Path.cwd()) or Path.cwd())


def run_parameters() -> dict[str, Any]:
    """The parameters of the active run: environment and runtime ``--params`` applied.

    Outside a session (a test or a tool calling ``register_pipelines()``) they
    are those of the environment named by ``KEDRO_ENV``, or the default one.
    """
    if project.PACKAGE_NAME is None:
        # Outside a session (a test or a tool): the project's settings still apply
        # (its config loader arguments, e.g. the soft merge of environments).
        bootstrap_project(project_root())
    conf_source = os.environ.get(CONF_SOURCE_VAR)
    if not conf_source:
        conf_source = str(project_root() / settings.CONF_SOURCE)
    loader = settings.CONFIG_LOADER_CLASS(
        conf_source=conf_source,
        env=os.environ.get(ENV_VAR) or None,
        runtime_params=json.loads(os.environ.get(RUNTIME_PARAMS_VAR) or "{}"),
        **settings.CONFIG_LOADER_ARGS,
    )
    return loader["parameters"]


def _publish(variables: dict[str, str | None]) -> bool:
    """Set (or unset, for ``None``) environment variables; True if any changed."""
    changed = False
    for name, value in variables.items():
        if os.environ.get(name) != value:
            changed = True
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return changed


class RunConfigurationHook:
    """Hands a session's environment and runtime parameters to ``register_pipelines``."""

    @hook_impl
    def after_context_created(self, context: KedroContext) -> None:
        loader = context.config_loader
        runtime = dict(loader.runtime_params or {})
        changed = _publish(
            {
                ENV_VAR: loader.env or None,
                RUNTIME_PARAMS_VAR: json.dumps(runtime, sort_keys=True, default=str)
                if runtime
                else None,
                CONF_SOURCE_VAR: str(loader.conf_source),
            }
        )
        if changed:
            # Pipelines built for another configuration (an earlier session in
            # this process, e.g. a notebook or a test) are rebuilt on next access.
            pipelines.configure(f"{project.PACKAGE_NAME}.pipeline_registry")
