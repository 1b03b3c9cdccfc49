"""The reference page's snippets (../shared/reference/rlmodule-overview.md), imports changed only."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import torch

# --- the page's imports, changed to rlkit ---------------------------------------------
import torch.nn as nn
from rlkit import TorchRLModule
from rlkit import Columns
from rlkit import RLModuleSpec
from rlkit import MultiRLModuleSpec


class MyModule(TorchRLModule):
    def setup(self):
        obs_dim = self.observation_space.shape[0]
        n_actions = self.action_space.n
        self.encoder = nn.Sequential(
            nn.Linear(obs_dim, 128), nn.ReLU(),
            nn.Linear(128, 128), nn.ReLU(),
        )
        self.policy_head = nn.Linear(128, n_actions)
        self.value_head = nn.Linear(128, 1)

    def _forward(self, batch, **kwargs):
        h = self.encoder(batch[Columns.OBS])
        return {
            Columns.ACTION_DIST_INPUTS: self.policy_head(h),
            Columns.VF_PREDS: self.value_head(h).squeeze(-1),
        }


class ModuleA(MyModule):
    pass


class ModuleB(MyModule):
    pass


OBS = gym.spaces.Box(-np.inf, np.inf, (4,), np.float32)
ACT = gym.spaces.Discrete(2)


def test_custom_module_forwards():
    module = MyModule(observation_space=OBS, action_space=ACT)
    out = module.forward_inference({Columns.OBS: torch.randn(5, 4)})
    assert out[Columns.ACTION_DIST_INPUTS].shape == (5, 2)
    assert out[Columns.VF_PREDS].shape == (5,)
    train_out = module.forward_train({Columns.OBS: np.random.randn(5, 4)})
    assert train_out[Columns.VF_PREDS].requires_grad


def test_spec_builds_custom_module():
    spec = RLModuleSpec(module_class=MyModule)
    built = spec.update(observation_space=OBS, action_space=ACT).build()
    assert isinstance(built, MyModule)


def test_multi_agent_spec():
    spec = MultiRLModuleSpec(rl_module_specs={
        "policy_a": RLModuleSpec(module_class=ModuleA, observation_space=OBS, action_space=ACT),
        "policy_b": RLModuleSpec(module_class=ModuleB, observation_space=OBS, action_space=ACT),
    })
    multi = spec.build()
    assert isinstance(multi["policy_a"], ModuleA) and isinstance(multi["policy_b"], ModuleB)
    out = multi.forward_inference({"policy_a": {Columns.OBS: torch.zeros(2, 4)}})
    assert set(out) == {"policy_a"}


def test_inference_only_loads_checkpoint_module_state():
    full = MyModule(observation_space=OBS, action_space=ACT)
    checkpoint = {"module_state": full.get_state()}
    inference_only = MyModule(observation_space=OBS, action_space=ACT, inference_only=True)
    inference_only.load_state_dict(checkpoint["module_state"])
    x = {Columns.OBS: torch.randn(3, 4)}
    torch.testing.assert_close(
        inference_only.forward_inference(x)[Columns.ACTION_DIST_INPUTS],
        full.forward_inference(x)[Columns.ACTION_DIST_INPUTS],
    )
