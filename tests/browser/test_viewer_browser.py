"""RolloutViewer in a real JupyterLab 4 (headless Chromium), and its exported HTML page.

Opens `viewer.ipynb`, runs all cells, checks no widget failed, presses play and sees the step
readout, the frame and the timeline cursor move, steps with the buttons and the keyboard, then
opens the exported page (no kernel) and sees it play. Screenshots land in `browser-artifacts/`:
viewer_start.png, viewer_played.png, viewer_lab.png, viewer_export.png.
"""

from __future__ import annotations

import re

import pytest

from .lab import assert_widgets_healthy, open_notebook, run_all, save_screenshot

pytestmark = pytest.mark.browser

STEP = re.compile(r"step (\d+) of (\d+)")


def _step(locator) -> tuple[int, int]:
    match = STEP.search(locator.inner_text())
    assert match, f"no 'step i of n' in the readouts: {locator.inner_text()[:200]!r}"
    return int(match.group(1)), int(match.group(2))


def _wait_step(page, locator, predicate, timeout_ms: int = 20_000) -> tuple[int, int]:
    for _ in range(timeout_ms // 100):
        match = STEP.search(locator.inner_text())
        if match and predicate(int(match.group(1))):
            return int(match.group(1)), int(match.group(2))
        page.wait_for_timeout(100)
    raise AssertionError(f"the readouts never got there; they show {locator.inner_text()[:120]!r}")


def test_viewer_plays_and_steps_in_jupyterlab(lab_page, lab_server):
    from playwright.sync_api import expect

    page = lab_page
    page.set_viewport_size({"width": 1400, "height": 1700})  # the whole viewer in view, for the screenshots
    open_notebook(page, lab_server, "viewer.ipynb")
    run_all(page)
    assert_widgets_healthy(page)

    ui = page.locator(".rlkit-rollout-viewer")
    expect(ui).to_have_count(1)
    frame = ui.locator("img.rlkit-viewer-frame")
    dist = ui.locator("img.rlkit-viewer-distribution")
    readouts = ui.locator(".rlkit-viewer-readouts")
    cursor = ui.locator(".rlkit-viewer-timeline .rlkit-viewer-cursor")
    for part in (ui.locator(".widget-play"), frame, dist, ui.locator("img.rlkit-viewer-compare-distribution"),
                 ui.locator(".rlkit-viewer-timeline img"), ui.locator(".rlkit-viewer-compare-timeline img"), cursor):
        expect(part).to_be_visible()
    expect(readouts).to_contain_text("step 0 of")
    expect(ui.locator(".rlkit-viewer-errors")).to_have_text("")
    box = frame.bounding_box()
    assert (round(box["width"]), round(box["height"])) == (600, 400), "the frame is not at its natural size"
    save_screenshot(ui, "viewer_start.png")

    # --- play: the browser's clock moves the slider, the kernel redraws the panes
    src0, dist0, cursor0 = frame.get_attribute("src"), dist.get_attribute("src"), cursor.bounding_box()["x"]
    ui.locator(".widget-play button:has(.fa-play)").click()
    step, last = _wait_step(page, readouts, lambda s: s >= 4)
    assert last >= 8
    expect(frame).not_to_have_attribute("src", src0)
    assert cursor.bounding_box()["x"] > cursor0 + 5, "the timeline cursor did not move"
    ui.locator(".widget-play button:has(.fa-pause)").click()  # pause (stop would rewind to 0)
    page.wait_for_timeout(500)
    paused, _ = _step(readouts)
    assert paused >= step
    assert dist.get_attribute("src") != dist0
    assert_widgets_healthy(page)
    save_screenshot(ui, "viewer_played.png")

    # --- step buttons and keyboard
    now, _ = _step(readouts)
    if now >= last - 2:
        ui.get_by_role("button", name="Prev").click()
        now = _wait_step(page, readouts, lambda s: s == now - 1)[0]
    ui.get_by_role("button", name="Next").click()
    now = _wait_step(page, readouts, lambda s: s == now + 1)[0]
    expect(ui.locator(".widget-readout").first).to_have_text(str(now))
    ui.get_by_role("button", name="Prev").click()
    now = _wait_step(page, readouts, lambda s: s == now - 1)[0]
    src_before, cursor_before = frame.get_attribute("src"), cursor.bounding_box()["x"]
    ui.locator(".widget-slider .noUi-handle").first.focus()
    for _ in range(3):  # CartPole moves less than a pixel per step: go a few steps
        page.keyboard.press("ArrowRight")
    _wait_step(page, readouts, lambda s: s == now + 3)
    expect(frame).not_to_have_attribute("src", src_before)
    assert cursor.bounding_box()["x"] > cursor_before
    assert_widgets_healthy(page)
    save_screenshot(page, "viewer_lab.png")


def test_exported_page_plays_without_a_kernel(lab_page, lab_server):
    """The page `viewer.ipynb` wrote with `to_html` (run by the test above, or run it here)."""
    from playwright.sync_api import expect

    page = lab_page
    exported = lab_server.root / "viewer_export.html"
    if not exported.exists():
        open_notebook(page, lab_server, "viewer.ipynb")
        run_all(page)
    assert exported.exists(), "viewer.ipynb did not write viewer_export.html"
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(exported.as_uri())
    ui = page.locator(".rlkit-rollout-viewer")
    readout = page.locator("#readouts")
    expect(readout).to_contain_text("step 0 of")
    frame = page.locator("#frame")
    src0 = frame.get_attribute("src")
    page.locator("#play").click()
    _wait_step(page, readout, lambda s: s >= 4)
    assert frame.get_attribute("src") != src0
    page.locator("#play").click()  # pause
    now, _ = _step(readout)
    page.locator("#next").click()
    assert _step(readout)[0] == now + 1
    page.keyboard.press("ArrowLeft")
    assert _step(readout)[0] == now
    assert page.locator("#tl-cur").bounding_box()["x"] > page.locator("#tl-img").bounding_box()["x"] + 20
    assert errors == [], errors
    save_screenshot(ui, "viewer_export.png")
