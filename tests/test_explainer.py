"""ForwardExplainer, headless: its numbers equal a direct forward pass; sliders and errors behave."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
import traitlets
from torch import nn

from rlkit import Columns, MultiRLModule, RLModule, RLModuleSpec
from rlkit.widgets import ForwardExplainer
from rlkit.widgets._obs_controls import slider_range

CARTPOLE = gym.make("CartPole-v1")


def cartpole_module(**config):
    return RLModuleSpec(observation_space=CARTPOLE.observation_space, action_space=CARTPOLE.action_space,
                        model_config={"fcnet_hiddens": [16, 16], **config}).build()


def direct(module, obs):
    """The module's own forward pass on a batch of one (no hooks, no explainer)."""
    batch = {Columns.OBS: np.asarray(obs)[None]}
    out = module.forward_inference(batch)
    with torch.no_grad():
        return out[Columns.ACTION_DIST_INPUTS][0], module.compute_values(batch)[0]


def test_numbers_equal_a_direct_forward_pass():
    module = cartpole_module()
    obs, _ = CARTPOLE.reset(seed=3)
    ex = ForwardExplainer(module, obs)
    logits, value = direct(module, obs)
    fp = ex.result
    np.testing.assert_allclose(fp.action_dist_inputs, logits.double().numpy(), rtol=0, atol=1e-6)
    np.testing.assert_allclose(fp.summary["probs"], torch.softmax(logits.double(), -1).numpy(), atol=1e-6)
    assert fp.value == pytest.approx(float(value), abs=1e-6)
    assert int(fp.greedy) == int(torch.argmax(logits))
    # every layer's output, recomputed by hand through the MLP
    rows = {r.name: r.values for r in fp.layers}
    x = torch.as_tensor(obs)[None]
    np.testing.assert_allclose(rows["obs"], obs, atol=1e-7)
    for i, layer in enumerate(module.encoder):
        x = layer(x)
        np.testing.assert_allclose(rows[f"encoder.{i}"], x[0].detach().double().numpy(), atol=1e-6)
    assert [r.shape for r in fp.layers[:3]] == [(4,), (16,), (16,)]
    assert ex.error == ""


def test_what_if_slider_updates_everything():
    module = cartpole_module()
    obs, _ = CARTPOLE.reset(seed=0)
    ex = ForwardExplainer(module, obs)
    assert [s.description for s in ex.sliders] == ["obs[0]", "obs[1]", "obs[2]", "obs[3]"]
    html_before = ex.children[2].children[1].children[0].value
    ex.sliders[2].value = 0.3
    assert ex.obs[2] == np.float32(0.3)
    logits, value = direct(module, ex.obs)
    np.testing.assert_allclose(ex.result.action_dist_inputs, logits.double().numpy(), atol=1e-6)
    assert ex.result.value == pytest.approx(float(value), abs=1e-6)
    probs_html = ex.children[2].children[1].children[0].value
    assert probs_html != html_before and f"{100 * ex.result.summary['probs'][1]:.1f}%" in probs_html
    # setting obs moves the sliders; reset goes back to the first observation
    ex.obs = np.array([0.1, 0.2, -0.1, 0.5], np.float32)
    assert [round(s.value, 3) for s in ex.sliders] == [0.1, 0.2, -0.1, 0.5]
    ex._reset()
    np.testing.assert_array_equal(ex.obs, obs)


def test_slider_ranges_from_the_space():
    assert slider_range(-4.8, 4.8, 0.1) == (-4.8, 4.8)
    assert slider_range(-np.inf, np.inf, 0.3) == (-1.0, 1.0)
    assert slider_range(-3.4e38, 3.4e38, 3.0) == (-10.0, 10.0)  # float32 max counts as unbounded
    assert slider_range(0.0, np.inf, 7.0) == (0.0, 20.0)
    assert slider_range(-np.inf, 1.0, -2.0) == (-9.0, 1.0)  # 2 * |1 - (-2)| = 6, rounded up to 10
    ex = ForwardExplainer(cartpole_module(), np.array([0.0, 3.0, 0.0, 0.0], np.float32))
    assert (ex.sliders[1].min, ex.sliders[1].max) == (-10.0, 10.0)
    assert (ex.sliders[2].min, ex.sliders[2].max) == pytest.approx((-0.4189, 0.4189), abs=1e-4)


def test_invalid_observation_is_refused_with_a_message():
    ex = ForwardExplainer(cartpole_module(), np.zeros(4, np.float32))
    with pytest.raises(traitlets.TraitError, match=r"one observation .* expected obs of shape \(B, 4\)"):
        ex.obs = np.zeros(3)
    with pytest.raises(ValueError, match=r"must be one observation \(no batch dim\) .* got \(1, 2, 4\)"):
        ForwardExplainer(cartpole_module(), np.zeros((2, 4), np.float32))


class Picky(RLModule):
    """Fails on purpose when obs[0] > 0.5, to check that callback errors show in the widget."""

    def setup(self):
        self.pi = nn.Linear(2, 3)

    def _forward(self, batch, **kwargs):
        obs = batch[Columns.OBS]
        if bool((obs[:, 0] > 0.5).any()):
            raise ValueError("obs[0] above 0.5 is not supported by this module")
        return {Columns.ACTION_DIST_INPUTS: self.pi(obs)}


def test_callback_errors_are_shown_in_the_widget_and_it_recovers():
    module = Picky(observation_space=gym.spaces.Box(-1, 1, (2,)), action_space=gym.spaces.Discrete(3))
    ex = ForwardExplainer(module, np.zeros(2, np.float32))
    good = ex.result
    ex.sliders[0].value = 0.9  # raises inside the forward pass: shown, not raised
    assert "obs[0] above 0.5 is not supported" in ex.error
    assert "not supported" in ex._message.value and "Traceback" not in ex._message.value
    assert ex.result is good  # the panes keep the last good pass
    ex.sliders[0].value = 0.1
    assert ex.error == "" and ex._message.value == "" and ex.result is not good
    assert ex.result.value is None  # no value head: no value shown


def test_gaussian_actions_show_mean_std_and_sample():
    env = gym.make("Pendulum-v1")
    module = RLModuleSpec(observation_space=env.observation_space, action_space=env.action_space,
                          model_config={"fcnet_hiddens": [8]}).build()
    ex = ForwardExplainer(module, env.reset(seed=0)[0])
    fp = ex.result
    mean, log_std = fp.action_dist_inputs[:1], fp.action_dist_inputs[1:]
    np.testing.assert_allclose(fp.summary["mean"], mean, atol=1e-6)
    np.testing.assert_allclose(fp.summary["std"], np.exp(log_std), atol=1e-6)
    assert env.action_space.contains(np.asarray(fp.sampled, np.float32))
    html = ex._dist_pane.value
    assert "mean, std → sample" in html and "sample" in html
    before = fp.sampled
    ex.sample_seed += 1  # "sample again"
    assert ex.result.sampled != before


def test_discrete_dict_and_image_observations():
    space = gym.spaces.Dict({"img": gym.spaces.Box(0, 255, (12, 12, 3), np.uint8), "room": gym.spaces.Discrete(5),
                             "flags": gym.spaces.MultiBinary(3)})
    module = RLModuleSpec(observation_space=space, action_space=gym.spaces.MultiDiscrete([3, 2]),
                          model_config={"fcnet_hiddens": [8], "conv_filters": [[4, 3, 2]]}).build()
    ex = ForwardExplainer(module)  # a seeded sample of the space
    by_label = {ed.label: ed for ed in ex.editors}
    assert by_label["obs['img']"].many and by_label["obs['img']"].picker.max == 12 * 12 * 3 - 1
    assert type(by_label["obs['room']"].controls[0]).__name__ == "IntSlider"
    assert [type(c).__name__ for c in by_label["obs['flags']"].controls] == ["Checkbox"] * 3
    img = by_label["obs['img']"]
    img.picker.value = 5
    img.controls[0].value = 200
    assert ex.obs["img"].reshape(-1)[5] == 200
    by_label["obs['room']"].controls[0].value = 4
    assert int(ex.obs["room"]) == 4
    logits = module.forward_inference({Columns.OBS: {k: np.asarray(v)[None] for k, v in ex.obs.items()}})
    np.testing.assert_allclose(ex.result.action_dist_inputs, logits[Columns.ACTION_DIST_INPUTS][0].double().numpy(),
                               atol=1e-6)
    assert "component 1" in ex._dist_pane.value
    assert "mean of" in ex._layer_pane.value  # a 432-value input drawn as an averaged heat strip


def test_masked_actions_are_shown_as_masked():
    space = gym.spaces.Dict({"obs": gym.spaces.Box(-1, 1, (3,)), "action_mask": gym.spaces.MultiBinary(4)})
    module = RLModuleSpec(observation_space=space, action_space=gym.spaces.Discrete(4),
                          model_config={"fcnet_hiddens": [8]}).build()
    obs = {"obs": np.zeros(3, np.float32), "action_mask": np.array([1, 0, 1, 0], np.int8)}
    ex = ForwardExplainer(module, obs)
    probs = ex.result.summary["probs"]
    assert probs[1] == 0 and probs[3] == 0 and ex._dist_pane.value.count("masked") >= 2


def test_recurrent_module_and_multi_module():
    module = cartpole_module(use_gru=True, lstm_cell_size=8)
    ex = ForwardExplainer(module, np.zeros(4, np.float32))
    assert any(r.kind == "GRU" or "GRU" in r.kind for r in ex.result.layers)
    multi = MultiRLModule({"a": cartpole_module()})
    with pytest.raises(ValueError, match=r"pass module_id=\.\.\. \(one of \['a'\]\)"):
        ForwardExplainer(multi)
    assert ForwardExplainer(multi, module_id="a").module is multi["a"]


def test_explainer_leaves_module_and_rng_alone():
    module = cartpole_module()
    module.train()
    torch.manual_seed(7)
    expected = torch.rand(2)
    torch.manual_seed(7)
    ex = ForwardExplainer(module, np.zeros(4, np.float32))
    ex.sliders[0].value = 1.0
    assert torch.equal(torch.rand(2), expected)
    assert module.training and all(not m._forward_hooks for m in module.modules())
    assert "rlkit-forward-explainer" in ex._dom_classes
