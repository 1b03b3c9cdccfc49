"""Fixtures for real-browser tests: one JupyterLab 4 server + one headless Chromium per session.

How to write a browser test (see test_browser_smoke.py):

1. The lab root is a temp copy of the repo's `notebooks/` plus `tests/browser/notebooks/`, flat,
   so `open_notebook(page, lab_server, "<file>.ipynb")` opens either kind. Committed notebooks are
   never touched (autosave is off, and the copy is thrown away).
2. Give the widget under test a stable CSS class in the kit (`ui.add_class("rlkit-viewer")`) and
   locate it with `page.locator(".rlkit-viewer")`; ipywidgets' own classes are generic.
3. A test file `tests/browser/test_browser_<what>.py`:

       import pytest
       from .lab import open_notebook, run_all, assert_widgets_healthy, save_screenshot

       pytestmark = pytest.mark.browser

       def test_viewer(lab_page, lab_server):
           from playwright.sync_api import expect  # inside: the module must import without it
           open_notebook(lab_page, lab_server, "02_viewer.ipynb")
           run_all(lab_page)                       # kernel runs with RLKIT_FAST=1
           assert_widgets_healthy(lab_page)        # no widget errors, nothing on stderr
                                                   # (allow_stderr=True for a shown error)
           ui = lab_page.locator(".rlkit-viewer")
           expect(ui.locator(".widget-slider")).to_be_visible()
           save_screenshot(ui, "viewer.png")      # -> browser-artifacts/viewer.png

   Name files `test_browser_*.py` and mark them `browser`. They skip, with the reason, where
   Python Playwright or a chromium executable is missing. On failure a screenshot, the browser
   console and the server log land in `$BROWSER_ARTIFACTS` (default `browser-artifacts/`).
   `run_all(page, timeout=...)` in ms if a notebook needs more than 120 s even with RLKIT_FAST.
4. Chromium is Debian's (`apt-get install chromium fonts-dejavu-core`), or `$CHROMIUM_PATH`.
   Never `playwright install`: it downloads a browser build, which cannot work offline.
"""

from __future__ import annotations

import os
import pathlib
import re
import shutil

import pytest

from .jlserver import LabServer, shutdown_sessions, start_lab, stop_lab
from .lab import ARTIFACTS, REPO, assert_widgets_healthy, open_notebook, run_all, save_screenshot

__all__ = ["ARTIFACTS", "assert_widgets_healthy", "open_notebook", "run_all", "save_screenshot"]

NOTEBOOK_DIRS = (REPO / "notebooks", pathlib.Path(__file__).parent / "notebooks")
CHROMIUM_ARGS = [
    "--no-sandbox", "--headless=new", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]


def find_chromium() -> str | None:
    return (
        os.environ.get("CHROMIUM_PATH")
        or shutil.which("chromium")
        or shutil.which("chromium-browser")
    )


def browser_skip_reason() -> str | None:
    """Why browser tests cannot run here, or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Python playwright is not installed (pip install -e '.[test]')"
    if find_chromium() is None:
        return ("no chromium executable: apt-get install chromium fonts-dejavu-core, or set CHROMIUM_PATH "
                "(never `playwright install`)")
    return None


def pytest_collection_modifyitems(config, items):
    reason = browser_skip_reason()
    if reason:
        for item in items:
            if "browser" in item.keywords:
                item.add_marker(pytest.mark.skip(reason=reason))


def _copy_notebooks(root: pathlib.Path) -> None:
    """Copy every notebook folder's contents into `root`, flat; refuse clashing names."""
    seen: dict[str, pathlib.Path] = {}
    for folder in NOTEBOOK_DIRS:
        if not folder.is_dir():
            continue
        for src in sorted(folder.iterdir()):
            if src.name in (".ipynb_checkpoints", "__pycache__"):
                continue
            if src.name in seen:
                raise RuntimeError(f"{src} and {seen[src.name]} would both be {root / src.name} in the lab root; rename one")
            seen[src.name] = src
            if src.is_dir():
                shutil.copytree(src, root / src.name, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
            else:
                shutil.copy2(src, root / src.name)


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory) -> LabServer:
    """A JupyterLab server on a temp copy of the notebooks; kernels = this venv's python."""
    reason = browser_skip_reason()
    if reason:
        pytest.skip(reason)
    root = tmp_path_factory.mktemp("lab-root")
    _copy_notebooks(root)
    server = start_lab(root, tmp_path_factory.mktemp("lab-state"))
    yield server
    stop_lab(server)


@pytest.fixture(scope="session")
def chromium():
    """Headless Debian Chromium driven by Python Playwright (one browser per session)."""
    reason = browser_skip_reason()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=find_chromium(), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def lab_page(request, chromium, lab_server):
    """A fresh browser context + page (1400x1000); console errors are kept for the failure report."""
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    console: list[str] = []
    page.on("console", lambda m: console.append(f"[{m.type}] {m.text}") if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: console.append(f"[pageerror] {e}"))
    request.node._rlkit_console = console
    yield page
    context.close()
    shutdown_sessions(lab_server)  # kernels of earlier tests would pile up on a 2-core machine


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On a failed browser test: screenshot, browser console and server log into ARTIFACTS."""
    outcome = yield
    rep = outcome.get_result()
    if rep.when != "call" or not rep.failed or "lab_page" not in getattr(item, "funcargs", {}):
        return
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    stem = "FAILED-" + re.sub(r"[^\w.-]+", "_", item.name)
    saved = []
    try:
        item.funcargs["lab_page"].screenshot(path=ARTIFACTS / f"{stem}.png")
        saved.append(f"{stem}.png")
    except Exception as exc:  # the page may be gone; the report matters more
        saved.append(f"(no screenshot: {exc})")
    (ARTIFACTS / f"{stem}.console.txt").write_text("\n".join(getattr(item, "_rlkit_console", [])))
    saved.append(f"{stem}.console.txt")
    server = item.funcargs.get("lab_server")
    if isinstance(server, LabServer) and server.log.exists():
        shutil.copy(server.log, ARTIFACTS / f"{stem}.server.log")
        saved.append(f"{stem}.server.log")
    rep.sections.append(("browser artifacts", f"in {ARTIFACTS}: " + ", ".join(saved)))
