"""The Section 3 experiment: many random instances, each comparison, both bounds.

Every instance draws ``S_A``, ``S_B``, ``S_U`` and the test set once; each comparison
(two paths, e.g. the paper's ``AB`` vs ``BA``) trains both paths, unlearns ``U`` with GA
and checks Theorem 3.1 with the Rayleigh quotient (the paper's ``rho*``) and with the
smallest eigenvalue of ``M_U``. Three tables come out:

* trajectories: one row per (instance, comparison, step);
* instances: one row per (instance, comparison, bound);
* summary: one row per (comparison, bound): how often the bound held (and which
  instances failed, and why), median ratios of measured distance to bound, ``t*``
  against the first step where the measured distance exceeds ``4 eps``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from path_unlearning.theory.bound import BOUND_KINDS, BoundTerms, bound_terms
from path_unlearning.theory.config import FORGET_STAGE, TheoryConfig, retrain_path
from path_unlearning.theory.instance import Instance, make_instance
from path_unlearning.theory.solver import (
    gradient_ascent,
    iid_control,
    lemma_prediction,
    prediction_distance,
    train_path,
    unlearning_matrix,
)


@dataclass
class ComparisonResult:
    """Per-step trajectories and constants of one comparison on one instance."""

    path_1: str
    path_2: str
    steps: np.ndarray
    distance: np.ndarray
    dist_ref_1: np.ndarray
    dist_ref_2: np.ndarray
    control_distance: np.ndarray
    lemma_rel_error: np.ndarray
    terms: BoundTerms
    ref_gap: float


def simulate_comparison(
    instance: Instance, config: TheoryConfig, path_1: str, path_2: str
) -> ComparisonResult:
    """Train both paths, unlearn ``U`` with GA, and measure everything per step.

    Args:
        instance: The datasets.
        config: Hyper-parameters.
        path_1: First learning path (``U`` may be absent: it is only unlearned).
        path_2: Second learning path.

    Returns:
        Distance between the two runs, distances to the retrain references, the i.i.d.
        control (``nan`` when the paths train different stages), Lemma 3.2's relative
        error and the theorem's constants.
    """
    X_U, y_U = instance.X[FORGET_STAGE], instance.y[FORGET_STAGE]
    runs = [
        gradient_ascent(train_path(instance, p, config.mus), X_U, y_U, config.eta, config.steps)
        for p in (path_1, path_2)
    ]
    refs = [train_path(instance, retrain_path(p), config.mus) for p in (path_1, path_2)]
    steps = np.arange(config.steps + 1)
    delta0 = runs[0][0] - runs[1][0]
    predicted = lemma_prediction(unlearning_matrix(X_U, config.eta), delta0, config.steps)
    norms = np.linalg.norm(predicted, axis=1)
    lemma_err = np.linalg.norm(runs[0] - runs[1] - predicted, axis=1) / np.where(
        norms > 0, norms, 1.0
    )
    if sorted(path_1) == sorted(path_2):
        control = iid_control(instance, path_1, path_2, config.mu_iid, config.eta, config.steps)
    else:
        control = np.full(steps.shape, np.nan)
    return ComparisonResult(
        path_1=path_1,
        path_2=path_2,
        steps=steps,
        distance=prediction_distance(instance.X_test, runs[0], runs[1]),
        dist_ref_1=prediction_distance(instance.X_test, runs[0], refs[0][None, :]),
        dist_ref_2=prediction_distance(instance.X_test, runs[1], refs[1][None, :]),
        control_distance=control,
        lemma_rel_error=lemma_err,
        terms=bound_terms(X_U, instance.X_test, config.eta, delta0),
        ref_gap=float(np.sqrt(prediction_distance(instance.X_test, refs[0], refs[1]))),
    )


def _first_step_above(steps: np.ndarray, values: np.ndarray, level: float) -> int:
    above = np.flatnonzero(values > level)
    return int(steps[above[0]]) if above.size else -1


def check_bound(
    result: ComparisonResult, kind: str, epsilon: float, rtol: float
) -> dict[str, float | int | bool | str]:
    """Check one bound kind on one comparison; all per-instance summary values.

    Args:
        result: Output of :func:`simulate_comparison`.
        kind: ``"rayleigh"`` (the paper's ``rho*``) or ``"eigen"``.
        epsilon: Corollary 1 tolerance.
        rtol: Relative tolerance of ``distance >= bound`` (float rounding).

    Returns:
        Flat mapping; ``held`` means ``distance >= bound (1 - rtol)`` at every step
        ``t >= max(t0, 0)``, ``held_exact`` the same with ``rtol = 0``; ``violation``
        names the worst step when either fails (``""`` otherwise).
    """
    terms, steps, distance = result.terms, result.steps, result.distance
    bound = terms.bound(steps, kind)
    t0 = terms.t0(kind)
    t0_tight = terms.t0(kind, tight=True)
    regime = steps >= max(t0, 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = distance / bound
    held = bool(np.all(distance[regime] >= bound[regime] * (1.0 - rtol)))
    held_exact = bool(np.all(distance[regime] >= bound[regime]))
    violation = ""
    if regime.any() and not held_exact:
        worst = int(np.argmin(np.where(regime, ratio, np.inf)))
        why = "within rtol (float rounding)" if held else "beyond rtol"
        violation = f"t={steps[worst]}: distance/bound={ratio[worst]:.12g}, {why}"
    tight = steps >= max(t0_tight, 0)
    t_star = terms.t_star(epsilon, kind)
    eps_term = terms.eps_term(epsilon, kind)
    t_star_gap = terms.t_star_gap(epsilon, result.ref_gap, kind)
    after = steps >= t_star_gap if t_star_gap is not None else np.zeros_like(regime)
    both_close = (result.dist_ref_1 <= epsilon) & (result.dist_ref_2 <= epsilon)
    control_ratio = result.control_distance / np.maximum(result.distance, 1e-300)
    return {
        "bound": kind,
        "rho": terms.rho(kind),
        "rho_rayleigh": terms.rho_rayleigh,
        "rho_min": terms.rho_min,
        "rho_max": terms.rho_max,
        "sigma_U": terms.sigma_U,
        "proj_norm": terms.proj_norm,
        "c0": terms.c0,
        "c0_tight": terms.c0_tight,
        "t0": t0,
        "t0_tight": t0_tight,
        "n_steps_checked": int(regime.sum()),
        "held": held,
        "held_exact": held_exact,
        "held_from_t0_tight": bool(np.all(distance[tight] >= bound[tight] * (1.0 - rtol))),
        "violation": violation,
        "min_ratio": float(ratio[regime].min()) if regime.any() else float("nan"),
        "final_ratio": float(ratio[-1]),
        "epsilon": epsilon,
        "t_star": -1 if t_star is None else t_star,
        "t_star_eps_term": float("nan") if eps_term is None else eps_term,
        "t_star_in_horizon": t_star is not None and t_star <= int(steps[-1]),
        "first_above_4eps": _first_step_above(steps, distance, 4.0 * epsilon),
        "distance_0": float(distance[0]),
        "distance_final": float(distance[-1]),
        "ref_gap": result.ref_gap,
        "t_star_gap": -1 if t_star_gap is None else t_star_gap,
        "corollary_held": bool(not np.any(both_close[after])),
        "lemma_max_rel_error": float(np.max(result.lemma_rel_error)),
        "control_max_ratio": float(np.max(control_ratio)),
    }


def run_experiment(
    config: TheoryConfig, comparisons: dict[str, tuple[str, str]]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Simulate ``config.n_instances`` instances and every comparison on each.

    Instance ``i`` draws its data from ``SeedSequence(config.seed).spawn(n)[i]``, so a
    run is reproducible and instance ``i`` does not depend on ``n``.

    Args:
        config: Sizes, hyper-parameters, seed and number of instances.
        comparisons: Name -> two paths (see :func:`~.config.parse_comparisons`).

    Returns:
        The trajectory table (instance, comparison, step) and the per-instance table
        (instance, comparison, bound); see the module docstring.
    """
    children = np.random.SeedSequence(config.seed).spawn(config.n_instances)
    trajectories: list[pd.DataFrame] = []
    rows: list[dict] = []
    for i, child in enumerate(children):
        instance = make_instance(config, np.random.default_rng(child))
        for name, (path_1, path_2) in comparisons.items():
            res = simulate_comparison(instance, config, path_1, path_2)
            labels = {"instance": i, "comparison": name, "path_1": path_1, "path_2": path_2}
            columns = {
                "step": res.steps,
                "distance": res.distance,
                "dist_ref_1": res.dist_ref_1,
                "dist_ref_2": res.dist_ref_2,
                "control_distance": res.control_distance,
                "lemma_rel_error": res.lemma_rel_error,
            }
            for kind in BOUND_KINDS:
                columns[f"bound_{kind}"] = res.terms.bound(res.steps, kind)
                columns[f"in_regime_{kind}"] = res.steps >= max(res.terms.t0(kind), 0)
            trajectories.append(pd.DataFrame(columns).assign(**labels))
            for kind in BOUND_KINDS:
                rows.append({**labels, **check_bound(res, kind, config.epsilon, config.rtol)})
    traj = pd.concat(trajectories, ignore_index=True)
    first = ["instance", "comparison", "path_1", "path_2"]
    traj = traj[first + [c for c in traj.columns if c not in first]]
    return traj, pd.DataFrame(rows)


def _median(series: pd.Series) -> float:
    return float(series.median()) if len(series) else float("nan")


def summarise(instances: pd.DataFrame) -> pd.DataFrame:
    """One row per (comparison, bound): how often the bound held, ratios, ``t*``.

    Args:
        instances: The per-instance table of :func:`run_experiment`.

    Returns:
        Columns: counts of instances, of those with at least one step checked and of
        those where the bound held (with and without tolerance, and from ``t0_tight``);
        the failed instances and their reasons; medians over instances of the smallest
        and the last ratio ``distance / bound``; medians of ``t0``, ``t*`` and of the first
        step where the distance exceeds ``4 eps``; how often that first step is ``<= t*``.
    """
    out = []
    for (name, kind), group in instances.groupby(["comparison", "bound"], sort=False):
        failed = group[~group["held"] | ~group["held_exact"]]
        in_horizon = group[group["t_star_in_horizon"]]
        crossed = in_horizon[in_horizon["first_above_4eps"] >= 0]
        out.append(
            {
                "comparison": name,
                "path_1": group["path_1"].iloc[0],
                "path_2": group["path_2"].iloc[0],
                "bound": kind,
                "n_instances": len(group),
                "n_checked": int((group["n_steps_checked"] > 0).sum()),
                "n_held": int(group["held"].sum()),
                "n_held_exact": int(group["held_exact"].sum()),
                "n_held_from_t0_tight": int(group["held_from_t0_tight"].sum()),
                "failed_instances": " ".join(str(i) for i in failed["instance"]),
                "failure_reasons": "; ".join(
                    f"#{i} {v}" for i, v in zip(failed["instance"], failed["violation"])
                ),
                "median_min_ratio": _median(group["min_ratio"]),
                "median_final_ratio": _median(group["final_ratio"]),
                "median_rho": _median(group["rho"]),
                "median_t0": _median(group["t0"]),
                "median_t0_tight": _median(group["t0_tight"]),
                "n_t_star_in_horizon": len(in_horizon),
                "median_t_star": _median(in_horizon["t_star"]),
                "n_t_star_is_t0": int((group["t_star"] == group["t0"]).sum()),
                "median_t_star_eps_term": _median(group["t_star_eps_term"]),
                "median_first_above_4eps": _median(crossed["first_above_4eps"]),
                "n_first_above_4eps_le_t_star": int(
                    (crossed["first_above_4eps"] <= crossed["t_star"]).sum()
                ),
                "median_t_star_minus_first": _median(
                    crossed["t_star"] - crossed["first_above_4eps"]
                ),
                "n_corollary_held": int(group["corollary_held"].sum()),
                "max_lemma_rel_error": float(group["lemma_max_rel_error"].max()),
                "max_control_ratio": float(group["control_max_ratio"].max()),
            }
        )
    return pd.DataFrame(out)
