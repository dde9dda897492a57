"""Where the project meets Kedro's internals (the one adapter module).

Three things Kedro 1.7 has no public API for live here, and nowhere else:

* the run's configuration for ``register_pipelines()`` (below);
* the project's ``run`` command, Kedro's own with one option parser changed
  (``run_command``, used by ``cli.py``);
* whether a versioned dataset holds a given, not necessarily the newest,
  version (``has_version``, used by the run index hook).

The run's configuration:

Kedro calls ``register_pipelines()`` with no arguments and keeps the result for
the process, while the shape of our pipelines (the path trie, methods, seeds)
depends on the run's configuration: its environment and its runtime
``--params``. Kedro's own channel for the environment is the ``KEDRO_ENV``
variable (``kedro ipython --env`` sets it, ``KedroSession.create`` reads it); we
pass the runtime parameters and the configuration folder the same way.

``RunConfigurationHook`` copies a new session's environment, runtime
parameters, configuration source, project folder and its own process id into
the process environment (inherited by worker processes) and, when
they changed, asks Kedro to build the pipelines again through the public
``pipelines.configure``. ``run_parameters()`` then resolves the parameters with
the project's configured config loader, exactly as the session does; it is the
only way the project reads them back (``pipeline_registry.py`` calls it). Kedro
1.7 offers no public way in: ``_ProjectPipelines`` calls ``register_pipelines()``
without arguments and no session or context is reachable from it. No private
Kedro attribute is used for this.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from kedro.framework import project
from kedro.framework.cli.project import run as kedro_run
from kedro.framework.cli.utils import KedroCliError
from kedro.framework.context import KedroContext
from kedro.framework.hooks import hook_impl
from kedro.framework.project import pipelines, settings
from kedro.framework.startup import bootstrap_project
from kedro.io import AbstractVersionedDataset, DatasetError
from kedro.utils import find_kedro_project

ENV_VAR = "KEDRO_ENV"
RUNTIME_PARAMS_VAR = "PATH_UNLEARNING_RUNTIME_PARAMS"
CONF_SOURCE_VAR = "PATH_UNLEARNING_CONF_SOURCE"
PROJECT_VAR = "PATH_UNLEARNING_PROJECT"  # the project whose session published the three
PUBLISHER_VAR = "PATH_UNLEARNING_PUBLISHER"  # the process id of that session


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
    root = project_root()
    conf_source = os.environ.get(CONF_SOURCE_VAR)
    runtime = os.environ.get(RUNTIME_PARAMS_VAR)
    if not _published_for_this_run(root):
        conf_source = runtime = None
    if not conf_source:
        conf_source = str(root / settings.CONF_SOURCE)
    loader = settings.CONFIG_LOADER_CLASS(
        conf_source=conf_source,
        env=os.environ.get(ENV_VAR) or None,
        runtime_params=json.loads(runtime or "{}"),
        **settings.CONFIG_LOADER_ARGS,
    )
    return loader["parameters"]


def _published_for_this_run(root: Path) -> bool:
    """Whether the published configuration is this process's run's.

    It is when nothing says otherwise, when this process's own session published
    it (a notebook or a test may run a session of a project outside the working
    directory), or when it is for the working directory's project (the run's worker
    processes inherit it). A process started by one that ran a session of another
    project (e.g. ``kedro viz`` started from a notebook or a test) inherits a
    configuration that is not its run's.
    """
    project = os.environ.get(PROJECT_VAR)
    if project is None or os.environ.get(PUBLISHER_VAR) == str(os.getpid()):
        return True
    return project == str(root.resolve())


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
                PROJECT_VAR: str(Path(context.project_path).resolve()),
                PUBLISHER_VAR: str(os.getpid()),
            }
        )
        if changed:
            # Pipelines built for another configuration (an earlier session in
            # this process, e.g. a notebook or a test) are rebuilt on next access.
            pipelines.configure(f"{project.PACKAGE_NAME}.pipeline_registry")


def run_command(
    command_class: type[click.Command],
    *,
    params_callback: Callable[[click.Context, Any, Any], Any],
    params_help: str,
    default_runner: str | None,
) -> click.Command:
    """Kedro's own ``kedro run`` with another ``--params`` parser and default runner.

    Kedro lets a project's ``cli.py`` replace ``run`` but has no public way to
    change one of its options, so this copies Kedro's command
    (``kedro.framework.cli.project.run``, through click's public attributes):
    its callback (the session and the run) and every other option stay Kedro's.
    ``--load-versions`` errors (``KedroCliError``) become one-line usage errors.

    Args:
        command_class: The ``click.Command`` subclass to build (the project's
            error handling around Kedro's callback).
        params_callback: The parser of ``--params``.
        params_help: Its help text.
        default_runner: The ``--runner`` default (None: Kedro's SequentialRunner).

    Returns:
        The ``run`` command.
    """
    command = command_class(
        name="run",
        callback=kedro_run.callback,
        params=[copy.copy(option) for option in kedro_run.params],
        help=kedro_run.help,
    )
    for option in command.params:
        if option.name == "runner":
            option.default = default_runner
            option.help = f"{option.help} Default here: {default_runner or 'SequentialRunner'}."
        elif option.name == "params":
            option.callback = params_callback
            option.help = params_help
        elif option.name == "load_versions" and option.callback is not None:
            option.callback = usage_errors(option.callback)
    return command


def usage_errors(callback: Callable[..., Any]) -> Callable[..., Any]:
    """Kedro's option parser with its ``KedroCliError`` shown as a one-line usage error.

    A ``KedroCliError`` ends its output with a "Run with --verbose" hint, so the
    error would not be the last line.
    """

    def parse(ctx: click.Context, param: Any, value: Any) -> Any:
        try:
            return callback(ctx, param, value)
        except KedroCliError as exc:
            raise click.BadParameter(str(exc), ctx, param) from None

    return parse


def has_version(dataset: AbstractVersionedDataset, version: str) -> bool:
    """Whether ``dataset`` holds ``version`` (whether or not it is the newest).

    Kedro's public API finds only the newest version (``resolve_load_version``)
    or loads a pinned one; telling whether an older version exists takes the
    dataset's own path layout and file check.
    """
    try:
        path = dataset._get_versioned_path(version)  # noqa: SLF001 - Kedro's own layout
        return bool(dataset._exists_function(str(path)))  # noqa: SLF001
    except (AttributeError, DatasetError, OSError):
        return False
