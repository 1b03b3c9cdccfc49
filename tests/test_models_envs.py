"""The default module on real gymnasium environments: 100 steps, every action inside the action space."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

from rlkit import RLModuleSpec, check_module

# Gymnasium 1.4 ids: Taxi is v4 there (v3 is deprecated), CliffWalking v1.
ENV_IDS = [
    "CartPole-v1",
    "MountainCarContinuous-v0",
    "Pendulum-v1",
    "Acrobot-v1",
    "FrozenLake-v1",
    "Taxi-v4",
    "Blackjack-v1",  # Tuple observations
    "CliffWalking-v1",
]
CONFIGS = {
    "default": None,
    "separate-lstm": {"fcnet_hiddens": [32], "use_lstm": True, "lstm_cell_size": 16, "vf_share_layers": False},
}


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("config", CONFIGS.values(), ids=CONFIGS.keys())
@pytest.mark.parametrize("env_id", ENV_IDS)
def test_default_module_acts_for_100_steps(env_id, config):
    env = gym.make(env_id)
    torch.manual_seed(0)
    module = RLModuleSpec(
        observation_space=env.observation_space, action_space=env.action_space, model_config=config
    ).build()
    assert check_module(module).ok
    obs, _ = env.reset(seed=0)
    state = None
    actions = []
    for step in range(100):
        explore = step % 2 == 0  # both sampled and greedy actions must be valid
        if module.is_stateful():
            action, state = module.act(obs, explore=explore, state=state)
        else:
            action = module.act(obs, explore=explore)
        assert env.action_space.contains(action), f"step {step}: {action!r} not in {env.action_space}"
        actions.append(action)
        obs, reward, terminated, truncated, _ = env.step(action)
        assert np.isfinite(reward)
        if terminated or truncated:
            obs, _ = env.reset()
            state = None
    env.close()
    if isinstance(env.action_space, gym.spaces.Discrete):
        assert len({int(a) for a in actions}) > 1  # sampling explores more than one action
