"""The quickstart notebook and the README's screenshot script, in a real JupyterLab 4 (headless Chromium).

1. `notebooks/01_quickstart.ipynb`: run all cells as a newcomer would; no widget errors, nothing
   on stderr; the viewer shows the first step's frame and readouts, Next moves it one step, Play
   moves it on by itself. Screenshot: `browser-artifacts/quickstart_viewer.png`.
2. `scripts/make_screenshots.py`'s browser part (the code that makes `docs/img/viewer.png` and
   `docs/img/composer.png` for the README), run with this session's server and browser; its
   pictures land in `browser-artifacts/readme_viewer.png` and `readme_composer.png`.
"""

from __future__ import annotations

import importlib.util
import re
import struct

import pytest

from .lab import ARTIFACTS, REPO, assert_widgets_healthy, open_notebook, run_all, save_screenshot

pytestmark = pytest.mark.browser

STEP = re.compile(r"step (\d+) of (\d+)")


def _step(readouts) -> tuple[int, int]:
    match = STEP.search(readouts.inner_text())
    assert match, f"no 'step i of n' in the viewer's readouts: {readouts.inner_text()[:200]!r}"
    return int(match.group(1)), int(match.group(2))


def _png_size(path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])  # the IHDR chunk: width, height


def _screenshot_script():
    spec = importlib.util.spec_from_file_location("make_screenshots", REPO / "scripts" / "make_screenshots.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_quickstart_runs_and_its_viewer_responds(lab_page, lab_server):
    from playwright.sync_api import expect

    page = lab_page
    page.set_viewport_size({"width": 1400, "height": 1700})
    open_notebook(page, lab_server, "01_quickstart.ipynb")
    run_all(page)
    assert_widgets_healthy(page)  # strict: the quickstart must not write to stderr at all

    # the module's rich display and the rollout's tables rendered as HTML
    expect(page.locator(".jp-OutputArea-output .rlkit-repr").first).to_be_visible()
    expect(page.locator(".jp-OutputArea-output table.dataframe").first).to_be_visible()

    viewer = page.locator(".rlkit-rollout-viewer")
    expect(viewer).to_have_count(1)
    frame = viewer.locator("img.rlkit-viewer-frame")
    readouts = viewer.locator(".rlkit-viewer-readouts")
    expect(frame).to_be_visible()
    expect(viewer.locator("img.rlkit-viewer-distribution")).to_be_visible()
    expect(readouts).to_contain_text("step 0 of")
    expect(viewer.locator(".rlkit-viewer-errors")).to_have_text("")
    first_frame = frame.get_attribute("src")

    viewer.get_by_role("button", name="Next").click()  # (one CartPole step may move less than a pixel)
    expect(readouts).to_contain_text("step 1 of", timeout=15_000)

    viewer.locator(".widget-play button:has(.fa-play)").click()
    page.wait_for_function(
        """(sel) => { const m = /step (\\d+) of/.exec(document.querySelector(sel)?.innerText || "");
                      return m && Number(m[1]) >= 4; }""",
        arg=".rlkit-rollout-viewer .rlkit-viewer-readouts", timeout=20_000,
    )
    viewer.locator(".widget-play button:has(.fa-pause)").click()
    step, last = _step(readouts)
    assert 4 <= step <= last
    expect(frame).not_to_have_attribute("src", first_frame)
    assert_widgets_healthy(page)
    save_screenshot(viewer, "quickstart_viewer.png")


def test_readme_screenshot_script_captures_viewer_and_composer(lab_page, lab_server):
    script = _screenshot_script()
    viewer_png = script.capture_viewer(lab_page, lab_server, ARTIFACTS / "readme_viewer.png", step=5)
    composer_png = script.capture_composer(lab_page, lab_server, ARTIFACTS / "readme_composer.png")
    for path, min_size in ((viewer_png, (600, 400)), (composer_png, (500, 400))):
        width, height = _png_size(path)
        assert width >= min_size[0] and height >= min_size[1], f"{path.name} is only {width}x{height}"
    # the committed README pictures exist and are real PNGs of a similar kind
    for name in ("viewer.png", "composer.png"):
        width, height = _png_size(REPO / "docs" / "img" / name)
        assert width >= 500 and height >= 400, f"docs/img/{name} is only {width}x{height}"
