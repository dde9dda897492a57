"""kedro-viz: build the static site, serve it on 127.0.0.1 and look at it in headless Chromium.

The copy of the project first runs the report pipeline on synthetic saved inputs,
so the previews of the report's tables and figures exist. The test checks the
stage-training node of every prefix of the trie (``s0.BCA.train``), the namespace
box of every seed and of every path inside it, and every output of the report pipeline, and saves
screenshots under the test's ``tmp_path``. Skipped without ``/usr/bin/chromium``
or the ``playwright`` package; no browser is downloaded (playwright only drives
the Debian Chromium) and every request that is not to 127.0.0.1 is aborted.
"""

from __future__ import annotations

import functools
import json
import re
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from path_unlearning.pipelines.report.pipeline import create_pipeline
from tests.report.project_copy import copy_project, kedro, seed_report_inputs

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium"),
]


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Copy the project, run the report pipeline, build the viz site."""
    project = copy_project(tmp_path_factory.mktemp("viz") / "project")
    plan = seed_report_inputs(project)
    ran = kedro(project, "run", "--pipelines=report")
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    built = kedro(project, "viz", "build", "--include-previews")
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    assert (project / "build" / "index.html").exists()
    return {"build": project / "build", "plan": plan}


@pytest.fixture(scope="module")
def url(site: dict) -> Iterator[str]:
    """Serve the static site on an ephemeral port of 127.0.0.1."""
    handler = functools.partial(_QuietHandler, directory=str(site["build"]))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                      args=CHROMIUM_FLAGS)  # fmt: skip
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, url: str) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    # nothing leaves the machine: the site asks for web fonts, abort those
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(url)
                  else route.abort())  # fmt: skip
    page = context.new_page()
    yield page
    context.close()


def _open(page, url: str, pipeline: str | None = None) -> list[str]:
    page.goto(url + (f"/?pid={pipeline}" if pipeline else "/"), wait_until="domcontentloaded")
    page.wait_for_selector(".pipeline-node", timeout=60_000)
    page.wait_for_timeout(1500)  # let the layout settle
    return page.eval_on_selector_all(".pipeline-node", "els => els.map(e => e.textContent.trim())")


def _node(page, name: str):
    """The drawn node whose label is exactly ``name``."""
    return page.locator(".pipeline-node").filter(has_text=re.compile(rf"^\s*{re.escape(name)}\s*$"))


def test_static_site_lists_every_prefix_training(site: dict) -> None:
    data = json.loads((site["build"] / "api" / "main").read_text())
    tasks = {n["full_name"] for n in data["nodes"] if n["type"] == "task"}
    plan = site["plan"]
    expected = {f"{plan.namespace(seed, prefix)}.train" for seed in plan.seeds
                for prefix in plan.prefixes}  # fmt: skip
    assert expected <= tasks
    report = json.loads((site["build"] / "api" / "pipelines" / "report").read_text())
    names = {n["name"] for n in report["nodes"]}
    assert create_pipeline(plan=plan).all_outputs() <= names


def test_default_pipeline_shows_every_path(page, url: str, site: dict, tmp_path: Path) -> None:
    shown = set(_open(page, url))
    plan = site["plan"]
    assert {plan.namespace(seed) for seed in plan.seeds} <= shown  # one box per seed
    page.screenshot(path=str(tmp_path / "default.png"))
    # expand the first seed: one namespace box per prefix of its trie
    page.get_by_role("button", name=plan.namespace(plan.seeds[0]), exact=True).first.click()
    page.wait_for_timeout(1500)
    shown = {t.strip() for t in page.eval_on_selector_all(
        ".pipeline-node", "els => els.map(e => e.textContent)")}  # fmt: skip
    first = plan.seeds[0]
    assert {plan.namespace(first, prefix) for prefix in plan.prefixes} <= shown
    # expand one path: its stage-training node is drawn inside the box
    page.get_by_role("button", name=plan.namespace(first, plan.paths[0]), exact=True).first.click()
    page.wait_for_timeout(1500)
    texts = page.eval_on_selector_all(".pipeline-node", "els => els.map(e => e.textContent)")
    assert "train" in {t.strip() for t in texts}
    page.screenshot(path=str(tmp_path / "expanded.png"))
    assert (tmp_path / "default.png").stat().st_size > 0


def test_report_pipeline_outputs_and_previews(page, url: str, site: dict, tmp_path: Path) -> None:
    shown = set(_open(page, url, "report"))
    expected = create_pipeline(plan=site["plan"]).all_outputs()
    assert expected <= shown, sorted(expected - shown)
    page.screenshot(path=str(tmp_path / "report.png"))
    # the verdicts table preview opens in the metadata panel
    _node(page, "report_verdicts").first.click()
    panel = page.locator(".pipeline-metadata")
    panel.wait_for(timeout=30_000)
    page.wait_for_timeout(1000)
    assert "recency" in panel.inner_text()
    # the Figure 1 PNG preview is an embedded image
    _node(page, "report_figure1").first.click()
    image = page.locator(".pipeline-metadata img.pipeline-metadata__plot-image")
    image.wait_for(timeout=30_000)
    assert image.get_attribute("src").startswith("data:image/png;base64,")
    page.screenshot(path=str(tmp_path / "preview.png"))
