"""Project pipelines; each ``create_pipeline(plan)`` takes its shape from the experiment plan."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial, update_wrapper
from typing import Any


class _BoundFunction(partial):
    """A ``partial`` that keeps its name in worker processes.

    ``multiprocessing`` pickles a plain ``partial`` as (func, args, keywords) and
    drops the attributes ``update_wrapper`` set, so a worker would log the node as
    ``<partial>`` with a warning; a subclass is pickled with them.
    """


def bind(func: Callable[..., Any], **constants: Any) -> Callable[..., Any]:
    """``func`` with some arguments fixed (a path, a method, a seed).

    The wrapper keeps ``func``'s name and docstring, so Kedro names the node and
    kedro-viz shows the function as written.
    """
    return update_wrapper(_BoundFunction(func, **constants), func)
