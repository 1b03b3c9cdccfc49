"""Smoke test: ipywidgets render and respond inside a real JupyterLab 4 (Play -> slider -> kernel)."""

from __future__ import annotations

import pytest

from .lab import assert_widgets_healthy, open_notebook, run_all, save_screenshot

pytestmark = pytest.mark.browser


def test_play_drives_slider_label_and_image(lab_page, lab_server):
    from playwright.sync_api import expect

    page = lab_page
    open_notebook(page, lab_server, "smoke.ipynb")
    run_all(page)

    ui = page.locator(".rlkit-smoke")
    expect(ui.locator(".widget-play")).to_be_visible()
    image = ui.locator("img.widget-image")
    expect(image).to_be_visible()
    assert_widgets_healthy(page)
    label = ui.locator("div.widget-label")  # not '.widget-label': the slider's <label> has it too
    expect(label).to_have_text("step: 0")
    src0 = image.get_attribute("src")

    # The clock runs in the browser (jslink); each value reaches the kernel's observer,
    # which answers with a new label text and a new PNG.
    ui.locator(".widget-play button:has(.fa-play)").click()
    expect(label).to_have_text("step: 5", timeout=20_000)
    expect(ui.locator(".widget-readout")).to_have_text("5")
    expect(image).not_to_have_attribute("src", src0)
    assert_widgets_healthy(page)

    save_screenshot(ui, "smoke_widget.png")
    save_screenshot(page, "smoke_lab.png")
