"""The multi-instance experiment, its summary, and the figure."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from path_unlearning.theory.config import TheoryConfig
from path_unlearning.theory.experiment import (
    check_bound,
    run_experiment,
    simulate_comparison,
    summarise,
)
from path_unlearning.theory.figures import plot_theory
from path_unlearning.theory.instance import make_instance

COMPARISONS = {"theorem_3_1": ("AB", "BA"), "forget_trained_last": ("ABU", "BAU")}


def test_run_experiment_tables(base: TheoryConfig) -> None:
    traj, inst = run_experiment(base, COMPARISONS)
    n, steps = base.n_instances, base.steps + 1
    assert len(traj) == n * len(COMPARISONS) * steps
    assert len(inst) == n * len(COMPARISONS) * 2
    assert {"bound_rayleigh", "bound_eigen", "in_regime_rayleigh", "in_regime_eigen"} <= set(
        traj.columns
    )
    assert inst["held"].all() and inst["held_exact"].all() and inst["corollary_held"].all()
    assert (inst["n_steps_checked"] > 0).all()
    assert (inst["lemma_max_rel_error"] < 1e-8).all()
    assert (inst["control_max_ratio"] < 1e-10).all()
    # the Rayleigh growth rate is at least the smallest eigenvalue, so its bound is higher
    wide = traj[traj["step"] > 0]
    assert (wide["bound_rayleigh"] >= wide["bound_eigen"]).all()
    # the paper's setting never trains U: both references are the trained models
    paper = inst[inst["comparison"] == "theorem_3_1"]
    np.testing.assert_allclose(paper["ref_gap"] ** 2, paper["distance_0"], rtol=1e-12)
    # reproducible, and instance i does not depend on how many instances are drawn
    again, _ = run_experiment(base.model_copy(update={"n_instances": 1}), COMPARISONS)
    first = traj[traj["instance"] == 0].reset_index(drop=True)
    pd.testing.assert_frame_equal(first, again)


def test_summary_counts_and_medians(base: TheoryConfig) -> None:
    _, inst = run_experiment(base, COMPARISONS)
    summary = summarise(inst)
    assert list(zip(summary["comparison"], summary["bound"])) == [
        ("theorem_3_1", "rayleigh"),
        ("theorem_3_1", "eigen"),
        ("forget_trained_last", "rayleigh"),
        ("forget_trained_last", "eigen"),
    ]
    assert (summary["n_held"] == base.n_instances).all()
    assert (summary["failed_instances"] == "").all()
    for _, row in summary.iterrows():
        sel = inst[(inst["comparison"] == row["comparison"]) & (inst["bound"] == row["bound"])]
        assert row["median_min_ratio"] == sel["min_ratio"].median()
        assert row["median_min_ratio"] >= 1.0
    # measured crossing of 4 eps never comes after the guaranteed t*
    ok = summary["n_first_above_4eps_le_t_star"]
    assert (ok == summary["n_t_star_in_horizon"]).all()
    # Jensen: the Rayleigh bound is tighter (smaller ratios) than the eigenvalue one
    ratio = summary.set_index(["comparison", "bound"])["median_min_ratio"]
    assert ratio["theorem_3_1", "rayleigh"] <= ratio["theorem_3_1", "eigen"]


def test_violations_are_reported(base: TheoryConfig) -> None:
    inst = make_instance(base, np.random.default_rng(0))
    res = simulate_comparison(inst, base, "AB", "BA")
    good = check_bound(res, "rayleigh", base.epsilon, base.rtol)
    assert good["held"] and good["violation"] == ""
    # just below the bound: within rtol, so held but not exactly, with the reason given
    res.distance = res.terms.bound(res.steps) * (1 - 1e-12)
    close = check_bound(res, "rayleigh", base.epsilon, base.rtol)
    assert close["held"] and not close["held_exact"]
    assert "within rtol (float rounding)" in close["violation"]
    res.distance = res.terms.bound(res.steps) * 0.5
    bad = check_bound(res, "rayleigh", base.epsilon, base.rtol)
    assert not bad["held"] and "distance/bound=0.5" in bad["violation"]
    table = pd.DataFrame(
        [{"instance": 7, "comparison": "c", "path_1": "AB", "path_2": "BA", **bad}]
    )
    row = summarise(table).iloc[0]
    assert row["n_held"] == 0 and row["failed_instances"] == "7"
    assert row["failure_reasons"].startswith("#7 t=")


def test_plot_theory_without_pyplot(base: TheoryConfig, tmp_path) -> None:
    traj, inst = run_experiment(base.model_copy(update={"n_instances": 2}), COMPARISONS)
    fig = plot_theory(traj, inst)
    assert isinstance(fig, Figure) and len(fig.axes) == 3
    assert fig.axes[0].get_yscale() == "log"
    out = tmp_path / "theory.png"
    fig.savefig(out)  # a bare Figure saves through Matplotlib's own canvas
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
