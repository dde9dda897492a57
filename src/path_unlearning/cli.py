"""Project CLI: ``kedro run`` that also accepts ``--params=key:value``.

Our users type ``kedro run --pipeline=unlearn --params=path:BCA``; Kedro 1.7
only accepts ``key=value``. This ``run`` is Kedro's own command with a
``--params`` parser that takes both, and turns configuration errors (a bad
path, an unknown method) into a one-line message and exit code 1.
"""

from __future__ import annotations

import copy
from typing import Any

import click
from kedro.framework.cli.project import run as kedro_run
from kedro.framework.cli.utils import _split_params

from path_unlearning.errors import ConfigError


def split_params(ctx: click.Context, param: Any, value: Any) -> Any:
    """Parse ``--params`` items written ``key:value`` or ``key=value``."""
    if isinstance(value, str) and value:
        items = []
        for item in value.split(","):
            key, colon, rest = item.partition(":")
            # key:value only when no '=' comes first, so "a=http://x" keeps its ':'.
            items.append(f"{key}={rest}" if colon and "=" not in key else item)
        value = ",".join(items)
    return _split_params(ctx, param, value)


class _RunCommand(click.Command):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            raise click.ClickException(str(exc)) from None


run = _RunCommand(
    name="run",
    callback=kedro_run.callback,
    params=[copy.copy(option) for option in kedro_run.params],
    help=kedro_run.help,
)
for option in run.params:
    if option.name == "params":
        option.callback = split_params
        option.help = "Extra parameters, key:value or key=value, comma separated."


@click.group(name="path_unlearning")
def cli() -> None:
    """Commands of the path_unlearning project."""


cli.add_command(run)
