"""Recurrent default modules (use_lstm / use_gru): state shapes, one step vs (B, T) sequences."""

from __future__ import annotations

import re

import gymnasium as gym
import numpy as np
import pytest
import torch
from space_catalogue import OBSERVATION_SPACES

from rlkit import Columns, RLModuleSpec, check_module
from rlkit.spaces import sample_obs_batch

CELL = 8
CONFIGS = {
    "lstm-shared": ({"use_lstm": True}, {"h", "c"}),
    "lstm-separate": ({"use_lstm": True, "vf_share_layers": False}, {"h", "c", "vf_h", "vf_c"}),
    "gru-shared": ({"use_gru": True}, {"h"}),
    "gru-separate": ({"use_gru": True, "vf_share_layers": False}, {"h", "vf_h"}),
}


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def build(obs_space, act_space=gym.spaces.Discrete(3), **config):
    torch.manual_seed(0)
    return RLModuleSpec(
        observation_space=obs_space, action_space=act_space,
        model_config={"fcnet_hiddens": [16], "lstm_cell_size": CELL, **config},
    ).build()


def batched_state(module, batch_size):
    return {k: v.expand(batch_size, *v.shape).clone() for k, v in module.get_initial_state().items()}


def time_major_slice(obs, t):
    if isinstance(obs, dict):
        return {k: time_major_slice(v, t) for k, v in obs.items()}
    if isinstance(obs, tuple):
        return tuple(time_major_slice(v, t) for v in obs)
    return obs[:, t]


def as_sequences(obs, b, t):
    if isinstance(obs, dict):
        return {k: as_sequences(v, b, t) for k, v in obs.items()}
    if isinstance(obs, tuple):
        return tuple(as_sequences(v, b, t) for v in obs)
    return np.asarray(obs).reshape(b, t, *np.shape(obs)[1:])


@pytest.mark.parametrize("config, keys", CONFIGS.values(), ids=CONFIGS.keys())
def test_initial_state_has_no_batch_dim(config, keys):
    module = build(OBSERVATION_SPACES["box1d"], **config)
    state = module.get_initial_state()
    assert set(state) == keys
    assert all(v.shape == (CELL,) and torch.all(v == 0) for v in state.values())
    assert module.is_stateful()
    assert check_module(module).ok


@pytest.mark.parametrize("config, keys", CONFIGS.values(), ids=CONFIGS.keys())
@pytest.mark.parametrize("obs_id", ["box1d", "image-hwc-u8", "nested"])
def test_a_sequence_equals_the_same_steps_one_at_a_time(config, keys, obs_id):
    space = OBSERVATION_SPACES[obs_id]
    module = build(space, **config)
    b, t = 2, 5
    obs = as_sequences(sample_obs_batch(space, b * t, seed=2), b, t)  # (B, T, *obs_shape)
    seq = module.forward_train({Columns.OBS: obs, Columns.STATE_IN: batched_state(module, b)})
    assert seq[Columns.ACTION_DIST_INPUTS].shape == (b, t, 3)
    assert seq[Columns.VF_PREDS].shape == (b, t)
    assert seq[Columns.EMBEDDINGS].shape == (b, t, CELL)
    assert {k: tuple(v.shape) for k, v in seq[Columns.STATE_OUT].items()} == {k: (b, CELL) for k in keys}

    state = batched_state(module, b)  # the slow obvious way: one step at a time
    for step in range(t):
        out = module.forward_train({Columns.OBS: time_major_slice(obs, step), Columns.STATE_IN: state})
        torch.testing.assert_close(out[Columns.ACTION_DIST_INPUTS], seq[Columns.ACTION_DIST_INPUTS][:, step])
        torch.testing.assert_close(out[Columns.VF_PREDS], seq[Columns.VF_PREDS][:, step])
        state = out[Columns.STATE_OUT]
    for k in keys:
        torch.testing.assert_close(state[k], seq[Columns.STATE_OUT][k])
    with torch.no_grad():
        values = module.compute_values({Columns.OBS: obs, Columns.STATE_IN: batched_state(module, b)})
    torch.testing.assert_close(values, seq[Columns.VF_PREDS])


def test_seq_lens_give_each_row_the_state_after_its_last_valid_step():
    module = build(OBSERVATION_SPACES["box1d"], use_lstm=True)
    obs = torch.randn(3, 4, 4)
    lens = torch.tensor([4, 1, 2])
    out = module.forward_train({Columns.OBS: obs, Columns.STATE_IN: batched_state(module, 3), Columns.SEQ_LENS: lens})
    for row, n in enumerate(lens.tolist()):
        one = module.forward_train({Columns.OBS: obs[row : row + 1, :n], Columns.STATE_IN: batched_state(module, 1)})
        for k in ("h", "c"):
            torch.testing.assert_close(out[Columns.STATE_OUT][k][row], one[Columns.STATE_OUT][k][0])


def test_act_threads_the_state():
    env = gym.make("CartPole-v1")
    module = build(env.observation_space, env.action_space, use_lstm=True, vf_share_layers=False)
    obs, _ = env.reset(seed=0)
    action, state = module.act(obs)
    assert env.action_space.contains(action)
    assert set(state) == {"h", "c", "vf_h", "vf_c"} and state["h"].shape == (1, CELL)
    first = {k: v.clone() for k, v in state.items()}
    for _ in range(10):
        obs, *_ = env.step(action)
        action, state = module.act(obs, state=state, explore=True)
    assert not torch.equal(state["h"], first["h"])
    # A batch of observations starts from a batch of initial states.
    many = np.stack([obs, obs * 0.5])
    actions, batch_state = module.act(many)
    assert actions.shape == (2,) and batch_state["h"].shape == (2, CELL)


def test_missing_state_in_is_explained():
    module = build(OBSERVATION_SPACES["box1d"], use_gru=True)
    with pytest.raises(KeyError, match=re.escape(
        "This DefaultActorCritic is recurrent (gru): expected batch[Columns.STATE_IN], a dict of (B, 8) tensors "
        "with keys ['h'], got NoneType. Start from module.get_initial_state() with a batch dim, or call "
        "module.act(obs, state=None).")):
        module.forward_inference({Columns.OBS: torch.zeros(2, 4)})


def test_missing_critic_state_is_explained():
    module = build(OBSERVATION_SPACES["box1d"], use_lstm=True, vf_share_layers=False)
    state = {k: v.expand(2, -1) for k, v in module.get_initial_state().items() if not k.startswith("vf_")}
    with pytest.raises(KeyError, match=re.escape(
        "This DefaultActorCritic's critic has its own lstm state: expected batch[Columns.STATE_IN] to have keys "
        "['c', 'h', 'vf_c', 'vf_h'], missing ['vf_h', 'vf_c']")):
        module.forward_exploration({Columns.OBS: torch.zeros(2, 4), Columns.STATE_IN: state})


@pytest.mark.parametrize("config", ["lstm-separate", "gru-shared"])
def test_act_accepts_the_unbatched_initial_state(config):
    # state = module.get_initial_state(); action, state = module.act(obs, state=state) ...
    env = gym.make("CartPole-v1")
    module = build(env.observation_space, env.action_space, **CONFIGS[config][0])
    obs, _ = env.reset(seed=0)
    action, state = module.act(obs, state=module.get_initial_state())
    _, fresh = module.act(obs)
    assert env.action_space.contains(action) and state["h"].shape == (1, CELL)
    assert all(torch.equal(state[k], fresh[k]) for k in fresh)
    actions, many = module.act(np.stack([obs, obs]), state=module.get_initial_state())
    assert actions.shape == (2,) and many["h"].shape == (2, CELL)


def test_unbatched_state_in_is_explained():
    module = build(OBSERVATION_SPACES["box1d"], use_lstm=True)
    with pytest.raises(ValueError, match=re.escape(
        "expected batch[Columns.STATE_IN]['h'] of shape (B, 8), got (8,). get_initial_state() has no batch dim")):
        module.forward_inference({Columns.OBS: torch.zeros(1, 4), Columns.STATE_IN: module.get_initial_state()})
    with pytest.raises(ValueError, match=re.escape(
        "expected batch[Columns.STATE_IN]['h'] of shape (B, 8), got (1, 9). Pass the state this module returned")):
        module.forward_inference({Columns.OBS: torch.zeros(1, 4), Columns.STATE_IN: {"h": torch.zeros(1, 9), "c": torch.zeros(1, 9)}})


def test_act_takes_a_numpy_state():
    module = build(OBSERVATION_SPACES["box1d"], use_lstm=True)
    _, state = module.act(np.zeros(4, np.float32))
    _, again = module.act(np.zeros(4, np.float32), state={k: v.numpy() for k, v in state.items()})
    _, same = module.act(np.zeros(4, np.float32), state=state)
    assert all(torch.equal(again[k], same[k]) for k in same)
