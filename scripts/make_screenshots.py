"""Regenerate the README's screenshots from a real run: docs/img/viewer.png and docs/img/composer.png.

    .venv/bin/python scripts/make_screenshots.py [--out docs/img] [--fast]

Starts a throw-away JupyterLab 4 on a temp copy of `notebooks/`, opens it in headless Chromium
(Debian's `chromium`, or `$CHROMIUM_PATH`) through Playwright, runs all cells of
`05_training_in_the_notebook.ipynb` (PPO on CartPole, then the trained policy in the viewer next
to the untrained one) and `03_from_spaces_to_modules.ipynb` (the composer) as a user would, with
full step counts unless `--fast` (a full run trains for a minute or two), moves the viewer 40
steps in, and screenshots the two widgets. The pictures are never edited by hand: rerun this
script after changing a widget.

The browser part (`capture_viewer`, `capture_composer`) is what `tests/browser/
test_quickstart_browser.py` runs in CI, with the test suite's own server and browser; the server
and browser helpers are the test suite's (`tests/browser/jlserver.py`, `tests/browser/lab.py`).
"""

from __future__ import annotations

import argparse
import pathlib
import re
import shutil
import sys
import tempfile
from typing import TYPE_CHECKING

REPO = pathlib.Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.browser.jlserver import kernel_env, start_lab, stop_lab  # noqa: E402
from tests.browser.lab import assert_widgets_healthy, open_notebook, run_all  # noqa: E402

if TYPE_CHECKING:
    from playwright.sync_api import Page

    from tests.browser.jlserver import LabServer

QUICKSTART = "01_quickstart.ipynb"
SPACES = "03_from_spaces_to_modules.ipynb"
TRAINING = "05_training_in_the_notebook.ipynb"
VIEWPORT = {"width": 1800, "height": 1800}  # wide and tall enough for a whole widget
CHROMIUM_ARGS = [
    "--no-sandbox", "--headless=new", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]
_STEP = re.compile(r"step (\d+) of (\d+)")


# True once every non-empty code cell of the visible notebook shows an execution count. lab.run_all
# returns at the first error output, which is too early for notebooks that show errors on purpose
# (cells tagged raises-exception: JupyterLab runs on past them).
_ALL_RAN_JS = r"""() => {
  const nb = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook');
  if (!nb) return false;
  for (const cell of nb.querySelectorAll('.jp-CodeCell')) {
    const prompt = (cell.querySelector('.jp-InputArea-prompt')?.textContent || '').trim();
    const src = (cell.querySelector('.cm-content')?.textContent || '').trim();
    if (src && !/^\[\d+\]/.test(prompt)) return false;
  }
  return true;
}"""


def run_every_cell(page: Page, timeout: float = 600_000) -> None:
    """Run > Run All Cells, and wait until every code cell has run (errors shown on purpose included)."""
    from playwright.sync_api import expect

    from tests.browser.lab import KERNEL_IDLE

    run_all(page, timeout=timeout)
    page.wait_for_function(_ALL_RAN_JS, timeout=timeout, polling=250)
    expect(page.get_by_text(KERNEL_IDLE)).to_be_visible(timeout=timeout)


def _wait_for_step(page: Page, readouts, want: int, timeout_ms: int = 20_000) -> None:
    for _ in range(timeout_ms // 100):
        match = _STEP.search(readouts.inner_text())
        if match and int(match.group(1)) == want:
            return
        page.wait_for_timeout(100)
    raise TimeoutError(f"the viewer never showed step {want}; its readouts say {readouts.inner_text()[:120]!r}")


def capture_viewer(page: Page, lab: LabServer, out: pathlib.Path, *, notebook: str = TRAINING,
                   step: int = 40) -> pathlib.Path:
    """Run `notebook` in JupyterLab, move its (last) RolloutViewer to `step`, screenshot it to `out`.

    The default is notebook 05: a trained CartPole policy with the untrained module replayed
    beside it (``compare=``). The step is clipped to the episode's last one.
    """
    from playwright.sync_api import expect

    page.set_viewport_size(VIEWPORT)
    open_notebook(page, lab, notebook)
    run_every_cell(page)
    assert_widgets_healthy(page, allow_stderr=notebook != QUICKSTART)  # 05 shows a config error on purpose
    viewer = page.locator(".rlkit-rollout-viewer").last
    readouts = viewer.locator(".rlkit-viewer-readouts")
    expect(readouts).to_contain_text("step 0 of")
    last = int(_STEP.search(readouts.inner_text()).group(2))
    target = max(1, min(step, last - 1))
    viewer.locator(".widget-slider .noUi-handle").first.focus()
    for _ in range(target):  # the kernel draws only the latest step when it lags behind
        page.keyboard.press("ArrowRight")
    _wait_for_step(page, readouts, target)
    expect(viewer.locator("img.rlkit-viewer-frame")).to_be_visible()
    expect(viewer.locator(".rlkit-viewer-errors")).to_have_text("")
    page.wait_for_timeout(500)  # let the last images decode
    out.parent.mkdir(parents=True, exist_ok=True)
    viewer.scroll_into_view_if_needed()
    viewer.screenshot(path=out)
    return out


def capture_composer(page: Page, lab: LabServer, out: pathlib.Path) -> pathlib.Path:
    """Run notebook 03 in JupyterLab (its last cell sets separate encoders), screenshot the composer to `out`."""
    from playwright.sync_api import expect

    page.set_viewport_size(VIEWPORT)
    open_notebook(page, lab, SPACES)
    run_every_cell(page)
    assert_widgets_healthy(page, allow_stderr=True)  # the notebook shows two errors on purpose
    composer = page.locator(".rlkit-module-composer")
    expect(composer).to_have_count(1)
    expect(composer.locator(".rlkit-repr").first).to_contain_text("vf_encoder")  # the code cell's change arrived
    expect(composer.locator(".rc-msg")).to_have_count(0)
    page.wait_for_timeout(300)
    out.parent.mkdir(parents=True, exist_ok=True)
    composer.scroll_into_view_if_needed()
    composer.screenshot(path=out)
    return out


def _find_chromium() -> str:
    import os

    found = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        sys.exit("no chromium executable: apt-get install chromium fonts-dejavu-core, or set CHROMIUM_PATH")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=pathlib.Path, default=REPO / "docs" / "img", help="folder for the PNGs")
    parser.add_argument("--fast", action="store_true", help="run the notebooks with RLKIT_FAST=1")
    args = parser.parse_args(argv)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sys.exit("Python playwright is not installed: pip install -e '.[test]'")

    work = pathlib.Path(tempfile.mkdtemp(prefix="rlkit-screenshots-"))
    root = work / "root"
    shutil.copytree(REPO / "notebooks", root, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    lab = start_lab(root, work / "state", env=kernel_env({"RLKIT_FAST": "1" if args.fast else "0"}))
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=_find_chromium(), args=CHROMIUM_ARGS)
            try:
                for name, capture in (("viewer.png", capture_viewer), ("composer.png", capture_composer)):
                    context = browser.new_context(viewport=VIEWPORT)
                    try:
                        path = capture(context.new_page(), lab, args.out / name)
                    finally:
                        context.close()
                    print(f"wrote {path.relative_to(REPO) if path.is_relative_to(REPO) else path}")
            finally:
                browser.close()
    finally:
        stop_lab(lab)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
