"""The layers of docs/architecture.md, checked on every module's imports (parsed with ``ast``).

Each layer knows only the ones below it:

    wiring      cli, settings, hooks/, kedro_adapter, runner, dask_runner, pipeline_registry
    nodes       pipelines/<name>/{nodes,pipeline}.py
    core        paths, plan, config, data/, modeling/, unlearning/, metrics/, report/, ...
    bookkeeping live_runs, interrupts, run_index (core, used by the hooks; no science modules)
    io          io/ (datasets)
    foundation  errors, fingerprints, versions, the package's __init__

Imports inside functions count too (a lazy import is still a dependency). Only
``kedro_adapter`` copies Kedro's run command or uses Kedro's private names.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = "path_unlearning"
SRC = Path(__file__).resolve().parents[1] / "src" / PACKAGE

WIRING = {
    "cli", "settings", "hooks", "kedro_adapter", "runner", "dask_runner",
    "pipeline_registry", "__main__",
}  # fmt: skip
FOUNDATION = {"__init__", "errors", "fingerprints", "versions"}
BOOKKEEPING = {"live_runs", "interrupts", "run_index"}
# Kedro's run command is copied (and its private names used) only in the adapter.
KEDRO_INTERNALS = ("kedro.framework.cli.project",)
# Known exceptions to "private Kedro names only in kedro_adapter", with the reason.
PRIVATE_KEDRO_ALLOWED = {
    # builds a Dask worker's hook manager as Kedro's ParallelRunner builds its workers'
    "dask_runner": {"_create_hook_manager", "_register_hooks", "_register_hooks_entry_points"},
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts = parts[:-1]
    return ".".join(parts)


def layer(module: str) -> str:
    """The layer of a module named relative to the package (``hooks.preflight``)."""
    top = module.split(".", maxsplit=1)[0]
    if top in WIRING:
        return "wiring"
    if top == "pipelines":
        return "nodes"
    if top == "io":
        return "io"
    if top in FOUNDATION:
        return "foundation"
    if top in BOOKKEEPING:
        return "bookkeeping"
    return "core"


def imports(path: Path) -> list[tuple[str, list[str]]]:
    """``(imported module, names)`` for every import in a file; relative ones resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = _module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [alias.name for alias in node.names]
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join([PACKAGE, *base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            found.append((module, names))
            # ``from path_unlearning import run_index`` imports the module run_index
            if module == PACKAGE:
                found += [(f"{PACKAGE}.{name}", []) for name in names]
    return found


def project_imports(path: Path) -> set[str]:
    """The project modules a file imports, relative to the package (``modeling.model``)."""
    return {
        module.removeprefix(f"{PACKAGE}.")
        for module, _ in imports(path)
        if module.startswith(f"{PACKAGE}.")
    }


def kedro_imports(path: Path) -> list[tuple[str, list[str]]]:
    return [(m, names) for m, names in imports(path) if m == "kedro" or m.startswith("kedro.")]


def private_attributes(path: Path) -> list[str]:
    """``x._name`` where ``x`` is not ``self``, ``cls`` or ``super()`` (another object's privates).

    ``super()._run`` is Kedro's documented extension point of a custom runner.
    """
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Attribute) or not node.attr.startswith("_"):
            continue
        if node.attr.startswith("__"):
            continue
        value = node.value
        if isinstance(value, ast.Name) and value.id in ("self", "cls"):
            continue
        if isinstance(value, ast.Call) and getattr(value.func, "id", "") == "super":
            continue
        found.append(ast.unparse(node))
    return found


# What each layer may import from the project, and the rule it breaks otherwise.
BELOW = {
    "foundation": ({"foundation"}, "foundation modules import only the foundation"),
    "io": ({"io", "foundation"}, "io imports only io and the foundation"),
    "bookkeeping": (
        {"bookkeeping", "io", "foundation"},
        "bookkeeping imports no science module, node or wiring",
    ),
    "core": (
        {"core", "bookkeeping", "io", "foundation"},
        "core modules import nothing from the wiring or the pipelines",
    ),
    "nodes": (
        {"nodes", "core", "bookkeeping", "io", "foundation"},
        "nodes import nothing from the wiring (hooks, cli, runner, kedro_adapter)",
    ),
}
KEDRO_FREE = ("core", "bookkeeping", "foundation")


def kedro_violations(module: str, path: Path) -> list[str]:
    """The Kedro rules: none in the core; its internals only in ``kedro_adapter``."""
    own = layer(module)
    found = []
    for target, names in kedro_imports(path):
        if own in KEDRO_FREE:
            found.append(f"core modules import no Kedro ({target})")
        if module == "kedro_adapter":
            continue
        if target.startswith(KEDRO_INTERNALS):
            found.append(f"only kedro_adapter copies Kedro's run command ({target})")
        private = {n for n in names if n.startswith("_")} - PRIVATE_KEDRO_ALLOWED.get(module, set())
        if private:
            found.append(f"private Kedro names only in kedro_adapter ({target}: {sorted(private)})")
    if own in ("wiring", "nodes") and module != "kedro_adapter":
        found += [
            f"private attributes (Kedro's) only in kedro_adapter ({attribute})"
            for attribute in private_attributes(path)
        ]
    return found


def violations(path: Path) -> list[str]:
    """Every broken rule of one file, as ``module: rule (what)``."""
    module = _module_name(path)
    allowed, rule = BELOW.get(layer(module), (None, ""))
    found = [
        f"{rule} ({target})"
        for target in sorted(project_imports(path))
        if allowed is not None and layer(target) not in allowed
    ]
    return [f"{module}: {text}" for text in found + kedro_violations(module, path)]


# Breaks known and not yet fixed (strict: the test fails once one is fixed, so the
# entry is removed then).
KNOWN_BREAKS: dict[str, str] = {}
MODULES = sorted(SRC.rglob("*.py"))


def _case(path: Path) -> object:
    name = _module_name(path)
    if name in KNOWN_BREAKS:
        return pytest.param(
            path, id=name, marks=pytest.mark.xfail(reason=KNOWN_BREAKS[name], strict=True)
        )
    return pytest.param(path, id=name)


@pytest.mark.parametrize("path", [_case(p) for p in MODULES])
def test_module_keeps_to_its_layer(path: Path) -> None:
    assert violations(path) == []


@pytest.mark.parametrize(
    ("module", "source", "rule"),
    [
        ("pipelines.report.pipeline", "from path_unlearning.hooks import LINEAGE_INPUT", "nodes"),
        (
            "pipelines.staged_finetune.nodes",
            "from path_unlearning.kedro_adapter import project_root",
            "nodes",
        ),
        ("io.run_tables", "from path_unlearning.run_index import read_index", "io imports"),
        ("run_index", "from path_unlearning.modeling.model import fingerprint", "bookkeeping"),
        ("cli", "from kedro.framework.cli.project import run as kedro_run", "run command"),
        ("hooks.run_index", "from kedro.io.core import _private_helper", "private Kedro"),
        ("hooks.run_index", "exists = dataset._exists_function(path)", "private attributes"),
        ("runner", "class R:\n    def f(self):\n        return super()._run(self._x)", None),
        ("plan", "from kedro.pipeline import Pipeline", "no Kedro"),
        ("modeling.train", "import path_unlearning.pipelines.unlearn.nodes", "core modules"),
        ("fingerprints", "from path_unlearning.errors import ConfigError\nimport torch", None),
        ("versions", "from path_unlearning.paths import validate_path", "foundation"),
    ],
)
def test_each_known_break_is_caught(tmp_path: Path, monkeypatch, module, source, rule) -> None:
    """The breaks this test was written against (and a few more) fail it."""
    fake_src = tmp_path / PACKAGE
    path = fake_src.joinpath(*module.split(".")).with_suffix(".py")
    path.parent.mkdir(parents=True)
    path.write_text(source + "\n", encoding="utf-8")
    monkeypatch.setattr(f"{__name__}.SRC", fake_src)
    found = violations(path)
    if rule is None:  # allowed (the foundation may use itself and third-party packages)
        assert found == []
    else:
        assert found and rule in found[0], found


def test_relative_imports_are_resolved(tmp_path: Path, monkeypatch) -> None:
    fake_src = tmp_path / PACKAGE
    path = fake_src / "pipelines" / "report" / "pipeline.py"
    path.parent.mkdir(parents=True)
    path.write_text("from ...hooks import LINEAGE_INPUT\nfrom . import nodes\n", encoding="utf-8")
    monkeypatch.setattr(f"{__name__}.SRC", fake_src)
    assert project_imports(path) == {"hooks", "pipelines.report"}
    assert "nodes import nothing from the wiring" in violations(path)[0]


def test_the_run_parameters_come_in_only_through_the_adapter() -> None:
    """``kedro_adapter`` alone reads the variables a session's configuration travels in;
    ``pipeline_registry`` alone asks it for the run's parameters (Kedro 1.7 calls
    ``register_pipelines()`` without arguments and offers no public way to them)."""
    channels = {
        "KEDRO_ENV",
        "PATH_UNLEARNING_RUNTIME_PARAMS",
        "PATH_UNLEARNING_CONF_SOURCE",
        "PATH_UNLEARNING_PROJECT",
        "PATH_UNLEARNING_PUBLISHER",
    }
    readers, askers = set(), set()
    for path in MODULES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and node.value in channels:
                readers.add(_module_name(path))
            if isinstance(node, ast.Name | ast.alias) and "run_parameters" in (
                getattr(node, "id", None),
                getattr(node, "name", None),
            ):
                askers.add(_module_name(path))
    assert readers == {"kedro_adapter"}
    assert askers - {"kedro_adapter"} == {"pipeline_registry"}
