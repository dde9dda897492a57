"""Execute notebooks/explore_paths.ipynb with nbclient against a copy of the project.

The copy has the project's conf/ and synthetic trajectories saved through its
catalog, so ``%load_ext kedro.ipython`` finds a real project and
``catalog.load("s0.BCA.ga.trajectory")`` reads real (versioned) files.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.report.project_copy import copy_project, seed_report_inputs

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "explore_paths.ipynb"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    project = copy_project(tmp_path)
    (project / "conf" / "local" / "parameters.yml").write_text("method: ga\nseeds: [0, 1]\n")
    monkeypatch.setenv("DO_NOT_TRACK", "1")
    monkeypatch.setenv("KEDRO_DISABLE_TELEMETRY", "true")
    seed_report_inputs(project, seeds=(0, 1))
    return project


@pytest.mark.slow
def test_notebook_runs_and_draws_figure_1(project: Path) -> None:
    nb = nbformat.read(project / "notebooks" / "explore_paths.ipynb", as_version=4)
    client = NotebookClient(
        nb, timeout=600, kernel_name="python3",
        resources={"metadata": {"path": str(project / "notebooks")}},
    )  # fmt: skip
    client.execute()
    outputs = [out for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "ga: 6 paths, 2 seed(s), 5 steps" in text
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) == 2  # Figure 1 and forget quality by path
    assert any("application/vnd.plotly.v1+json" in o.get("data", {}) for o in outputs)


def test_notebook_is_committed_without_outputs() -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code[0].source.splitlines()[0] == "%load_ext kedro.ipython"
    assert all(not c.outputs and c.execution_count is None for c in code)
    assert any("catalog.load(" in c.source and ".trajectory" in c.source for c in code)
    assert any('catalog.load("benchmark_scores")' in c.source for c in code)
