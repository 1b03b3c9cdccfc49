"""Small RLModules the rollout tests run (feed-forward, recurrent, continuous), and their checks."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from rlkit import Columns, RLModule, check_module
from rlkit.distributions import required_input_dim


class TinyActorCritic(RLModule):
    """Flat Box / Discrete observations, any action space with a distribution; a value head."""

    def setup(self):
        space = self.observation_space
        self.n_in = space.n if isinstance(space, gym.spaces.Discrete) else int(np.prod(space.shape))
        hidden = int(self.model_config.get("hidden", 16))
        self.body = nn.Sequential(nn.Linear(self.n_in, hidden), nn.Tanh())
        self.pi = nn.Linear(hidden, required_input_dim(self.action_space))
        self.vf = nn.Linear(hidden, 1)

    def _features(self, obs):
        if isinstance(self.observation_space, gym.spaces.Discrete):
            return nn.functional.one_hot(obs.long(), self.n_in).float()
        return obs.float().flatten(1)

    def _forward(self, batch, **kwargs):
        h = self.body(self._features(batch[Columns.OBS]))
        return {Columns.ACTION_DIST_INPUTS: self.pi(h), Columns.VF_PREDS: self.vf(h).squeeze(-1)}


class TinyGRU(RLModule):
    """Recurrent: obs (B, d) for one step or (B, T, d) for sequences; state {"h": (B, H)}."""

    def setup(self):
        self.hidden = 8
        self.cell = nn.GRU(int(np.prod(self.observation_space.shape)), self.hidden, batch_first=True)
        self.pi = nn.Linear(self.hidden, required_input_dim(self.action_space))
        self.vf = nn.Linear(self.hidden, 1)

    def get_initial_state(self):
        return {"h": torch.zeros(self.hidden)}

    def _forward(self, batch, **kwargs):
        obs = batch[Columns.OBS].float()
        single = obs.dim() == 2
        x = obs.unsqueeze(1) if single else obs  # (B, T, d)
        h0 = batch[Columns.STATE_IN]["h"].unsqueeze(0)  # (1, B, H)
        y, h = self.cell(x, h0)  # (B, T, H), (1, B, H)
        logits, values = self.pi(y), self.vf(y).squeeze(-1)
        if single:
            logits, values = logits[:, 0], values[:, 0]
        return {
            Columns.ACTION_DIST_INPUTS: logits,
            Columns.VF_PREDS: values,
            Columns.STATE_OUT: {"h": h[0]},
        }


class PolicyOnly(RLModule):
    """No value function: rollouts still record, advantages explain what is missing."""

    def setup(self):
        self.pi = nn.Linear(int(np.prod(self.observation_space.shape)), required_input_dim(self.action_space))

    def _forward(self, batch, **kwargs):
        return {Columns.ACTION_DIST_INPUTS: self.pi(batch[Columns.OBS].float())}


def make(cls, env_or_spaces, seed: int = 0, **config):
    """Build ``cls`` for an env (or ``(obs_space, act_space)``) with seeded weights."""
    if isinstance(env_or_spaces, tuple):
        obs_space, act_space = env_or_spaces
    elif isinstance(env_or_spaces, gym.vector.VectorEnv):
        obs_space, act_space = env_or_spaces.single_observation_space, env_or_spaces.single_action_space
    else:
        obs_space, act_space = env_or_spaces.observation_space, env_or_spaces.action_space
    torch.manual_seed(seed)
    return cls(observation_space=obs_space, action_space=act_space, model_config=config or None)


# ------------------------------------------------------------------ the helpers pass the checker


def test_helper_modules_pass_check_module():
    box, disc = gym.spaces.Box(-1, 1, (4,), np.float32), gym.spaces.Discrete(3)
    for cls in (TinyActorCritic, PolicyOnly, TinyGRU):
        report = check_module(make(cls, (box, disc)), raise_on_error=False)
        assert report.ok, report.as_text()
    recurrent = make(TinyGRU, (box, disc))
    out = recurrent.forward_inference({Columns.OBS: torch.zeros(2, 5, 4), Columns.STATE_IN: {"h": torch.zeros(2, 8)}})
    assert out[Columns.ACTION_DIST_INPUTS].shape == (2, 5, 3)

