"""Helpers that drive a notebook in JupyterLab 4 through Playwright: open, run all, check widgets."""

from __future__ import annotations

import os
import pathlib
import re
import uuid
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # playwright is optional: the browser tests skip without it
    from playwright.sync_api import Locator, Page

    from .jlserver import LabServer

REPO = pathlib.Path(__file__).resolve().parents[2]
# Screenshots (on failure and on purpose) go here; CI keeps the folder. Relative paths are
# taken from the repo root, so the place does not depend on pytest's working directory.
ARTIFACTS = REPO / os.environ.get("BROWSER_ARTIFACTS", "browser-artifacts")
# Status-bar text once the kernel really runs. The toolbar's execution indicator says "idle"
# before any kernel exists; running cells then pops the 'Select Kernel' dialog or runs nothing.
KERNEL_IDLE = "Python 3 (ipykernel) | Idle"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"

# Returns true once the visible notebook has finished a run: no cell is queued or running
# ('[*]'), and every non-empty code cell has an execution count or an earlier cell failed
# (Lab stops the queue at the first error; assert_widgets_healthy then reports it).
_RUN_FINISHED_JS = r"""() => {
  const nb = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook');
  if (!nb) return false;
  let pending = 0;
  for (const cell of nb.querySelectorAll('.jp-CodeCell')) {
    const prompt = (cell.querySelector('.jp-InputArea-prompt')?.textContent || '').trim();
    if (prompt.includes('*')) return false;
    const src = (cell.querySelector('.cm-content')?.textContent || '').trim();
    if (src && !/^\[\d+\]/.test(prompt)) pending++;
  }
  const failed = nb.querySelector(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']");
  return pending === 0 || failed !== null;
}"""


def open_notebook(page: Page, lab: LabServer, name: str, timeout: float = 60_000) -> None:
    """Open `name` (a path inside the lab root) in a brand-new workspace; wait for an idle kernel.

    A fresh workspace per call means no restored tabs: selectors see this notebook only.
    """
    from playwright.sync_api import expect

    if not (lab.root / name).is_file():
        available = sorted(str(p.relative_to(lab.root)) for p in lab.root.rglob("*.ipynb")
                           if not any(part.startswith(".") for part in p.relative_to(lab.root).parts))
        raise FileNotFoundError(f"{name!r} is not in the lab root {lab.root}. Available notebooks: {available}")
    workspace = uuid.uuid4().hex[:8]
    page.goto(f"{lab.url}/lab/workspaces/{workspace}/tree/{name}?reset&token={lab.token}")
    expect(page.get_by_text(KERNEL_IDLE)).to_be_visible(timeout=timeout)


def run_all(page: Page, timeout: float = 120_000) -> None:
    """Run > Run All Cells, then wait until every cell has run (or one failed) and the kernel is idle."""
    from playwright.sync_api import expect

    page.locator("#jp-MainMenu .lm-MenuBar-item", has_text="Run").click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
    dialog = page.locator(".jp-Dialog")  # belt and braces: the 'Select Kernel' dialog
    if dialog.count():
        dialog.get_by_role("button", name="Select", exact=True).click()
    page.wait_for_function(_RUN_FINISHED_JS, timeout=timeout, polling=200)
    expect(page.get_by_text(KERNEL_IDLE)).to_be_visible(timeout=timeout)


def assert_widgets_healthy(page: Page, *, allow_stderr: bool = False) -> None:
    """Fail if any widget did not render, or (unless `allow_stderr`) any cell wrote an error/stderr."""
    from playwright.sync_api import expect

    if not allow_stderr:  # tracebacks render as stderr too; show their text in the failure
        stderr = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
        texts = [t.strip()[-1500:] for t in stderr.all_text_contents()]
        assert not texts, "cells wrote to stderr or raised:\n\n" + "\n---\n".join(texts)
    expect(page.get_by_text("Error displaying widget")).to_have_count(0)
    expect(page.get_by_text("Loading widget")).to_have_count(0)  # retried: it may show briefly
    # a text/plain fallback such as "VBox(children=(...": the widget manager has no such model
    fallback = page.locator(".jp-OutputArea-output", has_text=re.compile(r"^\w+\(children="))
    expect(fallback).to_have_count(0)


def save_screenshot(target: Page | Locator, name: str) -> pathlib.Path:
    """Screenshot a page or one element (e.g. `page.locator('.rlkit-smoke')`) into ARTIFACTS/name."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    target.screenshot(path=path)
    return path
