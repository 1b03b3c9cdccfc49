"""RolloutViewer beyond CartPole: compare mode, multi-agent, Box / MultiDiscrete / masked actions,
no frames, and the self-contained HTML export."""

from __future__ import annotations

import json
import re

import gymnasium as gym
import numpy as np
import pytest
import torch

from rlkit import Columns, MultiRLModule, RLModuleSpec
from rlkit.rollouts import GridChase, replay, rollout
from viewer_helpers import MASK, bar_heights_from_pixels, decode, episode_rows, readouts

pytest.importorskip("ipywidgets")
from rlkit.widgets import RolloutViewer  # noqa: E402


def _spec(env):
    return RLModuleSpec(observation_space=env.observation_space, action_space=env.action_space)


@pytest.fixture(scope="module")
def cartpole():
    torch.manual_seed(1)
    env = gym.make("CartPole-v1")
    a, b = _spec(env).build(), _spec(env).build()
    return a, b, rollout(a, env, num_steps=40, seed=2)


# ------------------------------------------------------------------ compare mode


def test_compare_shows_the_second_modules_replayed_outputs(cartpole):
    _, other, run = cartpole
    v = RolloutViewer(run, compare=other)
    expected = replay(other, run)
    assert v.errors == {}
    for eid in list(run.episode_ids)[:2]:
        v.episode = int(eid)
        for step in (0, 2):
            v.step = step
            row = episode_rows(run, eid)[step]
            shown = readouts(v.readout_html.value)
            assert shown["compare_value"] == pytest.approx(float(expected[Columns.VF_PREDS][row]), rel=1e-6)
            assert shown["compare_logp"] == pytest.approx(float(expected[Columns.ACTION_LOGP][row]), rel=1e-6)
            assert shown["compare_greedy"] == int(expected[Columns.GREEDY_ACTIONS][row])
            assert shown["compare_kl"] == pytest.approx(float(expected["kl"][row]), rel=1e-5, abs=1e-7)
            assert shown["compare_agree"] == bool(expected["action_agreement"][row])
            assert shown["value"] == pytest.approx(float(run[Columns.VF_PREDS][row]), rel=1e-6)  # ours unchanged
            ax = v._compare_pane(None).artists[0].ax
            heights, _ = bar_heights_from_pixels(v.compare_distribution_image.value, ax, [0, 1])
            np.testing.assert_allclose(heights, expected["action_dist_probs"][row], atol=0.012)
    assert v.compare_timeline_image.layout.display != "none" and len(v.compare_timeline_image.value) > 1000
    assert "rlkit-viewer-cursor" in v.compare_timeline_cursor._dom_classes


def test_compare_with_a_checkpoint_path(cartpole, tmp_path):
    _, other, run = cartpole
    path = other.save_to_path(tmp_path / "other_ckpt")
    v = RolloutViewer(run, compare=str(path))
    assert v.errors == {} and v.compare_name == "other_ckpt"
    v.step = 1
    row = episode_rows(run, v.episode)[1]
    expected = replay(other, run)
    assert readouts(v.readout_html.value)["compare_value"] == pytest.approx(float(expected[Columns.VF_PREDS][row]), rel=1e-6)
    assert "other_ckpt" in v.readout_html.value


def test_a_compare_module_that_fails_is_shown_and_the_viewer_keeps_working(cartpole):
    module, _, run = cartpole
    from rlkit import RLModule

    class Broken(RLModule):
        def setup(self):
            self.layer = torch.nn.Linear(4, 2)

        def _forward(self, batch, **kwargs):
            raise RuntimeError("this module cannot handle these observations")

    broken = Broken(observation_space=module.observation_space, action_space=module.action_space)
    v = RolloutViewer(run, compare=broken)
    assert "compare" in v.errors and "cannot handle these observations" in v.errors["compare"]
    assert "cannot handle these observations" in v.error_html.value
    v.step = 2
    row = episode_rows(run, v.episode)[2]
    assert readouts(v.readout_html.value)["value"] == pytest.approx(float(run[Columns.VF_PREDS][row]), rel=1e-6)
    assert "cannot handle these observations" in v.error_html.value  # still shown after stepping


def test_compare_rejects_what_is_not_a_module(cartpole):
    _, _, run = cartpole
    v = RolloutViewer(run, compare=42)
    assert "expected compare= to be an RLModule, a MultiRLModule or a checkpoint path, got int" in v.errors["compare"]


# ------------------------------------------------------------------ multi-agent


def test_multi_agent_rollout_has_an_agent_selector():
    env = GridChase(render_mode="rgb_array")
    specs = {a: RLModuleSpec(observation_space=env.observation_space(a), action_space=env.action_space(a))
             for a in ("chaser", "runner")}
    torch.manual_seed(0)
    multi = MultiRLModule({a: s.build() for a, s in specs.items()})
    other = MultiRLModule({a: s.build() for a, s in specs.items()})
    run = rollout(multi, env, num_steps=30, seed=4, record_frames=True, policy_mapping_fn=lambda aid, *a, **k: aid)
    v = RolloutViewer(run, compare=other)
    assert v.errors == {}
    assert v.agent_select.layout.display != "none" and [o[1] for o in v.agent_select.options] == ["chaser", "runner"]
    expected = replay(other, run)
    for agent in ("runner", "chaser"):
        v.agent_select.value = agent
        assert v.agent == agent
        part = run.for_agent(agent)
        eid = int(part[Columns.EPS_ID][-1])
        assert [o[1] for o in v.episode_select.options] == [int(e) for e in part.episode_ids]
        v.episode = eid
        rows = episode_rows(part, eid)
        v.step = len(rows) - 1
        row = rows[-1]
        shown = readouts(v.readout_html.value)
        assert shown["value"] == pytest.approx(float(part[Columns.VF_PREDS][row]), rel=1e-6)
        assert shown["action"] == int(part[Columns.ACTIONS][row])
        mask = (run[Columns.AGENT_ID] == agent) & (run[Columns.EPS_ID] == eid) & (run[Columns.T] == part[Columns.T][row])
        assert shown["compare_value"] == pytest.approx(float(expected[Columns.VF_PREDS][mask][0]), rel=1e-6)
        np.testing.assert_array_equal(decode(v.frame_image.value), run.frames[part[Columns.FRAME_INDEX][row]])
        assert f"agent {agent}" in v.readout_html.value


# ------------------------------------------------------------------ other action and observation spaces


def test_box_actions_without_frames_show_mean_std_and_the_observation():
    env = gym.make("Pendulum-v1")
    run = rollout(_spec(env).build(), env, num_steps=25, seed=0)
    v = RolloutViewer(run)
    assert v.errors == {} and v.frame_image.format == "png"
    v.step = 4
    row = episode_rows(run, v.episode)[4]
    dist = v._dist_pane(None)
    np.testing.assert_allclose(dist.bar_heights()[0], run["action_dist_mean"][row], rtol=1e-6)
    seg = dist.artists[0].std_lines.get_segments()[0]
    m, s = run["action_dist_mean"][row][0], run["action_dist_std"][row][0]
    np.testing.assert_allclose([seg[0][1], seg[1][1]], [m - s, m + s], rtol=1e-5)
    np.testing.assert_allclose(dist.artists[0].taken_marker.get_ydata(), run[Columns.ACTIONS][row], rtol=1e-6)
    obs_pane = v._obs_pane(None)
    np.testing.assert_allclose([b.get_height() for b in obs_pane.bars], run[Columns.OBS][row], rtol=1e-6)
    assert decode(v.frame_image.value).shape[:2] == obs_pane.size[::-1]


class _MaskedGrid(gym.Env):
    """Dict observation with an action mask (gymnasium's convention) and Discrete(4) actions."""

    observation_space = gym.spaces.Dict({"position": gym.spaces.Box(-1, 1, (3,), np.float32),
                                         "action_mask": gym.spaces.MultiBinary(4)})
    action_space = gym.spaces.Discrete(4)

    def _obs(self):
        mask = self.np_random.integers(0, 2, 4).astype(np.int8)
        mask[self.np_random.integers(4)] = 1
        return {"position": self.np_random.uniform(-1, 1, 3).astype(np.float32), "action_mask": mask}

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self._obs(), {}

    def step(self, action):
        self.t += 1
        return self._obs(), float(action), False, self.t >= 12, {}


def test_masked_actions_are_drawn_as_masked():
    env = _MaskedGrid()
    run = rollout(_spec(env).build(), env, num_steps=12, seed=0)
    v = RolloutViewer(run)
    assert v.errors == {}
    masks = run[Columns.OBS]["action_mask"]
    step = next(i for i in range(12) if masks[i].min() == 0)  # a step with a masked action
    v.step = step
    masked = int(np.flatnonzero(masks[step] == 0)[0])
    assert run["action_dist_probs"][step][masked] == 0.0  # the module respected the mask
    ax = v._dist_pane(None).artists[0].ax
    img = decode(v.distribution_image.value)
    px, py = ax.transData.transform((masked + 0.3, 0.5))  # inside the masked slot, off the (empty) bar
    patch = img[int(img.shape[0] - py) - 6:int(img.shape[0] - py) + 6, int(px) - 6:int(px) + 6]
    px_ = patch.reshape(-1, 3).astype(int)
    grey = (px_.max(1) - px_.min(1) <= 2) & (px_[:, 0] >= MASK[0] - 40) & (px_[:, 0] <= MASK[0] + 30)
    assert grey.any(), "no grey hatching over the masked action"
    free = int(np.flatnonzero(masks[step] == 1)[0])
    fx, fy = ax.transData.transform((free + 0.3, 0.9))  # the same spot of an allowed action is blank
    assert (img[int(img.shape[0] - fy) - 6:int(img.shape[0] - fy) + 6, int(fx) - 6:int(fx) + 6] == 255).all()
    assert "masked" in [t.get_text() for t in ax.get_legend().get_texts()]


class _TwoKnobs(gym.Env):
    observation_space = gym.spaces.Box(-1, 1, (2,), np.float32)
    action_space = gym.spaces.MultiDiscrete([3, 2])

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self.np_random.uniform(-1, 1, 2).astype(np.float32), {}

    def step(self, action):
        self.t += 1
        return self.np_random.uniform(-1, 1, 2).astype(np.float32), float(action.sum()), False, self.t >= 8, {}


def test_multidiscrete_actions_are_grouped_bars():
    env = _TwoKnobs()
    run = rollout(_spec(env).build(), env, num_steps=8, seed=0)
    v = RolloutViewer(run)
    assert v.errors == {}
    v.step = 3
    dist = v._dist_pane(None).artists[0]
    heights, colors = bar_heights_from_pixels(v.distribution_image.value, dist.ax, dist.x)
    np.testing.assert_allclose(heights, run["action_dist_probs"][3], atol=0.012)
    taken = run[Columns.ACTIONS][3]
    assert [i for i, c in enumerate(colors) if c == (0xF5, 0x85, 0x18)] == [int(taken[0]), 3 + int(taken[1])]
    assert readouts(v.readout_html.value)["action"] == [int(x) for x in taken]


# ------------------------------------------------------------------ HTML export


def _page_data(page: str) -> dict:
    return json.loads(re.search(r"const D = (\{.*?\});\n", page, re.S).group(1))


def test_to_html_is_self_contained_and_holds_every_step(cartpole, tmp_path):
    _, other, run = cartpole
    v = RolloutViewer(run, compare=other)
    path = v.to_html(tmp_path / "view.html")
    page = path.read_text()
    assert path.stat().st_size < 20 * 2**20
    assert "rlkit-rollout-viewer" in page and "<script" in page
    assert not re.search(r"""(src|href)=["']https?:""", page)  # nothing loaded from the network
    data = _page_data(page)
    (agent,) = data["agents"]
    assert [e["id"] for e in agent["episodes"]] == [int(e) for e in run.episode_ids]
    for ep in agent["episodes"]:
        rows = episode_rows(run, ep["id"])
        assert len(ep["readouts"]) == len(ep["dist"]) == len(ep["cdist"]) == len(ep["timeline"]["px"]) == len(rows)
        assert all(0 <= i < len(data["images"]) for i in ep["dist"] + ep["cdist"] + [ep["timeline"]["img"]])
        last = readouts(ep["readouts"][-1])
        assert last["value"] == pytest.approx(float(run[Columns.VF_PREDS][rows[-1]]), rel=1e-6)
        assert ep["timeline"]["px"] == sorted(ep["timeline"]["px"])  # the cursor walks right
    assert all(u.startswith("data:image/png;base64,") for u in data["images"])
    assert v.to_html() == page  # path=None returns the page itself


class _Spaces(gym.Env):
    """Random observations of any space, fixed-length episodes: for spaces no real env has here."""

    def __init__(self, obs_space, act_space):
        self.observation_space, self.action_space = obs_space, act_space

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.observation_space.seed(seed)
        self.t = 0
        return self.observation_space.sample(), {}

    def step(self, action):
        self.t += 1
        return self.observation_space.sample(), 1.0, False, self.t >= 5, {}


BOX3 = gym.spaces.Box(-1, 1, (3,), np.float32)


@pytest.mark.parametrize("act_space, summary_keys", [
    (gym.spaces.Tuple((gym.spaces.Discrete(3), gym.spaces.Box(-1, 1, (2,), np.float32))), ["0/probs", "1/mean"]),
    (gym.spaces.Dict({"move": gym.spaces.Discrete(2), "bits": gym.spaces.MultiBinary(3)}), ["bits/probs", "move/probs"]),
    (gym.spaces.MultiBinary(4), ["probs"]),
], ids=["tuple", "dict", "multibinary"])
def test_composite_and_binary_actions_get_one_panel_per_part(act_space, summary_keys):
    env = _Spaces(BOX3, act_space)
    run = rollout(_spec(env).build(), env, num_steps=5, seed=0)
    v = RolloutViewer(run)
    v.step = 3
    assert v.errors == {}
    panels = v._dist_pane(None).artists
    assert len(panels) == len(summary_keys)
    for panel in panels:
        key = panel.part.prefix("probs" if panel.kind != "gaussian" else "mean")
        np.testing.assert_allclose(panel.bar_heights(), run["action_dist_" + key][3].reshape(-1), rtol=1e-6)


def test_image_observations_without_frames_are_shown_as_the_frame():
    env = _Spaces(gym.spaces.Box(0, 255, (48, 48, 3), np.uint8), gym.spaces.Discrete(3))
    run = rollout(_spec(env).build(), env, num_steps=5, seed=0)
    v = RolloutViewer(run)
    v.step = 2
    assert v.errors == {} and v.frame_image.format == "png"
    np.testing.assert_array_equal(decode(v.frame_image.value), run[Columns.OBS][2])


@pytest.mark.parametrize("obs_space, shown", [
    (gym.spaces.Discrete(6), "one-hot"),
    (gym.spaces.Box(-1, 1, (5, 7), np.float32), "heat-map"),
    (gym.spaces.Dict({"a": BOX3, "b": gym.spaces.Discrete(3)}), "bars"),
], ids=["discrete", "2d", "dict"])
def test_observations_are_drawn_when_there_are_no_frames(obs_space, shown):
    env = _Spaces(obs_space, gym.spaces.Discrete(2))
    run = rollout(_spec(env).build(), env, num_steps=5, seed=0)
    v = RolloutViewer(run)
    v.step = 1
    pane = v._obs_pane(None)
    obs = run[Columns.OBS]
    if shown == "one-hot":
        expected = np.eye(6)[int(obs[1])]
    elif shown == "heat-map":
        np.testing.assert_allclose(pane.image.get_array(), obs[1], rtol=1e-6)
        return
    else:
        expected = np.concatenate([obs["a"][1], np.eye(3)[int(obs["b"][1])]])
    np.testing.assert_allclose([b.get_height() for b in pane.bars], expected, rtol=1e-6)
    assert v.frame_image.layout.width == f"{pane.size[0]}px"


def test_a_module_without_a_value_function_shows_the_rest():
    from rlkit import RLModule

    class PolicyOnly(RLModule):
        def setup(self):
            self.pi = torch.nn.Linear(3, 2)

        def _forward(self, batch, **kwargs):
            return {Columns.ACTION_DIST_INPUTS: self.pi(batch[Columns.OBS])}

    env = _Spaces(BOX3, gym.spaces.Discrete(2))
    run = rollout(PolicyOnly(observation_space=BOX3, action_space=env.action_space), env, num_steps=5, seed=0)
    v = RolloutViewer(run)
    v.step = 2
    shown = readouts(v.readout_html.value)
    assert v.errors == {} and shown["value"] is None and shown["advantage"] is None
    assert shown["return_to_go"] == pytest.approx(float(run.returns(0.99)[2]), rel=1e-6)
