"""The composer, the forward explainer and the rich reprs in a real JupyterLab 4 (headless Chromium).

Opens `composer.ipynb`, runs all cells, then: changes the composer's MLP sizes and sees the
summary change; moves a what-if slider and sees the probabilities change; checks the HTML
reprs (module, spec, check report, checkpoint summary) rendered; no widget errors anywhere.
Screenshots land in `browser-artifacts/` (composer.png, explainer.png, reprs.png, lab_composer.png).
"""

from __future__ import annotations

import re

import pytest

from .lab import assert_widgets_healthy, open_notebook, run_all, save_screenshot

pytestmark = pytest.mark.browser


def test_composer_and_explainer_respond(lab_page, lab_server):
    from playwright.sync_api import expect

    page = lab_page
    page.set_viewport_size({"width": 1400, "height": 2200})  # tall widgets fit: element screenshots stay clean
    open_notebook(page, lab_server, "composer.ipynb")
    run_all(page)
    assert_widgets_healthy(page)

    # --- composer: the summary follows a control change --------------------------------
    expect(page.locator(".rlkit-module-composer")).to_have_count(2)  # CartPole, then a Dict observation
    composer = page.locator(".rlkit-module-composer").first
    summary = composer.locator(".rlkit-repr").first
    expect(summary).to_be_visible()
    expect(summary).to_contain_text("(B, 32)")
    expect(summary).not_to_contain_text("(B, 48)")
    stats = composer.locator(".rc-h", has_text="parameters")
    params_before = stats.inner_text()
    sizes = composer.locator(".widget-text", has_text="MLP hidden sizes").locator("input")
    sizes.fill("48, 48, 48")
    sizes.press("Enter")  # continuous_update=False: the value goes to the kernel on Enter
    expect(summary).to_contain_text("(B, 48)", timeout=15_000)
    expect(stats).not_to_have_text(params_before)
    expect(composer.locator(".rc-msg")).to_have_count(0)
    save_screenshot(composer, "composer.png")

    # an invalid choice shows a message in the widget, not a traceback
    sizes.fill("48, 0")
    sizes.press("Enter")
    expect(composer.locator(".rc-msg")).to_contain_text("positive ints", timeout=15_000)
    sizes.fill("48, 48, 48")
    sizes.press("Enter")
    expect(composer.locator(".rc-msg")).to_have_count(0, timeout=15_000)

    # "try it": a short rollout of the composed module, shown in the viewer inside the composer
    composer.get_by_role("button", name="try it").click()
    viewer = composer.locator(".rlkit-rollout-viewer")
    expect(viewer).to_be_visible(timeout=60_000)
    expect(composer.locator(".rc-msg")).to_have_count(0)
    save_screenshot(viewer, "composer_try_it.png")

    # --- explainer: a what-if slider moves the probabilities -------------------------------
    expect(page.locator(".rlkit-forward-explainer")).to_have_count(2)
    explainer = page.locator(".rlkit-forward-explainer").first
    probs = explainer.locator("td.rx-mono", has_text=re.compile(r"^\d+\.\d%$"))
    expect(probs).to_have_count(2)
    before = probs.all_inner_texts()
    layers_before = explainer.locator(".rx-bars").first.inner_html()
    handle = explainer.locator(".widget-slider", has_text="obs[2]").locator(".noUi-handle")
    handle.focus()
    for _ in range(40):  # the pole angle, 40 steps of (high - low) / 200 to the right
        page.keyboard.press("ArrowRight")
    expect(explainer.locator(".widget-slider", has_text="obs[2]").locator(".widget-readout")).not_to_have_text("-0.046")
    page.wait_for_function(
        """([sel, before]) => {
            const cells = [...document.querySelectorAll(sel)].map(e => e.textContent.trim()).filter(t => /^\\d+\\.\\d%$/.test(t));
            return cells.length === 2 && cells.join() !== before.join();
        }""",
        arg=[".rlkit-forward-explainer:first-of-type td.rx-mono", before],
        timeout=15_000,
    )
    assert explainer.locator(".rx-bars").first.inner_html() != layers_before, "the input bars did not move"
    save_screenshot(explainer, "explainer.png")

    # --- reprs, check report and checkpoint summary rendered as HTML ---------------------
    reprs = page.locator(".jp-OutputArea-output .rlkit-repr")
    expect(reprs.first).to_be_visible()
    assert reprs.count() >= 2  # the module and the spec (plus the one inside the composer)
    expect(page.locator(".rlkit-repr .rlkit-fallback").first).to_be_hidden()  # styles applied
    expect(page.locator(".rlkit-check-report")).to_contain_text("check")
    expect(page.locator(".rlkit-checkpoint")).to_contain_text("DefaultActorCritic")
    module_out = page.locator(".jp-Cell").nth(3).locator(".jp-OutputArea-output")
    module_out.locator("label.rlkit-label", has_text="Layers").click()  # CSS-only collapsible opens
    expect(module_out.locator("table").first).to_be_visible()
    save_screenshot(module_out, "reprs.png")
    save_screenshot(page.locator(".jp-Cell").nth(5).locator(".jp-OutputArea-output"), "check_report.png")
    save_screenshot(page.locator(".jp-Cell").nth(6).locator(".jp-OutputArea-output"), "checkpoint_summary.png")
    # --- the Dict-observation composer: per-part encoder controls ------------------------
    dict_composer = page.locator(".rlkit-module-composer").nth(1)
    expect(dict_composer.locator(".widget-dropdown", has_text="encoder")).to_have_count(3)  # img, pos, room
    expect(dict_composer.locator(".rlkit-repr")).to_contain_text("CNNEncoder")
    save_screenshot(dict_composer, "composer_dict.png")
    save_screenshot(page.locator(".rlkit-forward-explainer").nth(1), "explainer_dict.png")
    assert_widgets_healthy(page)
    save_screenshot(page, "lab_composer.png")
