"""Project CLI: ``kedro run`` that also accepts ``--params=key:value``.

Our users type ``kedro run --pipeline=unlearn --params=path:BCA``; Kedro 1.7
only accepts ``key=value``. This ``run`` is Kedro's own command with a
``--params`` parser that takes both, and turns configuration errors (a bad
path, an unknown method) into a one-line message and exit code 1. The copy of
Kedro's command is made in ``kedro_adapter.run_command``.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from pathlib import Path
from typing import Any

import click
from kedro.framework.cli.hooks import cli_hook_impl
from kedro.framework.cli.utils import split_string
from kedro.io import DatasetError
from kedro.utils import load_obj
from omegaconf import OmegaConf

from path_unlearning.errors import ConfigError, RunError, RunInterrupted, quoted
from path_unlearning.interrupts import EXIT_CODES
from path_unlearning.kedro_adapter import project_root, run_command


def split_params(ctx: click.Context, param: Any, value: Any) -> dict[str, Any]:
    """Parse ``--params`` items written ``key:value`` or ``key=value`` into a nested dict.

    Dotted keys nest (``unlearn.lr=1e-3``) and values are typed as in YAML, as
    Kedro's own parser does.
    """
    if isinstance(value, dict):
        return value
    items = []
    for raw in split_string(ctx, param, value):
        key, colon, rest = raw.partition(":")
        # key:value only when no '=' comes first, so "a=http://x" keeps its ':'.
        item = f"{key}={rest}" if colon and "=" not in key else raw
        key, equals, rest = item.partition("=")
        if not equals or not key.strip():
            raise click.BadParameter(f"{quoted(raw)} is not key=value or key:value", ctx, param)
        items.append(f"{key.strip()}={rest}")
    return OmegaConf.to_container(OmegaConf.from_dotlist(items))


def check_env(env: str | None, conf_source: str | None) -> None:
    """Raise ``ConfigError`` unless ``env`` names a folder of the configuration."""
    if not env:
        return
    root = Path(conf_source) if conf_source else project_root() / "conf"
    if not (root / env).is_dir():
        known = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
        raise ConfigError(f"unknown environment {quoted(env)}: choose one of {', '.join(known)}")


def check_pipelines(names: list[str]) -> None:
    """Raise ``ConfigError`` unless every name is a registered pipeline (or ``__default__``)."""
    from path_unlearning.pipeline_registry import MODULES  # noqa: PLC0415 - imports torch

    known = ["__default__", *sorted(MODULES)]
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ConfigError(
            f"unknown pipeline {quoted(unknown[0])}: choose one of {', '.join(known)}"
        )


def check_runner(runner: str | None) -> None:
    """Raise ``ConfigError`` unless ``--runner`` names a class Kedro can import."""
    if not runner:
        return
    try:
        load_obj(runner, "kedro.runner")
    except (ImportError, AttributeError, ValueError):
        raise ConfigError(
            f"unknown runner {quoted(runner)}: use SequentialRunner, ParallelRunner, ThreadRunner "
            "or a class path such as path_unlearning.runner.WorkerPoolRunner"
        ) from None


class _RunCommand(click.Command):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            check_env(ctx.params.get("env"), ctx.params.get("conf_source"))
            names = list(ctx.params.get("pipelines") or [])
            if ctx.params.get("pipeline"):
                names.append(ctx.params["pipeline"])
            check_pipelines(names)
            check_runner(ctx.params.get("runner"))
            return super().invoke(ctx)
        except RunInterrupted as exc:
            error = click.ClickException(str(exc))
            error.exit_code = EXIT_CODES[signal.Signals[exc.signal_name]]
            raise error from None
        except (ConfigError, RunError) as exc:
            raise click.ClickException(str(exc)) from None
        except DatasetError as exc:
            # Kedro prefixes the dataset's own message with a line naming the dataset.
            raise click.ClickException(" ".join(str(exc).split())) from None


# More than one CPU core: independent nodes run in worker processes by default
# (one torch thread each; the tables are bitwise those of the sequential run).
# ``--runner=SequentialRunner`` still runs in one process.
DEFAULT_RUNNER = "path_unlearning.runner.WorkerPoolRunner" if (os.cpu_count() or 1) > 1 else None

run = run_command(
    _RunCommand,
    params_callback=split_params,
    params_help="Extra parameters, key:value or key=value, comma separated.",
    default_runner=DEFAULT_RUNNER,
)


def _stop_children(signum: int, frame: Any) -> None:
    """Terminate this process's children (kedro-viz's server), then exit as signalled."""
    for child in multiprocessing.active_children():
        child.terminate()
    for child in multiprocessing.active_children():
        child.join(10)
    raise SystemExit(EXIT_CODES[signal.Signals(signum)])


class VizServerStops:
    """CLI hook: ``kedro viz run`` stopped by SIGINT or SIGTERM stops its server too.

    kedro-viz serves from a child process and its parent only waits for it, so
    a signal to the ``kedro`` process alone (not to its group, as Ctrl-C sends)
    used to leave the server listening. kedro-viz is a global command, which a
    project's ``cli.py`` cannot replace, so this is a CLI hook (registered in
    ``pyproject.toml`` under ``kedro.cli_hooks``).
    """

    @cli_hook_impl
    def before_command_run(self, project_metadata: Any, command_args: list[str]) -> None:
        """For ``kedro viz`` / ``kedro viz run``: signals stop the server child first."""
        if command_args[:1] == ["viz"] and (
            len(command_args) == 1 or command_args[1] == "run" or command_args[1].startswith("-")
        ):
            for signum in EXIT_CODES:
                signal.signal(signum, _stop_children)


viz_server_stops = VizServerStops()


@click.group(name="path_unlearning")
def cli() -> None:
    """Commands of the path_unlearning project."""


cli.add_command(run)
