"""Properties of the default module over random nested spaces (Hypothesis)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rlkit import Columns, RLModuleSpec
from rlkit.spaces import sample_obs_batch

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
KEYS = st.sampled_from(["a", "b", "pos", "x.y", "obs"])


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@st.composite
def float_boxes(draw, max_ndim=2):
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=max_ndim)))
    if draw(st.booleans()):
        low, high = -np.inf, np.inf
    else:
        low = draw(st.floats(-10, 0, allow_nan=False))
        high = low + draw(st.floats(0.1, 10, allow_nan=False))
    return gym.spaces.Box(low, high, shape, np.float32)


@st.composite
def images(draw):
    side = draw(st.integers(3, 10))
    channels = draw(st.sampled_from([1, 3]))
    shape = (side, side + 1, channels) if draw(st.booleans()) else (channels, side, side + 1)
    return gym.spaces.Box(0, 255, shape, np.uint8)


def discretes():
    return st.builds(gym.spaces.Discrete, st.integers(1, 5), start=st.integers(-2, 2))


def multi_discretes():
    return st.builds(gym.spaces.MultiDiscrete, st.lists(st.integers(1, 4), min_size=1, max_size=3))


def multi_binaries():
    return st.builds(gym.spaces.MultiBinary, st.integers(1, 4))


def nested(leaves, max_leaves=6):
    return st.recursive(
        leaves,
        lambda children: st.one_of(
            st.builds(gym.spaces.Tuple, st.lists(children, min_size=1, max_size=3).map(tuple)),
            st.builds(gym.spaces.Dict, st.dictionaries(KEYS, children, min_size=1, max_size=3)),
        ),
        max_leaves=max_leaves,
    )


OBS_SPACES = nested(st.one_of(float_boxes(3), images(), discretes(), multi_discretes(), multi_binaries()))
ACTION_SPACES = nested(st.one_of(float_boxes(2), discretes(), multi_discretes(), multi_binaries()), max_leaves=4)
CONFIGS = st.fixed_dictionaries(
    {"fcnet_hiddens": st.lists(st.integers(1, 12), max_size=2), "vf_share_layers": st.booleans()}
)


def build(obs_space, act_space, config, **extra):
    torch.manual_seed(0)
    return RLModuleSpec(observation_space=obs_space, action_space=act_space, model_config={**config, **extra}).build()


@SETTINGS
@given(obs_space=OBS_SPACES, act_space=ACTION_SPACES, config=CONFIGS, seed=st.integers(0, 2**16))
def test_builds_and_acts_inside_the_space(obs_space, act_space, config, seed):
    module = build(obs_space, act_space, config)
    obs_space.seed(seed)
    for explore in (False, True):
        action = module.act(obs_space.sample(), explore=explore)
        assert act_space.contains(action), f"{action!r} not in {act_space}"
    batch = sample_obs_batch(obs_space, 3, seed=seed)
    out = module.forward_train({Columns.OBS: batch})
    assert out[Columns.ACTION_DIST_INPUTS].shape == (3, module.pi_head.output_dim)
    assert out[Columns.VF_PREDS].shape == (3,)
    assert torch.isfinite(out[Columns.ACTION_DIST_INPUTS]).all()


@SETTINGS
@given(obs_space=OBS_SPACES, act_space=ACTION_SPACES, config=CONFIGS, cell=st.sampled_from(["lstm", "gru"]),
       seed=st.integers(0, 2**16))
def test_recurrent_state_threads_through_20_steps(obs_space, act_space, config, cell, seed):
    module = build(obs_space, act_space, config, lstm_cell_size=6, **{f"use_{cell}": True})
    keys = set(module.get_initial_state())
    obs_space.seed(seed)
    state = None
    states = []
    for step in range(20):
        action, state = module.act(obs_space.sample(), explore=step % 2 == 0, state=state)
        assert act_space.contains(action)
        assert set(state) == keys and all(v.shape == (1, 6) and torch.isfinite(v).all() for v in state.values())
        states.append(state["h"])
    # The state carries information: it moves away from the zero initial state.
    assert any(not torch.equal(s, torch.zeros_like(s)) for s in states)
