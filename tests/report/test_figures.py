"""Report figures: panels, lines per path, bands only with several seeds."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure

from path_unlearning.report import figures, tables
from tests.report import synthetic as syn


def _bands(seeds=(0, 1), column="forget_label_ll") -> pd.DataFrame:
    traj = tables.concat_trajectories(list(syn.trajectories(seeds=seeds).values()))
    return tables.trajectory_bands(traj, column)


def _fills(ax) -> int:
    return sum(isinstance(c, PolyCollection) for c in ax.collections)


def test_plot_curves_one_panel_per_method_one_line_per_path() -> None:
    fig = figures.plot_curves(_bands())
    axes = fig.get_axes()
    assert [ax.get_title() for ax in axes] == ["ga", "npo"]
    for ax in axes:
        assert len(ax.get_lines()) == 6
        assert _fills(ax) == 6  # one band per path
    assert "95% confidence interval over 2 seeds" in fig._suptitle.get_text()
    assert figures.figure_png(fig)[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_curves_one_seed_has_no_band() -> None:
    fig = figures.plot_curves(_bands(seeds=(0,)))
    assert all(_fills(ax) == 0 for ax in fig.get_axes())
    assert "one seed: no confidence band" in fig._suptitle.get_text()


def test_path_colors_are_shared_between_panels() -> None:
    fig = figures.plot_forget_and_facts(_bands(), _bands(column="facts_ll"))
    axes = fig.get_axes()
    assert len(axes) == 4  # 2 methods x (forget, facts)
    left = {ln.get_label(): ln.get_color() for ln in axes[0].get_lines()}
    right = {ln.get_label(): ln.get_color() for ln in axes[1].get_lines()}
    assert left == right and len(set(left.values())) == 6


def test_divergence_figure_log_scale_with_fit() -> None:
    curve = tables.divergence_curve(syn.path_divergence())
    trajs = syn.trajectories()
    refs = tables.reference_distances(syn.evaluation_scores(trajs))
    fig = figures.plot_divergence(curve, syn.divergence_fits(), refs)
    left, right = fig.get_axes()
    assert left.get_yscale() == "log" and right.get_yscale() == "log"
    labels = [ln.get_label() for ln in left.get_lines()]
    assert "ga: rate 0.5/step, r2 1.00" in labels
    assert len(left.get_lines()) == 4  # data + fit per method
    assert len(right.patches) == 6 * 3  # before + after ga + after npo, per path


def test_empty_inputs_still_draw() -> None:
    empty_curve = tables.divergence_curve(syn.path_divergence().iloc[0:0])
    refs = pd.DataFrame(columns=["method", "position", "path", "before", "after"])
    fig = figures.plot_divergence(empty_curve, syn.divergence_fits().iloc[0:0], refs)
    assert isinstance(fig, Figure)
    texts = [t.get_text() for ax in fig.get_axes() for t in ax.texts]
    assert "no pair of paths shares its stages" in texts


def test_plotly_figures() -> None:
    bands = _bands()
    curves = figures.plotly_curves(bands)
    assert isinstance(curves, go.Figure)
    names = {t.name for t in curves.data if t.showlegend is not False and t.name}
    assert names == {f"{p} (p={syn.position(p)})" for p in syn.PATHS}
    fills = [t for t in curves.data if t.fill == "toself"]
    assert len(fills) == 12  # 6 paths x 2 methods
    both = figures.plotly_forget_and_facts(bands, _bands(column="facts_ll"))
    assert len(both.layout.annotations) == 4  # subplot titles
    curve = tables.divergence_curve(syn.path_divergence())
    refs = tables.reference_distances(syn.evaluation_scores(syn.trajectories()))
    div = figures.plotly_divergence(curve, syn.divergence_fits(), refs)
    assert div.layout.yaxis.type == "log"
    assert sum(isinstance(t, go.Bar) for t in div.data) == 3
    assert div.to_json()  # serialisable for plotly.JSONDataset
