"""Execute notebooks/explore_paths.ipynb with nbclient against a copy of the project.

The copy has the project's conf/ and synthetic trajectories saved through its
catalog, so ``%load_ext kedro.ipython`` finds a real project and
``catalog.load("BCA.ga.trajectory")`` reads real (versioned) files.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest
import yaml
from kedro.config import OmegaConfigLoader
from kedro.io import DataCatalog
from nbclient import NotebookClient

from tests.report import synthetic as syn

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "explore_paths.ipynb"
TRAJECTORY_PATTERN = {
    "{path}.{method}.trajectory": {
        "type": "pandas.ParquetDataset",
        "filepath": "data/07_model_output/trajectories/{path}.{method}.parquet",
        "versioned": True,
    }
}


def copy_project(dest: Path) -> Path:
    """Copy what a Kedro session needs (pyproject, conf/base, logging, notebooks) to ``dest``."""
    shutil.copy(ROOT / "pyproject.toml", dest / "pyproject.toml")
    if (ROOT / ".telemetry").exists():
        shutil.copy(ROOT / ".telemetry", dest / ".telemetry")
    shutil.copytree(ROOT / "conf" / "base", dest / "conf" / "base")
    if (ROOT / "conf" / "logging.yml").exists():
        shutil.copy(ROOT / "conf" / "logging.yml", dest / "conf" / "logging.yml")
    (dest / "conf" / "local").mkdir(parents=True)
    shutil.copytree(ROOT / "notebooks", dest / "notebooks")
    return dest


def project_catalog(project: Path) -> DataCatalog:
    """The copy's catalog; adds a trajectory pattern in conf/local if conf/base has none."""
    def load() -> DataCatalog:
        loader = OmegaConfigLoader(str(project / "conf"), base_env="base", default_run_env="local")
        return DataCatalog.from_config(loader["catalog"])

    catalog = load()
    if catalog.get("BCA.ga.trajectory", fallback_to_runtime_pattern=False) is None:
        (project / "conf" / "local" / "catalog.yml").write_text(yaml.safe_dump(TRAJECTORY_PATTERN))
        catalog = load()
    return catalog


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    project = copy_project(tmp_path)
    (project / "conf" / "local" / "parameters.yml").write_text("method: ga\n")
    monkeypatch.chdir(project)  # catalog file paths are relative to the project
    monkeypatch.setenv("DO_NOT_TRACK", "1")
    monkeypatch.setenv("KEDRO_DISABLE_TELEMETRY", "true")
    catalog = project_catalog(project)
    for name, table in syn.trajectories(methods=("ga",), seeds=(0, 1)).items():
        catalog.save(name, table)
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
    assert len(images) == 1  # Figure 1
    assert any("application/vnd.plotly.v1+json" in o.get("data", {}) for o in outputs)


def test_notebook_is_committed_without_outputs() -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code[0].source.strip() == "%load_ext kedro.ipython"
    assert all(not c.outputs and c.execution_count is None for c in code)
    assert any('catalog.load(f"{path}.{method}.trajectory")' in c.source for c in code)
