"""Action masking in the default module: an "action_mask" Dict entry or Columns.ACTION_MASK."""

from __future__ import annotations

import re

import gymnasium as gym
import numpy as np
import pytest
import torch

from rlkit import Columns, RLModuleSpec, check_module
from rlkit.models import UnsupportedSpaceError

N = 5
MASKED_OBS = gym.spaces.Dict(
    {"action_mask": gym.spaces.MultiBinary(N), "observation": gym.spaces.Box(-1.0, 1.0, (3,), np.float32)}
)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def build(obs_space=MASKED_OBS, act_space=gym.spaces.Discrete(N), **config):
    return RLModuleSpec(
        observation_space=obs_space, action_space=act_space, model_config={"fcnet_hiddens": [16], **config}
    ).build()


def random_masks(rng, batch, n=N):
    mask = rng.integers(0, 2, (batch, n)).astype(np.int8)
    mask[np.arange(batch), rng.integers(0, n, batch)] = 1  # at least one allowed action per row
    return mask


def test_masked_actions_are_never_sampled_and_never_greedy():
    module = build()
    rng = np.random.default_rng(0)
    with torch.no_grad():  # make the masked actions the most likely ones if the mask were ignored
        module.pi_head.out.bias.copy_(torch.tensor([9.0, 0.0, 9.0, 0.0, 9.0]))
    for _ in range(20):
        mask = random_masks(rng, 64)
        obs = {"action_mask": mask, "observation": rng.uniform(-1, 1, (64, 3)).astype(np.float32)}
        for explore in (True, False):
            actions = module.act(obs, explore=explore)
            assert mask[np.arange(64), actions].all()
    assert check_module(module).ok


def test_every_forward_pass_masks_the_logits_and_the_mask_is_not_a_feature():
    module = build(vf_share_layers=False)
    mask = np.array([[1, 0, 1, 0, 0], [0, 0, 0, 0, 1]], np.int8)
    x = np.zeros((2, 3), np.float32)
    lowest = torch.finfo(torch.float32).min
    for phase in ("inference", "exploration", "train"):
        out = getattr(module, f"forward_{phase}")({Columns.OBS: {"action_mask": mask, "observation": x}})
        logits = out[Columns.ACTION_DIST_INPUTS]
        assert torch.equal(logits == lowest, torch.as_tensor(mask == 0))
        # A different mask changes only the masked logits, not the features.
        other = getattr(module, f"forward_{phase}")({Columns.OBS: {"action_mask": 1 - mask, "observation": x}})
        torch.testing.assert_close(other[Columns.EMBEDDINGS], out[Columns.EMBEDDINGS])
        if phase != "inference":
            torch.testing.assert_close(other[Columns.VF_PREDS], out[Columns.VF_PREDS])
    assert list(module.encoder[0].keys) == ["observation"] and module.encoder[1].input_dim == 3  # mask not encoded
    assert "action mask from obs['action_mask']" in repr(module)
    probs = torch.softmax(module.forward_inference({Columns.OBS: {"action_mask": mask, "observation": x}})[Columns.ACTION_DIST_INPUTS], -1)
    assert torch.all(probs[torch.as_tensor(mask == 0)] == 0)


def test_batch_column_mask_for_any_observation_space_and_multidiscrete():
    module = build(gym.spaces.Box(-1.0, 1.0, (3,), np.float32), gym.spaces.MultiDiscrete([2, 3]))
    mask = torch.tensor([[True, False, False, True, True]] * 4)
    for _ in range(10):
        out = module.forward_exploration({Columns.OBS: torch.randn(4, 3), Columns.ACTION_MASK: mask})
        dist = module.get_exploration_action_dist_cls().from_logits(out[Columns.ACTION_DIST_INPUTS])
        sample = dist.sample()
        assert torch.all(sample[:, 0] == 0)
        assert torch.all(sample[:, 1] >= 1)


def test_multidiscrete_mask_in_the_observation():
    space = gym.spaces.Dict({"action_mask": gym.spaces.Box(0, 1, (5,), np.int8), "x": gym.spaces.Discrete(4)})
    module = build(space, gym.spaces.MultiDiscrete([2, 3]))
    obs = {"action_mask": np.array([0, 1, 1, 0, 0], np.int8), "x": 2}
    for _ in range(30):
        assert module.act(obs, explore=True).tolist() == [1, 0]


def test_mask_errors():
    with pytest.raises(UnsupportedSpaceError, match=re.escape(
        "The observation's 'action_mask' entry MultiBinary(5) does not fit the action space Discrete(4): "
        "expected a MultiBinary(4) or a Box of shape (4,), 1 = allowed.")):
        build(act_space=gym.spaces.Discrete(4))
    with pytest.raises(UnsupportedSpaceError, match=re.escape(
        "The observation has an 'action_mask' entry, but action masks work with Discrete and 1-D MultiDiscrete "
        "action spaces; got Box(-1.0, 1.0, (5,), float32).")):
        build(act_space=gym.spaces.Box(-1.0, 1.0, (5,), np.float32))
    with pytest.raises(UnsupportedSpaceError, match=re.escape(
        "holds only an 'action_mask': nothing to encode")):
        build(gym.spaces.Dict({"action_mask": gym.spaces.MultiBinary(N)}))
    module = build(gym.spaces.Box(-1.0, 1.0, (3,), np.float32))
    with pytest.raises(ValueError, match=re.escape(
        "expected an action mask of shape (2, 5) (1 = allowed) for Discrete(5), got (2, 4).")):
        module.forward_inference({Columns.OBS: torch.zeros(2, 3), Columns.ACTION_MASK: torch.ones(2, 4)})
    box = build(gym.spaces.Box(-1.0, 1.0, (3,), np.float32), gym.spaces.Box(-1.0, 1.0, (2,), np.float32))
    with pytest.raises(ValueError, match=re.escape(
        "batch[Columns.ACTION_MASK] works with Discrete and 1-D MultiDiscrete action spaces; got Box")):
        box.forward_inference({Columns.OBS: torch.zeros(2, 3), Columns.ACTION_MASK: torch.ones(2, 3)})
