"""Tables, classification and figure of the depth experiment (no Kedro imports).

An order is *deep* when unlearning U also removes the other compliance phrasing C:
after the last epoch C has fallen by at least ``deep_drop`` nats and both C and U
are below the refusal R. It is *superficial* when U fell by at least
``forget_drop`` nats but C fell by less than ``deep_drop``; anything else is
*neither*. Thresholds come from ``depth.classification``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd
from matplotlib.figure import Figure

from path_unlearning.schemas import ll, ll_tok

LOGPROB_COLUMNS = ["order", "theta", "epoch", "step", "response", "logp", "logp_tok"]
CLASSES = ("deep", "superficial", "neither")


@dataclass(frozen=True)
class DepthRule:
    """The classification rule (``depth.classification`` parameters)."""

    refusal: str = "R"
    kept: str = "C"
    forget: str = "U"
    deep_drop: float = 5.0
    forget_drop: float = 5.0

    def describe(self) -> str:
        """The rule in one sentence, for the verdict table."""
        r, c, u = self.refusal, self.kept, self.forget
        return (
            f"deep: {c} fell >= {self.deep_drop:g} nats and {c}, {u} end below {r}; "
            f"superficial: {u} fell >= {self.forget_drop:g} nats, {c} fell < "
            f"{self.deep_drop:g}; else neither"
        )


def theta_labels(paths: Sequence[str]) -> dict[str, str]:
    """``θ1``, ``θ2``, ... in the configured order of the paths (Appendix G.2)."""
    return {path: f"θ{i}" for i, path in enumerate(paths, start=1)}


def epoch_logprobs(
    trajectory: pd.DataFrame, order: str, theta: str, letters: Sequence[str], steps_per_epoch: int
) -> pd.DataFrame:
    """Tidy log-probabilities of each response at every epoch boundary of one order.

    Args:
        trajectory: The unlearning loop's trajectory, probes named by stage letter.
        order: The path, e.g. ``UCR``.
        theta: Its label, e.g. ``θ3``.
        letters: The stage letters probed (``R``, ``C``, ``U``).
        steps_per_epoch: Optimiser steps in one epoch over the forget set.

    Returns:
        :data:`LOGPROB_COLUMNS`, one row per epoch x response (epoch 0 = before).
    """
    at_epochs = trajectory[trajectory["step"] % steps_per_epoch == 0]
    rows = [
        {
            "order": order,
            "theta": theta,
            "epoch": int(row["step"]) // steps_per_epoch,
            "step": int(row["step"]),
            "response": letter,
            "logp": float(row[ll(letter)]),
            "logp_tok": float(row[ll_tok(letter)]),
        }
        for _, row in at_epochs.iterrows()
        for letter in letters
    ]
    return pd.DataFrame(rows, columns=LOGPROB_COLUMNS)


def classify(logprobs: pd.DataFrame, rule: DepthRule) -> pd.DataFrame:
    """Start and end values, drops and the class of every order.

    Returns:
        One row per order: ``order, theta, <X>_start, <X>_end, <X>_drop`` for
        the three responses (drop = start - end, positive when it fell) and
        ``depth_class``.
    """
    rows = []
    for (order, theta), part in logprobs.groupby(["order", "theta"], sort=False):
        first, last = part["epoch"].min(), part["epoch"].max()
        row: dict[str, object] = {"order": order, "theta": theta, "epochs": int(last)}
        for letter in (rule.refusal, rule.kept, rule.forget):
            values = part[part["response"] == letter].set_index("epoch")["logp"]
            row[f"{letter}_start"], row[f"{letter}_end"] = values[first], values[last]
            row[f"{letter}_drop"] = values[first] - values[last]
        row["depth_class"] = _depth_class(row, rule)
        rows.append(row)
    return pd.DataFrame(rows)


def _depth_class(row: Mapping[str, object], rule: DepthRule) -> str:
    r, c, u = rule.refusal, rule.kept, rule.forget
    values = [float(row[k]) for k in (f"{c}_drop", f"{u}_drop", f"{r}_end", f"{c}_end", f"{u}_end")]
    if not all(math.isfinite(v) for v in values):
        return "neither"
    c_drop, u_drop, r_end, c_end, u_end = values
    if c_drop >= rule.deep_drop and c_end < r_end and u_end < r_end:
        return "deep"
    if u_drop >= rule.forget_drop and c_drop < rule.deep_drop:
        return "superficial"
    return "neither"


def verdict(
    classification: pd.DataFrame, rule: DepthRule, expected_deep: Sequence[str] = ()
) -> pd.DataFrame:
    """One row: counts per class, the deep orders, and whether depth depends on the order.

    ``depth_differs`` holds when the orders do not all get the same class: the
    same unlearning run forgets deeply from some orders and not from others.
    """
    classes = classification["depth_class"].tolist()
    deep = [o for o, k in zip(classification["order"], classes, strict=True) if k == "deep"]
    differs = len(set(classes)) > 1
    expected = sorted(expected_deep)
    counts = {f"n_{k}": classes.count(k) for k in CLASSES}
    summary = (
        f"{counts['n_deep']} of {len(classes)} orders forget deeply "
        f"({', '.join(deep) or 'none'}); "
        + ("depth differs across orders" if differs else "every order gets the same class")
        + (f"; the paper's deep orders are {', '.join(expected)}" if expected else "")
    )
    return pd.DataFrame(
        [
            {
                "n_orders": len(classes),
                **counts,
                "deep_orders": " ".join(deep),
                "depth_differs": differs,
                "paper_deep_orders": " ".join(expected),
                "matches_paper": sorted(deep) == expected if expected else None,
                "rule": rule.describe(),
                "verdict": summary,
            }
        ]
    )


def plot_depth(
    logprobs: pd.DataFrame, classification: pd.DataFrame, letters: Mapping[str, str]
) -> Figure:
    """Figure 4's analogue: one panel per order, log-probability of R, C, U by epoch.

    Args:
        logprobs: Output of :func:`epoch_logprobs`, all orders.
        classification: Output of :func:`classify` (the class goes in the title).
        letters: Stage letter -> response name, for the legend.
    """
    orders = list(dict.fromkeys(logprobs["order"]))
    classes = dict(zip(classification["order"], classification["depth_class"], strict=True))
    ncols = min(3, len(orders))
    nrows = math.ceil(len(orders) / ncols)
    fig = Figure(figsize=(4.2 * ncols, 3.3 * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, sharey=True).ravel()
    for ax, order in zip(axes, orders, strict=False):
        part = logprobs[logprobs["order"] == order]
        for letter, name in letters.items():
            curve = part[part["response"] == letter]
            ax.plot(curve["epoch"], curve["logp"], marker=".", label=f"{letter} ({name})")
        theta = part["theta"].iloc[0]
        ax.set_title(f"{theta}: {' → '.join(order)} ({classes.get(order, '?')})", fontsize=10)
        ax.set_xlabel("unlearning epoch")
        ax.grid(alpha=0.3)
    for ax in axes[len(orders) :]:
        ax.set_visible(False)
    for ax in axes[::ncols]:
        ax.set_ylabel("mean log-probability")
    axes[0].legend(fontsize=8)
    fig.suptitle("Gradient ascent on U: log-probabilities of R, C and U per learning order")
    return fig
