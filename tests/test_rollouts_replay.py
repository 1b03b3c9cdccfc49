"""replay(): a module's outputs on recorded observations equal the live ones; comparing modules."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from test_rollouts_modules import TinyActorCritic, TinyGRU, make

from rlkit import Columns, MultiRLModule, RLModuleSpec
from rlkit.rollouts import ACTION_AGREEMENT, KL, VALUE_GAP, EnvRunner, compare, replay, rollout

OUTPUTS = (Columns.ACTION_DIST_INPUTS, Columns.VF_PREDS, Columns.ACTION_LOGP, Columns.ENTROPY,
           Columns.GREEDY_ACTIONS, "action_dist_probs", Columns.VALUES_BOOTSTRAPPED)


@pytest.mark.parametrize("cls", [TinyActorCritic, TinyGRU])
@pytest.mark.parametrize("num_envs", [1, 3])
def test_replay_equals_live_outputs(cls, num_envs):
    env = gym.make("CartPole-v1", max_episode_steps=20) if num_envs == 1 else gym.make_vec(
        "CartPole-v1", num_envs=num_envs, vectorization_mode="sync", max_episode_steps=20)
    module = make(cls, env)
    runner = EnvRunner(module, env, seed=0)
    runner.sample(num_steps=13)  # the replayed sample starts mid-episode
    r = runner.sample(num_steps=90)
    assert (r.t[np.unique(r.eps_id, return_index=True)[1]] > 0).any()
    again = replay(module, r)
    for col in OUTPUTS:
        np.testing.assert_allclose(again[col], r[col], atol=2e-6, err_msg=col)
    assert again[KL].max() < 1e-5 and again[ACTION_AGREEMENT].all()
    np.testing.assert_allclose(again[VALUE_GAP], 0.0, atol=2e-6)
    np.testing.assert_array_equal(again[Columns.ACTIONS], r[Columns.ACTIONS])  # the recorded actions stay


def test_replay_runs_one_batched_forward(monkeypatch):
    env = gym.make("CartPole-v1")
    module = make(TinyActorCritic, env)
    r = rollout(module, env, num_steps=50, seed=0)
    calls = []
    original = module.forward_exploration
    monkeypatch.setattr(module, "forward_exploration", lambda batch: calls.append(len(batch[Columns.OBS])) or original(batch))
    replay(module, r)
    assert calls == [50]


def test_recurrent_replay_is_one_call_over_padded_sequences(monkeypatch):
    env = gym.make("CartPole-v1")
    module = make(TinyGRU, env)
    r = rollout(module, env, num_episodes=3, seed=0)
    shapes = []
    original = module.forward_exploration
    monkeypatch.setattr(module, "forward_exploration", lambda batch: shapes.append(tuple(batch[Columns.OBS].shape)) or original(batch))
    replay(module, r)
    assert shapes == [(3, int(r.episodes()["length"].max()), 4)]


def test_another_module_differs_and_compare_matches():
    env = gym.make("CartPole-v1")
    a, b = make(TinyActorCritic, env, seed=0), make(TinyActorCritic, env, seed=1)
    r = rollout(a, env, num_steps=60, seed=0)
    rb = replay(b, r)
    assert rb[KL].min() > 0 and rb[KL].shape == (60,)
    out_b = b.forward_exploration({Columns.OBS: r.obs})
    np.testing.assert_allclose(rb[Columns.VF_PREDS], out_b[Columns.VF_PREDS].numpy(), atol=1e-6)
    np.testing.assert_allclose(rb[VALUE_GAP], rb[Columns.VF_PREDS] - r[Columns.VF_PREDS], atol=1e-6)
    # KL(recorded || replayed) by hand.
    p = torch.log_softmax(torch.from_numpy(r[Columns.ACTION_DIST_INPUTS]), -1)
    q = torch.log_softmax(out_b[Columns.ACTION_DIST_INPUTS], -1)
    np.testing.assert_allclose(rb[KL], (p.exp() * (p - q)).sum(-1).numpy(), rtol=1e-4, atol=1e-7)
    np.testing.assert_array_equal(rb[ACTION_AGREEMENT], rb[Columns.GREEDY_ACTIONS] == r[Columns.GREEDY_ACTIONS])
    # The recorded actions' logp under the other module.
    np.testing.assert_allclose(rb[Columns.ACTION_LOGP], q[np.arange(60), r.actions].numpy(), atol=1e-6)
    # Two replays compared directly give the same numbers.
    table = compare(replay(a, r), rb)
    np.testing.assert_allclose(table[KL], rb[KL], atol=1e-6)
    with pytest.raises(ValueError, match="compare\\(\\) needs two rollouts over the same rows"):
        compare(r, r[:10])


def test_replay_with_the_default_module_and_a_multi_module():
    env = gym.make("CartPole-v1")
    module = RLModuleSpec(observation_space=env.observation_space, action_space=env.action_space,
                          model_config={"use_lstm": True}).build()
    r = rollout(module, env, num_steps=70, seed=0)
    again = replay(MultiRLModule({"only": module}), r)
    np.testing.assert_allclose(again[Columns.ACTION_DIST_INPUTS], r[Columns.ACTION_DIST_INPUTS], atol=1e-5)
    with pytest.raises(ValueError, match="pass one module"):
        replay(MultiRLModule({"x": module, "y": module}), r)


def test_replay_with_a_module_for_other_observations_says_so():
    from rlkit.spaces import ObservationError

    r = rollout(make(TinyActorCritic, gym.make("CartPole-v1")), "CartPole-v1", num_steps=10, seed=0)
    other = make(TinyActorCritic, gym.make("Pendulum-v1"))
    with pytest.raises(ObservationError, match=r"replay\(\): the rollout's observations do not fit TinyActorCritic.*got \(10, 4\)"):
        replay(other, r)
