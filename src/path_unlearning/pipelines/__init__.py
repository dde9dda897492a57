"""Project pipelines; each ``create_pipeline(plan)`` takes its shape from the experiment plan."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial, update_wrapper
from typing import Any


def bind(func: Callable[..., Any], **constants: Any) -> Callable[..., Any]:
    """``func`` with some arguments fixed (a path, a method, a seed).

    The wrapper keeps ``func``'s name and docstring, so Kedro names the node and
    kedro-viz shows the function as written.
    """
    return update_wrapper(partial(func, **constants), func)
