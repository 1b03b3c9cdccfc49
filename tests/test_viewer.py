"""RolloutViewer headless: set the step, and every pane shows that step's recorded values."""

from __future__ import annotations

import subprocess
import sys
import time

import gymnasium as gym
import numpy as np
import pytest
import torch
import traitlets

from rlkit import Columns, RLModuleSpec
from rlkit.rollouts import rollout
from viewer_helpers import TAKEN, bar_heights_from_pixels, decode, episode_rows, margin_left, readouts

ipywidgets = pytest.importorskip("ipywidgets")
from rlkit.widgets import RolloutViewer  # noqa: E402


@pytest.fixture(scope="module")
def run():
    torch.manual_seed(0)
    env = gym.make("CartPole-v1", render_mode="rgb_array")
    module = RLModuleSpec(observation_space=env.observation_space, action_space=env.action_space).build()
    return rollout(module, env, num_steps=70, seed=1, record_frames=True)


@pytest.fixture(scope="module")
def viewer(run):
    return RolloutViewer(run, frame_format="png")


def _check_step(viewer, run, eid, step):
    rows = episode_rows(run, eid)
    row = rows[step]
    # --- readouts: exactly the recorded numbers of that row
    shown = readouts(viewer.readout_html.value)
    for key, col in (("value", Columns.VF_PREDS), ("logp", Columns.ACTION_LOGP), ("prob", Columns.ACTION_PROB),
                     ("entropy", Columns.ENTROPY), ("reward", Columns.REWARDS)):
        assert shown[key] == pytest.approx(float(run[col][row]), rel=1e-6), key
    assert shown["action"] == int(run[Columns.ACTIONS][row])
    assert shown["greedy"] == int(run[Columns.GREEDY_ACTIONS][row])
    assert shown["return_to_go"] == pytest.approx(float(run.returns(viewer.gamma)[row]), rel=1e-5)
    assert shown["advantage"] == pytest.approx(float(run.advantages(viewer.gamma, viewer.lambda_)[row]), rel=1e-4)
    assert f"episode {eid} · step {step} of {len(rows) - 1} (t = {step})" in viewer.readout_html.value
    # --- frame: the recorded frame of that row, pixel for pixel (PNG)
    np.testing.assert_array_equal(decode(viewer.frame_image.value), run.frames[run[Columns.FRAME_INDEX][row]])
    # --- distribution: bar heights measured in the PNG, taken action in orange
    pane = viewer._dist_pane(None)
    heights, colors = bar_heights_from_pixels(viewer.distribution_image.value, pane.artists[0].ax, [0, 1])
    np.testing.assert_allclose(heights, run["action_dist_probs"][row], atol=0.012)
    assert colors[int(run[Columns.ACTIONS][row])] == TAKEN
    assert colors[1 - int(run[Columns.ACTIONS][row])] != TAKEN
    # --- timeline cursor: over t on the episode's x axis (fixed figure margins, independent maths)
    from rlkit.widgets._viewer_panes import TIMELINE_MARGINS

    width = viewer._timeline.size[0]
    left, right = TIMELINE_MARGINS["left"] * width, TIMELINE_MARGINS["right"] * width
    x0, x1 = -0.5, len(rows) - 0.5
    expected = left + (step - x0) / (x1 - x0) * (right - left)
    assert abs(margin_left(viewer.timeline_cursor.layout.margin) + 1 - expected) <= 1.0


def test_every_pane_shows_the_recorded_values_of_the_step(viewer, run):
    episodes = list(run.episode_ids)[:3]
    assert len(episodes) >= 2, "the fixture should hold several episodes"
    for eid in episodes:
        n = len(episode_rows(run, eid))
        viewer.episode = int(eid)
        for step in sorted({0, n // 2, n - 1}):
            viewer.step = step
            _check_step(viewer, run, eid, step)


def test_current_matches_the_readouts(viewer, run):
    viewer.episode = int(run.episode_ids[0])
    viewer.step = 2
    now = viewer.current()
    shown = readouts(viewer.readout_html.value)
    assert now["step"] == 2 and now["t"] == 2
    for key in ("value", "logp", "entropy", "reward", "action", "greedy"):
        assert now[key] == shown[key]


def test_timeline_image_is_per_episode_and_only_the_cursor_moves(run):
    viewer = RolloutViewer(run)
    e0, e1 = (int(e) for e in run.episode_ids[:2])
    viewer.episode = e0
    viewer.step = 0
    first, margin0 = viewer.timeline_image.value, viewer.timeline_cursor.layout.margin
    viewer.step = 3
    assert viewer.timeline_image.value == first  # no new pixels per step
    assert margin_left(viewer.timeline_cursor.layout.margin) > margin_left(margin0)
    viewer.episode = e1
    assert viewer.timeline_image.value != first
    rows = episode_rows(run, e1)
    value_line = viewer._timeline.timeline.ax.lines[0]
    np.testing.assert_allclose(value_line.get_ydata(), run[Columns.VF_PREDS][rows], rtol=1e-6)


def test_controls_move_the_step(viewer, run):
    e0 = int(run.episode_ids[0])
    n = len(episode_rows(run, e0))
    viewer.episode = int(run.episode_ids[2])
    viewer.step = 1
    viewer.episode = e0  # a new episode opens at its first step
    assert viewer.slider.max == n - 1 and viewer.play.max == n - 1 and viewer.step == 0
    viewer.slider.value = 4
    assert viewer.step == 4 and readouts(viewer.readout_html.value)["value"] == pytest.approx(
        float(run[Columns.VF_PREDS][episode_rows(run, e0)[4]]), rel=1e-6)
    viewer.next_button.click()
    assert viewer.step == 5 and viewer.slider.value == 5
    viewer.prev_button.click()
    viewer.prev_button.click()
    assert viewer.step == 3
    viewer.step = 0
    viewer.prev_button.click()
    assert viewer.step == 0  # clamped at the start
    viewer.step = n - 1
    viewer.next_button.click()
    assert viewer.step == n - 1  # and at the end
    e1 = int(run.episode_ids[1])
    viewer.episode_select.value = e1
    assert viewer.episode == e1 and viewer.step == 0 and viewer.slider.max == len(episode_rows(run, e1)) - 1
    viewer.speed_select.value = viewer.speed_select.options[-1][1]
    assert viewer.play.interval == viewer.speed_select.options[-1][1]


def test_layout_is_set_once_with_stable_hooks(viewer, run):
    children = viewer.children
    assert "rlkit-rollout-viewer" in viewer._dom_classes
    viewer.episode = int(run.episode_ids[1])
    viewer.step = 1
    assert viewer.children is children  # panes update in place, the tree never changes
    h, w = run.frames.shape[1:3]
    assert viewer.frame_image.layout.width == f"{w}px" and viewer.frame_image.layout.height == f"{h}px"
    assert viewer.agent_select.layout.display == "none"  # single agent
    from ipywidgets.widgets.widget_link import Link

    link = viewer._play_link  # Play must be jslinked to the slider: the browser's clock drives playback
    assert isinstance(link, Link) and link.source == (viewer.play, "value") and link.target == (viewer.slider, "value")


def test_invalid_state_is_refused_with_the_valid_range(viewer, run):
    e0 = int(run.episode_ids[0])
    viewer.episode = e0
    n = len(episode_rows(run, e0))
    with pytest.raises(traitlets.TraitError, match=rf"expected a step in \[0, {n - 1}\] \(episode {e0} has {n} steps\), got 999"):
        viewer.step = 999
    with pytest.raises(traitlets.TraitError, match=r"expected an episode id of agent None: one of \[0, 1"):
        viewer.episode = "nope"
    with pytest.raises(traitlets.TraitError, match=r"expected an agent id in \[None\], got 'alice'"):
        viewer.agent = "alice"
    with pytest.raises(TypeError, match="RolloutViewer expects a Rollout"):
        RolloutViewer({"obs": np.zeros(3)})


def test_browser_steps_are_coalesced_to_the_latest(viewer, run):
    """Steps arriving from the browser (Play) while a render is slow: only the newest is drawn."""
    e0 = int(run.episode_ids[0])
    viewer.episode = e0
    n = len(episode_rows(run, e0))
    render = viewer._latest._render

    def slow(key):
        time.sleep(0.03)
        render(key)

    viewer._latest._render = slow
    try:
        before = viewer._latest.rendered
        for k in range(1, n):
            viewer.slider.set_state({"value": k})  # what a comm message from the browser does
        assert viewer.wait(20)
    finally:
        viewer._latest._render = render
    drawn = viewer._latest.rendered - before
    assert viewer.step == n - 1
    assert 1 <= drawn < n - 1, f"drew {drawn} of {n - 1} steps: stale steps were not skipped"
    _check_step(viewer, run, e0, n - 1)  # and the panes show the last one


def test_a_failing_pane_shows_its_error_and_the_rest_keeps_working(run):
    v = RolloutViewer(run)
    pane = v._dist_pane(None)
    v._cache.clear()

    def boom(row):
        raise RuntimeError(f"cannot draw row {row}")

    pane.render = boom
    frame_before = v.frame_image.value
    v.step = 2
    assert "distribution" in v.errors and "RuntimeError: cannot draw row" in v.errors["distribution"]
    assert "cannot draw row" in v.error_html.value and "rlkit-viewer-error" in v.error_html.value
    assert v.frame_image.value != frame_before  # the other panes still moved
    assert readouts(v.readout_html.value)["value"] == pytest.approx(float(run[Columns.VF_PREDS][episode_rows(run, v.episode)[2]]), rel=1e-6)
    del pane.render  # back to the class's method: the error goes away on the next step
    v.step = 3
    assert "distribution" not in v.errors and v.error_html.value == ""


def test_an_action_space_that_cannot_be_drawn_is_reported_in_the_widget(run):
    v = RolloutViewer(run, action_space=gym.spaces.Text(5))
    assert "distribution" in v.errors
    assert "expected an action space rlkit can draw" in v.error_html.value
    v.step = 1  # everything else still works
    assert readouts(v.readout_html.value)["value"] == pytest.approx(
        float(run[Columns.VF_PREDS][episode_rows(run, v.episode)[1]]), rel=1e-6)


def test_default_frames_are_jpeg_close_to_the_recorded_frame(run):
    v = RolloutViewer(run)
    assert v.frame_image.format == "jpeg"  # 600x400 CartPole renders: JPEG, encoded once
    v.step = 2
    row = episode_rows(run, v.episode)[2]
    shown = decode(v.frame_image.value).astype(np.int16)
    assert np.abs(shown - run.frames[run[Columns.FRAME_INDEX][row]]).mean() < 2.0


def test_import_rlkit_loads_no_notebook_layer():
    code = (
        "import sys\n"
        "layer = lambda: sorted(m for m in sys.modules if m.split('.')[0] in ('ipywidgets', 'matplotlib')"
        " or m.startswith(('rlkit.widgets', 'rlkit.plots')))\n"
        "import rlkit, rlkit.rollouts\n"
        "print(layer())\n"
        "import rlkit.widgets\n"
        "print(sorted(m for m in layer() if m.split('.')[0] in ('ipywidgets', 'matplotlib')))\n"
        "rlkit.widgets.RolloutViewer\n"
        "print('ipywidgets' in sys.modules)\n"
    )
    lines = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert lines == ["[]", "[]", "True"]  # the widget module (and ipywidgets) load on first use only


def test_docstring_examples_run():
    import doctest
    import importlib

    for name in ("rlkit.widgets", "rlkit.widgets.rollout_viewer", "rlkit.widgets._frames", "rlkit.widgets._latest"):
        result = doctest.testmod(importlib.import_module(name))
        assert result.failed == 0 and result.attempted > 0, name
