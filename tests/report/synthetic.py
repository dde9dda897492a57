"""Small synthetic tables following docs/tables.md, for the report tests.

Paths of stages A, B, C with C the forget stage. By construction the forget
label of a path whose forget stage comes at position p starts at
``-30 + 10 * p`` (early forget stage starts lower) and falls by
``rate(p) * step`` with ``rate`` largest for p = 1, so the paths with the
forget stage last unlearn slowest (a recency effect); ``recency=False``
reverses the rates.
"""

from __future__ import annotations

import itertools
import zlib

import numpy as np
import pandas as pd

PATHS = ("ABC", "ACB", "BAC", "BCA", "CAB", "CBA")
FORGET = "C"


def position(path: str) -> int:
    """1-based position of the forget stage."""
    return path.index(FORGET) + 1


def rate(path: str, recency: bool = True) -> float:
    """Forget-label drop per step for a path."""
    p = position(path)
    return {1: 3.0, 2: 2.0, 3: 1.0}[p] if recency else {1: 1.0, 2: 2.0, 3: 3.0}[p]


def trajectory(
    path: str,
    method: str,
    seeds=(0, 1),
    steps: int = 5,
    recency: bool = True,
    start_noise: float = 0.0,
) -> pd.DataFrame:
    """One ``{path}.{method}.trajectory`` table.

    ``start_noise`` adds a per path x seed offset (normal, that std) to the
    starting forget-label log-likelihood, so it is not collinear with position.
    """
    rows = []
    p = position(path)
    for seed in seeds:
        rng = np.random.default_rng(zlib.crc32(f"{path}/{method}/{seed}".encode()))
        jitter = float(np.random.default_rng(zlib.crc32(f"{path}/{seed}".encode())).normal())
        start = {"forget_label_ll": -30.0 + 10 * p + start_noise * jitter,
                 "paraphrase_ll": -35.0 + 10 * p, "facts_ll": -12.0, "math_ll": -40.0}  # fmt: skip
        for step in range(steps + 1):
            noise = 0.0 if step == 0 else float(rng.normal(0, 0.1))
            values = {
                "forget_label_ll": start["forget_label_ll"] - rate(path, recency) * step + noise,
                "paraphrase_ll": start["paraphrase_ll"] - 0.5 * rate(path, recency) * step,
                "facts_ll": start["facts_ll"] - 0.05 * step * p,
                "math_ll": start["math_ll"] - 0.1 * step,
            }
            rows.append({
                "path": path, "method": method, "seed": seed, "position": p, "step": step,
                "loss": np.nan if step == 0 else -1.0 * step, "lr": 1e-3,
                **values, **{f"{k}_tok": v / 10 for k, v in values.items()},
                "diverged": False, **{f"{k}_start": v for k, v in start.items()},
                **{f"{k}_tok_start": v / 10 for k, v in start.items()},
            })  # fmt: skip
    return pd.DataFrame(rows)


def trajectory_name(seed: int, path: str, method: str) -> str:
    """Catalog name of one trajectory: ``s0.BCA.npo.trajectory``."""
    return f"s{seed}.{path}.{method}.trajectory"


def trajectories(
    paths=PATHS,
    methods=("ga", "npo"),
    seeds=(0, 1),
    steps: int = 5,
    recency: bool = True,
    start_noise: float = 0.0,
) -> dict[str, pd.DataFrame]:
    """All trajectories (one table per seed x path x method), keyed by catalog name."""
    return {
        trajectory_name(seed, path, method): trajectory(
            path, method, (seed,), steps, recency, start_noise
        )
        for seed in seeds
        for method in methods
        for path in paths
    }


def evaluation_scores(trajs: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """``evaluation_scores`` derived from the trajectories' last step."""
    rows = []
    for table in trajs.values():
        for (path, method, seed), run in table.groupby(["path", "method", "seed"]):
            last, first = run.iloc[-1], run.iloc[0]
            p = int(first["position"])
            # per token, as the evaluation (the summed scores are 10x)
            label = first["forget_label_ll_tok"] - last["forget_label_ll_tok"]
            para = first["paraphrase_ll_tok"] - last["paraphrase_ll_tok"]
            metrics = {
                "forget_score_label": label,
                "forget_score_paraphrase": para,
                "forget_score_both": (label + para) / 2,
                "facts_utility": 1 - abs(last["facts_ll_tok"] - first["facts_ll_tok"]),
                "forget_score_label_sum": 10 * label,
                "math_acc_before": 0.5,
                "math_acc_after": 0.5 - 0.05 * p,
                "math_utility": -0.05 * p,
                "re_distance_before": 0.01 * p,
                "re_distance_after": 0.1 * p,
                "forget_label_ll_before": first["forget_label_ll"],
                "forget_label_ll_after": last["forget_label_ll"],
                "facts_ll_before": first["facts_ll"],
                "facts_ll_after": last["facts_ll"],
                "forget_label_ll_tok_before": first["forget_label_ll_tok"],
                "forget_label_ll_tok_after": last["forget_label_ll_tok"],
            }
            rows += [
                {"path": path, "method": method, "seed": seed, "position": p, "metric": k,
                 "value": float(v)}
                for k, v in metrics.items()
            ]  # fmt: skip
    return pd.DataFrame(rows)


def tokenizer():
    """A word-level tokenizer: the regime check reads its vocabulary size."""
    from path_unlearning.data.tokenizer import train_word_tokenizer

    return train_word_tokenizer([" ".join(PATHS), "sorry , i can not help with that ."])


def path_divergence(methods=("ga", "npo"), seeds=(0, 1), steps: int = 5) -> pd.DataFrame:
    """Pairwise distances growing like ``1e-3 * exp(0.5 * step)``."""
    rows = []
    for method, seed, step, (a, b) in itertools.product(
        methods, seeds, range(steps + 1), itertools.combinations(PATHS, 2)
    ):
        d = 1e-3 * np.exp(0.5 * step)
        rows.append({"method": method, "seed": seed, "step": step, "path_a": a, "path_b": b,
                     "re_distance": d, "kl": 2 * d})  # fmt: skip
    return pd.DataFrame(rows)


def divergence_fits(methods=("ga", "npo")) -> pd.DataFrame:
    """Fits matching :func:`path_divergence`."""
    return pd.DataFrame(
        [{"method": m, "slope": 0.5, "intercept": np.log(1e-3), "r2": 1.0, "n_points": 5,
          "aic_exponential": -200.0, "aic_linear": -50.0, "aic_saturating": -60.0,
          "best_model": "exponential"}
         for m in methods]
    )  # fmt: skip


def benchmark_scores(
    methods=("ga", "npo"), seeds=(0, 1, 2), path_effect: bool = True
) -> pd.DataFrame:
    """``benchmark_scores`` of the report's section, with or without a path effect.

    Every metric is ``base + effect + noise``: the effect grows with the forget
    stage's position (``path_effect``) or is zero, the noise is a fixed draw per
    cell, so paths x replicates tests see a path effect only when there is one.
    ``relearn_half_steps`` falls with position (the forget-last paths relearn
    fastest) when there is a path effect.
    """
    from path_unlearning.metrics import registry

    rng = np.random.default_rng(7)
    rows = []
    for method, seed, path in itertools.product(methods, seeds, PATHS):
        p = position(path)
        effect = float(p) if path_effect else 0.0
        for metric in registry.benchmark_metric_names():
            noise = float(rng.normal(0.0, 0.1))
            value = 10.0 - 2.0 * effect + noise if metric == "relearn_half_steps" else (
                0.5 + 0.1 * effect + 0.1 * noise)  # fmt: skip
            rows.append({"path": path, "method": method, "seed": seed, "position": p,
                         "metric": metric, "value": value})  # fmt: skip
    return pd.DataFrame(rows)


def relearning_curves(
    methods=("ga", "npo"), seeds=(0, 1, 2), steps: int = 5, path_effect: bool = True
) -> pd.DataFrame:
    """``relearning_curves``: the label climbing back from -3 toward its start of -1.

    Every path starts at -3; with ``path_effect`` a later forget stage climbs
    faster (so from any common level too), else every path climbs at one rate.
    """
    rows = []
    for method, seed, path in itertools.product(methods, seeds, PATHS):
        rate = 0.3 * position(path) if path_effect else 0.6
        for step in range(steps + 1):
            tok = -3.0 + 2.0 * (1 - np.exp(-rate * step))
            rows.append({"path": path, "method": method, "seed": seed,
                         "position": position(path), "step": step, "forget_label_ll": 10 * tok,
                         "forget_label_ll_tok": tok, "before": -1.0})  # fmt: skip
    return pd.DataFrame(rows)
