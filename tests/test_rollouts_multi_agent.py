"""Rollouts of PettingZoo ParallelEnvs: the shipped GridChase and pettingzoo's rock-paper-scissors."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from test_rollouts_modules import TinyActorCritic, TinyGRU, make

from rlkit import Columns, MultiRLModule, RLModuleSpec
from rlkit.rollouts import EnvRunner, GridChase, MultiAgentEnvRunner, Rollout, compute_gae, replay, rollout

pettingzoo = pytest.importorskip("pettingzoo")
# pettingzoo's own test helpers and classic envs import its deprecated env-creation modules.
pytestmark = pytest.mark.filterwarnings("ignore:The old environment creation API:DeprecationWarning")


def chase_modules(recurrent_runner: bool = False) -> MultiRLModule:
    env = GridChase()
    spaces = (env.observation_space("chaser"), env.action_space("chaser"))
    return MultiRLModule({
        "hunter": make(TinyActorCritic, spaces, seed=0),
        "prey": make(TinyGRU if recurrent_runner else TinyActorCritic, spaces, seed=1),
    })


MAPPING = {"chaser": "hunter", "runner": "prey"}


def test_grid_chase_passes_the_pettingzoo_api_test():
    from pettingzoo.test import parallel_api_test

    parallel_api_test(GridChase(), num_cycles=100)
    frame = GridChase(render_mode="rgb_array")
    frame.reset(seed=0)
    assert frame.render().shape == (80, 80, 3) and frame.render().dtype == np.uint8


def test_grid_chase_rollout_records_agents_and_modules():
    r = rollout(chase_modules(), GridChase(render_mode="rgb_array"), num_steps=60, seed=0,
                policy_mapping_fn=lambda agent_id: MAPPING[agent_id], record_frames=True)
    assert r.agent_ids == ["chaser", "runner"] and r.module_ids == ["hunter", "prey"]
    # Both agents act at every env step: two rows per step, sharing a frame.
    assert len(r) == 120 and r.frames.shape == (60, 80, 80, 3)
    np.testing.assert_array_equal(r[Columns.FRAME_INDEX], np.repeat(np.arange(60), 2))
    np.testing.assert_array_equal(r[Columns.MODULE_ID], np.vectorize(MAPPING.get)(r[Columns.AGENT_ID]))
    # Zero-sum rewards, per step.
    np.testing.assert_allclose(r.rewards[0::2], -r.rewards[1::2])
    chaser = r.for_agent("chaser")
    assert len(chaser) == 60 and set(chaser[Columns.AGENT_ID]) == {"chaser"}
    np.testing.assert_array_equal(chaser[Columns.OBS], r.for_module("hunter")[Columns.OBS])
    eps = r.episodes()
    assert {"agent_id", "module_id"} <= set(eps.columns) and set(eps["agent_id"]) == {"chaser", "runner"}
    assert set(eps["ended"]) <= {"terminated", "truncated", "running"}
    df = r.to_dataframe()
    assert {"agent_id", "module_id", "obs[5]", "action_dist_probs[4]"} <= set(df.columns)


def test_each_agent_trajectory_bootstraps_from_its_own_next_row():
    r = rollout(chase_modules(), GridChase(max_steps=5), num_steps=40, seed=1, policy_mapping_fn=MAPPING)
    for agent in r.agent_ids:
        a = r.for_agent(agent)
        cont = ~(a.terminateds | a.truncateds)
        np.testing.assert_allclose(a.values_bootstrapped[:-1][cont[:-1]], a.vf_preds[1:][cont[:-1]])
        assert (a.values_bootstrapped[a.terminateds] == 0).all()
        adv = compute_gae(a.rewards, a.vf_preds, a.terminateds, a.truncateds, a.values_bootstrapped, 0.9, 0.9)
        np.testing.assert_allclose(r.advantages(0.9, 0.9)[r.agent_id == agent], adv, rtol=1e-5, atol=1e-6)
    assert r.truncateds.any()


def test_truncated_agents_bootstrap_from_the_final_observation():
    modules = chase_modules()
    r = rollout(modules, GridChase(size=9, max_steps=3), num_steps=12, seed=0, policy_mapping_fn=MAPPING)
    assert r.truncateds.any()
    # Replay the recorded actions in a fresh env: the obs returned at a truncation is the final obs.
    env = GridChase(size=9, max_steps=3)
    env.reset(seed=0)
    checked = 0
    for step in range(12):
        rows = np.flatnonzero(r.frame_index == step) if Columns.FRAME_INDEX in r else np.arange(2 * step, 2 * step + 2)
        obs, _, _, truncs, _ = env.step({r.agent_id[i]: int(r.actions[i]) for i in rows})
        for i in rows:
            if truncs[r.agent_id[i]]:
                module = modules[r.module_id[i]]
                v = module.forward_exploration({Columns.OBS: obs[r.agent_id[i]][None]})[Columns.VF_PREDS]
                assert r.values_bootstrapped[i] == pytest.approx(float(v[0]), abs=1e-6)
                checked += 1
        if not env.agents:
            env.reset()
    assert checked >= 2


def test_num_episodes_and_continuation():
    runner = EnvRunner(chase_modules(), GridChase(), seed=3, policy_mapping_fn=MAPPING)
    assert isinstance(runner, MultiAgentEnvRunner)
    whole = runner.sample(num_episodes=3)
    eps = whole.episodes()
    assert whole.num_episodes == 3 and (eps["ended"] != "running").all()
    a, b = runner.sample(num_steps=7), runner.sample(num_steps=7)
    joined = Rollout.concat([a, b])
    for agent in joined.agent_ids:
        rows = joined.for_agent(agent)
        for eid in rows.episode_ids:
            t = rows.t[rows.eps_id == eid]
            np.testing.assert_array_equal(t, np.arange(t[0], t[0] + len(t)))


def test_recurrent_module_for_one_agent():
    r = rollout(chase_modules(recurrent_runner=True), GridChase(), num_steps=30, seed=0, policy_mapping_fn=MAPPING)
    prey = r.for_module("prey")
    h = prey[Columns.STATE_IN]["h"]
    np.testing.assert_array_equal(h[prey.t == 0], 0.0)
    assert np.abs(h[prey.t > 0]).sum(1).min() > 0
    again = replay(chase_modules(recurrent_runner=True), r)
    np.testing.assert_allclose(again[Columns.ACTION_DIST_INPUTS], r[Columns.ACTION_DIST_INPUTS], atol=1e-5)
    assert again["kl"].max() < 1e-5 and again["action_agreement"].all()


def test_seeded_multi_agent_rollouts_repeat():
    a = rollout(chase_modules(), GridChase(), num_steps=25, seed=4, policy_mapping_fn=MAPPING)
    b = rollout(chase_modules(), GridChase(), num_steps=25, seed=4, policy_mapping_fn=MAPPING)
    for col in a.columns:
        np.testing.assert_array_equal(a[col], b[col], err_msg=col)


def test_real_pettingzoo_env_rock_paper_scissors():
    from pettingzoo.classic import rps_v2

    env = rps_v2.parallel_env(max_cycles=10)
    module = make(TinyActorCritic, (env.observation_space("player_0"), env.action_space("player_0")))
    r = rollout(module, env, num_episodes=2, seed=0)  # one module shared by both players
    assert r.agent_ids == ["player_0", "player_1"] and r.module_ids == ["default_policy"]
    eps = r.episodes()
    assert len(eps) == 4 and (eps["ended"] == "truncated").all() and (eps["length"] == 10).all()
    np.testing.assert_allclose(eps.groupby("eps_id")["return"].sum(), 0.0)  # zero-sum
    assert r[Columns.OBS].shape == (40,) and r[Columns.OBS].dtype == np.int64  # Discrete(4) observations
    again = replay(module, r)
    assert again["kl"].max() < 1e-6


def test_pettingzoo_aec_env_is_stepped_as_a_parallel_one():
    from pettingzoo.classic import rps_v2

    env = rps_v2.env(max_cycles=5)  # the AEC (turn-by-turn) version
    module = make(TinyActorCritic, (env.observation_space("player_0"), env.action_space("player_0")))
    r = rollout(module, env, num_episodes=1, seed=0)
    assert r.agent_ids == ["player_0", "player_1"] and (r.episodes()["length"] == 5).all()


def test_mapping_that_misses_an_agent_is_explained():
    with pytest.raises(ValueError, match=r"does not cover every agent of env GridChase: agent 'runner' has no entry "
                                         r"in the policy mapping.*Available module ids: \['hunter', 'prey'\]"):
        rollout(chase_modules(), GridChase(), num_steps=5, policy_mapping_fn={"chaser": "hunter"})
    with pytest.raises(ValueError, match=r"agent 'runner' is mapped to module 'ghost', which the MultiRLModule lacks"):
        rollout(chase_modules(), GridChase(), num_steps=5, policy_mapping_fn=lambda a: "hunter" if a == "chaser" else "ghost")
    with pytest.raises(ValueError, match=r"agent 'chaser' has no entry in the policy mapping; agent 'runner'"):
        rollout(chase_modules(), GridChase(), num_steps=5)  # no mapping, ids do not match


def test_multi_agent_observation_mismatch():
    env = GridChase()
    bad = make(TinyActorCritic, (gym.spaces.Box(-1, 1, (3,), np.float32), env.action_space("chaser")))
    with pytest.raises(ValueError, match=r"observations of env GridChase \(agent 'chaser'\) do not fit TinyActorCritic"):
        rollout(MultiRLModule({"chaser": bad, "runner": bad}), env, num_steps=5)


def test_num_steps_or_episodes_required_multi_agent():
    with pytest.raises(ValueError, match="rollout needs num_steps or num_episodes"):
        rollout(chase_modules(), GridChase(), policy_mapping_fn=MAPPING)


def test_greedy_multi_agent_rollout_still_has_values():
    env = GridChase()
    spec = RLModuleSpec(observation_space=env.observation_space("chaser"), action_space=env.action_space("chaser"))
    r = rollout(spec.build(), env, num_steps=15, seed=0, explore=False)
    np.testing.assert_array_equal(r[Columns.ACTIONS], r[Columns.GREEDY_ACTIONS])
    assert r.advantages().shape == (30,) and np.isfinite(r[Columns.VF_PREDS]).all()
