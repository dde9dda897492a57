"""GA vs GradDiff spread table and the per-setting verdict table, on hand-made scores."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from path_unlearning import schemas as sc
from path_unlearning.report import statistics as st


def _scores(values: dict[tuple[str, str, int], float], metric: str) -> pd.DataFrame:
    rows = [
        {sc.PATH: p, sc.METHOD: m, sc.SEED: s, sc.POSITION: p.index("C") + 1,
         sc.METRIC: metric, sc.VALUE: v}
        for (m, p, s), v in values.items()
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=list(sc.EVALUATION_SCORES.names))


def test_contrast_by_hand():
    # ga: path means 1 and 3 (seed deviations +-1); gradiff: path means 2 and 2 (+-0.5)
    values = {
        ("ga", "AC", 0): 0.0, ("ga", "AC", 1): 2.0, ("ga", "CA", 0): 2.0, ("ga", "CA", 1): 4.0,
        ("gradiff", "AC", 0): 1.5, ("gradiff", "AC", 1): 2.5,
        ("gradiff", "CA", 0): 1.5, ("gradiff", "CA", 1): 2.5,
    }  # fmt: skip
    table = st.method_contrast(_scores(values, sc.FORGET_SCORE_LABEL)).set_index(sc.METHOD)
    assert list(table.columns) == st.CONTRAST_COLUMNS[1:]
    # std of (1, 3) with ddof=1 = sqrt(2); pooled seed std = sqrt((2 + 2) / 2) = sqrt(2)
    assert table.loc["ga", "path_std"] == pytest.approx(math.sqrt(2))
    assert table.loc["ga", "path_range"] == pytest.approx(2.0)
    assert table.loc["ga", "seed_std"] == pytest.approx(math.sqrt(2))
    assert table.loc["ga", "ratio"] == pytest.approx(1.0)
    assert table.loc["gradiff", "path_std"] == pytest.approx(0.0)
    assert table.loc["gradiff", "seed_std"] == pytest.approx(math.sqrt(0.5))
    assert table.loc["gradiff", "mean"] == pytest.approx(2.0)


def test_contrast_is_empty_without_the_methods():
    values = {("npo", "AC", 0): 1.0, ("npo", "CA", 0): 2.0}
    assert st.method_contrast(_scores(values, sc.FORGET_SCORE_LABEL)).empty


def test_setting_verdicts_by_hand():
    runs = pd.DataFrame(
        [(m, seed, path, len(path) if path.endswith("C") else 1, value)
         for m, values in (("ga", (1.0, 2.0)), ("ga_cosine", (2.0, 1.0)))
         for seed in (0, 1) for path, value in zip(("AC", "CA"), values, strict=True)],
        columns=[sc.METHOD, sc.SEED, sc.PATH, sc.POSITION, st.FORGET_SCORE],
    )  # fmt: skip
    recency = st.recency_tests([(st.FORGET_SCORE, runs)])
    fits = pd.DataFrame(
        {sc.METHOD: ["ga", "ga_cosine"], sc.SLOPE: [0.2, 0.3], sc.INTERCEPT: [0.0, 0.0],
         sc.R2: [0.9, 0.5], sc.N_POINTS: [4, 4], "best_model": ["exponential", "saturating"]}
    )  # fmt: skip
    table = st.setting_verdicts(recency, fits).set_index("setting")
    assert table.loc["ga", "recency_holds"] and table.loc["ga", "recency_n_cells"] == 2
    # 2 paths, one last: chance 1/2 per replicate, both replicates hold
    assert table.loc["ga", "recency_p_value"] == pytest.approx(0.25)
    assert not table.loc["ga_cosine", "recency_holds"]
    assert table.loc["ga", "divergence_grows"] and not table.loc["ga_cosine", "divergence_grows"]
