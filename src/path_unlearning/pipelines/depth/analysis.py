"""Tables, classification and figure of the depth experiment (no Kedro imports).

Scores are per-token log-probabilities over each response's distinguishing tokens
(``data.depth.mask_shared_tokens``). With ``dU``, ``dC``, ``dR`` the drops from
epoch 0 to the read epoch (positive when the response fell), an order of one
replicate is:

- *neither* when U fell by less than ``min_forget_drop`` (nothing was forgotten,
  and the ratios below would divide by almost nothing);
- *collapsed* when ``dR / dU > collapse_ratio``: the refusal, which nothing
  unlearns, fell with U, so C falling says nothing about depth; also when the run
  diverged before the read epoch;
- *deep* when ``dC / dU >= deep_ratio``: the other phrasing fell in tandem with U;
- *superficial* when ``dC / dU < superficial_ratio``: only U fell;
- *neither* in between.

Thresholds come from ``depth.classification``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd
from matplotlib.figure import Figure

from path_unlearning.schemas import ll, ll_tok

LOGPROB_COLUMNS = ["seed", "order", "theta", "epoch", "step", "response", "logp", "logp_tok"]
CLASSES = ("deep", "superficial", "collapsed", "neither")


@dataclass(frozen=True)
class DepthRule:
    """The classification rule (``depth.classification`` parameters)."""

    refusal: str = "R"
    kept: str = "C"
    forget: str = "U"
    read_epoch: int = 10
    min_forget_drop: float = 1.0
    collapse_ratio: float = 0.5
    deep_ratio: float = 0.5
    superficial_ratio: float = 0.2

    def __post_init__(self) -> None:
        if not 0 <= self.superficial_ratio <= self.deep_ratio:
            raise ValueError(
                f"depth.classification: superficial_ratio {self.superficial_ratio} must lie "
                f"in [0, deep_ratio {self.deep_ratio}]"
            )

    def describe(self) -> str:
        """The rule in one sentence, for the summary table."""
        r, c, u = self.refusal, self.kept, self.forget
        return (
            f"per-token drops d at epoch {self.read_epoch}: neither if d{u} < "
            f"{self.min_forget_drop:g}; collapsed if d{r}/d{u} > {self.collapse_ratio:g}; "
            f"deep if d{c}/d{u} >= {self.deep_ratio:g}; superficial if d{c}/d{u} < "
            f"{self.superficial_ratio:g}; else neither"
        )

    def classify_drops(self, d_refusal: float, d_kept: float, d_forget: float) -> str:
        """The class of one order from its three drops (nats per token)."""
        if not all(math.isfinite(v) for v in (d_refusal, d_kept, d_forget)):
            return "collapsed"  # a probe went non-finite: the loop stopped the run
        if d_forget < self.min_forget_drop:
            return "neither"
        if d_refusal / d_forget > self.collapse_ratio:
            return "collapsed"
        if d_kept / d_forget >= self.deep_ratio:
            return "deep"
        if d_kept / d_forget < self.superficial_ratio:
            return "superficial"
        return "neither"


def theta_labels(paths: Sequence[str]) -> dict[str, str]:
    """``θ1``, ``θ2``, ... in the configured order of the paths (Appendix G.2)."""
    return {path: f"θ{i}" for i, path in enumerate(paths, start=1)}


def epoch_logprobs(
    trajectory: pd.DataFrame,
    seed: int,
    order: str,
    theta: str,
    letters: Sequence[str],
    steps_per_epoch: int,
) -> pd.DataFrame:
    """Tidy log-probabilities of each response at every epoch boundary of one order.

    Args:
        trajectory: The unlearning loop's trajectory, probes named by stage letter.
        seed: The replicate.
        order: The path, e.g. ``UCR``.
        theta: Its label, e.g. ``θ3``.
        letters: The stage letters probed (``R``, ``C``, ``U``).
        steps_per_epoch: Optimiser steps in one epoch over the forget set.

    Returns:
        :data:`LOGPROB_COLUMNS`, one row per epoch x response (epoch 0 = before):
        ``logp`` summed and ``logp_tok`` per token over the distinguishing tokens.
    """
    at_epochs = trajectory[trajectory["step"] % steps_per_epoch == 0]
    rows = [
        {
            "seed": seed,
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
    """Per-token values at epoch 0 and the read epoch, drops, ratios and the class.

    Returns:
        One row per replicate x order: ``seed, order, theta`` and, per response
        ``X``, ``X_start, X_read, X_drop`` (start - read, positive when it fell),
        ``C_over_U``, ``R_over_U`` and ``depth_class``.
    """
    r, c, u = rule.refusal, rule.kept, rule.forget
    rows = []
    for (seed, order, theta), part in logprobs.groupby(["seed", "order", "theta"], sort=False):
        row: dict[str, object] = {"seed": seed, "order": order, "theta": theta}
        for letter in (r, c, u):
            values = part[part["response"] == letter].set_index("epoch")["logp_tok"]
            start = values.get(0, math.nan)
            read = values.get(rule.read_epoch, math.nan)  # missing: the run diverged
            row[f"{letter}_start"], row[f"{letter}_read"] = start, read
            row[f"{letter}_drop"] = start - read
        d_r, d_c, d_u = (float(row[f"{x}_drop"]) for x in (r, c, u))
        row[f"{c}_over_{u}"] = d_c / d_u if d_u else math.nan
        row[f"{r}_over_{u}"] = d_r / d_u if d_u else math.nan
        row["depth_class"] = rule.classify_drops(d_r, d_c, d_u)
        rows.append(row)
    return pd.DataFrame(rows)


def _majority(counts: Mapping[str, int], n: int) -> str:
    best = max(CLASSES, key=lambda k: counts[k])
    return best if counts[best] * 2 > n else "mixed"


def verdict(classification: pd.DataFrame, expected_deep: Sequence[str] = ()) -> pd.DataFrame:
    """Per order: how many replicates give each class, and the majority class.

    Returns:
        One row per order: ``order, theta, n_replicates, n_<class>`` for every
        class, ``majority`` (the class of more than half the replicates, else
        ``mixed``) and ``paper_class`` (``deep`` for the paper's deep orders,
        ``superficial`` for the others; empty without ``expected_deep``).
    """
    rows = []
    for (order, theta), part in classification.groupby(["order", "theta"], sort=False):
        classes = part["depth_class"].tolist()
        counts = {k: classes.count(k) for k in CLASSES}
        paper = ("deep" if order in expected_deep else "superficial") if expected_deep else ""
        rows.append(
            {
                "order": order,
                "theta": theta,
                "n_replicates": len(classes),
                **{f"n_{k}": counts[k] for k in CLASSES},
                "majority": _majority(counts, len(classes)),
                "paper_class": paper,
            }
        )
    return pd.DataFrame(rows)


def summary(per_order: pd.DataFrame, rule: DepthRule) -> pd.DataFrame:
    """One row: the orders deep in most replicates, against the paper's, and the rule.

    ``depth_differs`` holds when the orders' majority classes are not all the
    same: one unlearning run forgets deeply from some orders and not from others.
    """
    majority = per_order["majority"].tolist()
    deep = [o for o, k in zip(per_order["order"], majority, strict=True) if k == "deep"]
    paper = per_order["paper_class"].tolist()
    expected = sorted(o for o, k in zip(per_order["order"], paper, strict=True) if k == "deep")
    matches = majority == paper if expected else None
    differs = len(set(majority)) > 1
    n = int(per_order["n_replicates"].max()) if len(per_order) else 0
    tally = "; ".join(
        f"{row['theta']} {row['order']} "
        + ", ".join(f"{k} {row[f'n_{k}']}" for k in CLASSES if row[f"n_{k}"])
        for _, row in per_order.iterrows()
    )
    text = (
        f"{len(deep)} of {len(majority)} orders deep in most of {n} replicates "
        f"({', '.join(deep) or 'none'}); "
        + ("depth differs across orders" if differs else "every order gets the same class")
        + (f"; the paper's deep orders are {', '.join(expected)}" if expected else "")
        + f". Replicates per class: {tally}"
    )
    return pd.DataFrame(
        [
            {
                "n_orders": len(majority),
                "n_replicates": n,
                **{f"n_majority_{k}": majority.count(k) for k in (*CLASSES, "mixed")},
                "deep_orders": " ".join(deep),
                "depth_differs": differs,
                "paper_deep_orders": " ".join(expected),
                "matches_paper": matches,
                "rule": rule.describe(),
                "verdict": text,
            }
        ]
    )


def plot_depth(
    logprobs: pd.DataFrame, per_order: pd.DataFrame, letters: Mapping[str, str], read_epoch: int
) -> Figure:
    """Figure 4's analogue: one panel per order, per-token log-probability by epoch.

    Args:
        logprobs: Output of :func:`epoch_logprobs`, all replicates and orders.
        per_order: Output of :func:`verdict` (the majority class goes in the title).
        letters: Stage letter -> response name, for the legend.
        read_epoch: Where the classification reads the curves (a dotted line).
    """
    orders = list(dict.fromkeys(logprobs["order"]))
    majority = dict(zip(per_order["order"], per_order["majority"], strict=True))
    ncols = min(3, len(orders))
    nrows = math.ceil(len(orders) / ncols)
    fig = Figure(figsize=(4.2 * ncols, 3.3 * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, sharey=True).ravel()
    colours = dict(zip(letters, ("tab:orange", "tab:blue", "tab:red", "tab:green"), strict=False))
    for ax, order in zip(axes, orders, strict=False):
        part = logprobs[logprobs["order"] == order]
        for letter, name in letters.items():
            for i, (_, curve) in enumerate(part[part["response"] == letter].groupby("seed")):
                ax.plot(curve["epoch"], curve["logp_tok"], color=colours.get(letter), lw=1,
                        alpha=0.8, label=f"{letter} ({name})" if i == 0 else None)  # fmt: skip
        ax.axvline(read_epoch, color="grey", ls=":", lw=1)
        theta = part["theta"].iloc[0]
        ax.set_title(f"{theta}: {' → '.join(order)} ({majority.get(order, '?')})", fontsize=10)
        ax.set_xlabel("unlearning epoch")
        ax.grid(alpha=0.3)
    for ax in axes[len(orders) :]:
        ax.set_visible(False)
    for ax in axes[::ncols]:
        ax.set_ylabel("log-probability per token")
    axes[0].legend(fontsize=8)
    fig.suptitle(
        "Gradient ascent on U: per-token log-probabilities of R, C, U "
        "(distinguishing tokens; one line per replicate)"
    )
    return fig
