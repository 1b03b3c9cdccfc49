"""rlkit.rollout / EnvRunner on gymnasium envs: recording, vector envs, bootstrapping, seeds, errors."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from test_rollouts_modules import PolicyOnly, TinyActorCritic, TinyGRU, make
from torch import nn

from rlkit import Columns, RLModule, RLModuleSpec
from rlkit.rollouts import EnvRunner, Rollout, compute_gae, rollout
from rlkit.spaces import ObservationError

MODES = [gym.vector.AutoresetMode.NEXT_STEP, gym.vector.AutoresetMode.SAME_STEP, gym.vector.AutoresetMode.DISABLED]


# ------------------------------------------------------------------ a counting env and a module whose V(s) = s


class CounterEnv(gym.Env):
    """obs = [steps so far]; even-numbered episodes terminate at t = 4, odd ones run until the time limit."""

    observation_space = gym.spaces.Box(0.0, 1000.0, (1,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def __init__(self):
        self.episode = -1
        self.t = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.episode += 1
        self.t = 0
        return np.array([0.0], np.float32), {}

    def step(self, action):
        self.t += 1
        terminated = self.episode % 2 == 0 and self.t == 4
        return np.array([self.t], np.float32), 1.0, terminated, False, {}


def counter_env(max_steps: int = 6) -> gym.Env:
    return gym.wrappers.TimeLimit(CounterEnv(), max_episode_steps=max_steps)


class ValueIsObs(RLModule):
    """V(s) = s exactly, uniform policy: bootstrap values can be checked by hand."""

    def setup(self):
        self.dummy = nn.Parameter(torch.zeros(()))

    def _forward(self, batch, **kwargs):
        obs = batch[Columns.OBS].float()
        return {Columns.ACTION_DIST_INPUTS: torch.zeros(obs.shape[0], 2) + self.dummy, Columns.VF_PREDS: obs[:, 0]}


def value_is_obs():
    return ValueIsObs(observation_space=CounterEnv.observation_space, action_space=CounterEnv.action_space)


def vector_counter(mode, n=3, max_steps=6):
    return gym.vector.SyncVectorEnv([lambda: counter_env(max_steps)] * n, autoreset_mode=mode)


def assert_bootstrap_is_next_obs(r: Rollout):
    """V(s_{t+1}) = t+1 for every row, 0 where terminated (truncated rows: V(final obs) = limit)."""
    expected = np.where(r[Columns.TERMINATEDS], 0.0, r[Columns.T] + 1.0)
    np.testing.assert_array_equal(r[Columns.VALUES_BOOTSTRAPPED], expected)
    np.testing.assert_array_equal(r[Columns.OBS][:, 0], r[Columns.T])  # obs matches the step counter


# ------------------------------------------------------------------ single env


def test_single_env_records_every_forward_output():
    env = gym.make("CartPole-v1")
    module = make(TinyActorCritic, env)
    r = rollout(module, env, num_steps=120, seed=0)
    assert len(r) == 120
    assert r[Columns.OBS].shape == (120, 4) and r[Columns.OBS].dtype == np.float32
    assert r[Columns.ACTION_DIST_INPUTS].shape == (120, 2)
    for col in (Columns.ACTIONS, Columns.REWARDS, Columns.TERMINATEDS, Columns.TRUNCATEDS, Columns.EPS_ID,
                Columns.T, Columns.ACTION_LOGP, Columns.ACTION_PROB, Columns.VF_PREDS, Columns.ENTROPY,
                Columns.GREEDY_ACTIONS, Columns.VALUES_BOOTSTRAPPED, Columns.ENV_INDEX):
        assert r[col].shape == (120,), col
    probs = r["action_dist_probs"]
    assert probs.shape == (120, 2)
    np.testing.assert_allclose(probs.sum(1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(r[Columns.ACTION_PROB], probs[np.arange(120), r[Columns.ACTIONS]], rtol=1e-5)
    np.testing.assert_allclose(r[Columns.ACTION_LOGP], np.log(r[Columns.ACTION_PROB]), rtol=1e-5)
    np.testing.assert_array_equal(r[Columns.GREEDY_ACTIONS], probs.argmax(1))
    np.testing.assert_allclose(r[Columns.ENTROPY], -(probs * np.log(probs)).sum(1), rtol=1e-5)
    # The recorded outputs are the module's outputs on the recorded observations.
    out = module.forward_exploration({Columns.OBS: r[Columns.OBS]})
    np.testing.assert_allclose(r[Columns.ACTION_DIST_INPUTS], out[Columns.ACTION_DIST_INPUTS].numpy(), atol=1e-6)
    np.testing.assert_allclose(r[Columns.VF_PREDS], out[Columns.VF_PREDS].numpy(), atol=1e-6)
    # Episodes: t counts from 0, episodes follow each other, each ended one is terminated.
    starts = np.flatnonzero(r[Columns.T] == 0)
    assert starts[0] == 0 and len(starts) == r.num_episodes
    ends = np.flatnonzero(r[Columns.TERMINATEDS])
    np.testing.assert_array_equal(ends + 1, starts[1:])


def test_columns_are_attributes_and_rows_select():
    r = rollout(make(TinyActorCritic, gym.make("CartPole-v1")), "CartPole-v1", num_steps=60, seed=1)
    np.testing.assert_array_equal(r.eps_id, r[Columns.EPS_ID])
    sub = r[r.eps_id == r.episode_ids[1]]
    assert isinstance(sub, Rollout) and (sub.t == np.arange(len(sub))).all()
    ep = r.episode(1)
    np.testing.assert_array_equal(ep[Columns.OBS], sub[Columns.OBS])
    assert len(r[:10]) == 10 and len(r[np.array([0, 3])]) == 2
    with pytest.raises(KeyError, match="Rollout has no column 'nope'. Available columns"):
        r["nope"]
    with pytest.raises(IndexError, match="out of range: this rollout has"):
        r.episode(10_000)


def test_rollout_is_a_mapping_of_columns_with_a_notebook_repr():
    r = rollout(make(TinyActorCritic, gym.make("CartPole-v1")), "CartPole-v1", num_steps=30, seed=0)
    assert list(r) == r.columns == r.keys() and Columns.OBS in r
    one = r[3]
    assert isinstance(one, Rollout) and len(one) == 1 and one.t[0] == r.t[3]
    assert "Rollout(30 rows" in repr(r)
    assert "<table" in r._repr_html_() and "ended" in r._repr_html_()


def test_dataframe_is_tidy_and_episodes_table():
    r = rollout(make(TinyActorCritic, gym.make("CartPole-v1")), "CartPole-v1", num_episodes=3, seed=2)
    df = r.to_dataframe(gamma=0.9, lambda_=0.8)
    assert len(df) == len(r)
    for col in ("obs[0]", "obs[3]", "actions", "rewards", "vf_preds", "action_dist_probs[1]", "entropy",
                "greedy_actions", Columns.RETURNS_TO_GO, Columns.ADVANTAGES, "eps_id", "t"):
        assert col in df.columns, col
    np.testing.assert_allclose(df[Columns.RETURNS_TO_GO], r.returns(0.9))
    eps = r.episodes()
    assert list(eps.columns) == ["eps_id", "env_index", "start_t", "length", "return", "ended", "terminated", "truncated"]
    assert eps["terminated"].all() and not eps["truncated"].any()
    assert eps["ended"].tolist() == ["terminated"] * 3
    assert eps["length"].sum() == len(r)
    np.testing.assert_allclose(eps["return"], [r.episode(i)[Columns.REWARDS].sum() for i in range(3)])
    # Undiscounted return-to-go at t = 0 is the episode return.
    np.testing.assert_allclose(r.returns(1.0)[r.t == 0], eps["return"])


def test_wide_columns_stay_arrays():
    env = gym.make("CartPole-v1")
    r = rollout(make(TinyGRU, env), env, num_steps=20, seed=0)
    df = r.to_dataframe(max_width=4)
    assert df.attrs["array_columns"] == [Columns.STATE_IN, "action_dist_inputs"] or df.attrs["array_columns"] == [Columns.STATE_IN]
    assert "state_in/h[0]" not in df.columns and "state_in/h[0]" in r.to_dataframe().columns
    assert r[Columns.STATE_IN]["h"].shape == (20, 8)


def test_advantages_match_compute_gae_on_the_trajectory():
    env = gym.make("CartPole-v1", max_episode_steps=15)  # truncations as well as terminations
    r = rollout(make(TinyActorCritic, env), env, num_steps=100, seed=3)
    assert r[Columns.TRUNCATEDS].any()
    expected = compute_gae(r.rewards, r.vf_preds, r.terminateds, r.truncateds, r.values_bootstrapped, 0.95, 0.9)
    np.testing.assert_allclose(r.advantages(0.95, 0.9), expected, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(r.value_targets(0.95, 0.9), expected + r.vf_preds, rtol=1e-6, atol=1e-6)
    # Row selections keep trajectories apart: one episode on its own gives the same numbers.
    ep = r.eps_id == r.episode_ids[2]
    np.testing.assert_allclose(r[ep].advantages(0.95, 0.9), r.advantages(0.95, 0.9)[ep], rtol=1e-6, atol=1e-6)


def test_policy_without_value_head():
    env = gym.make("CartPole-v1")
    r = rollout(make(PolicyOnly, env), env, num_steps=30, seed=0)
    assert Columns.VF_PREDS not in r and Columns.VALUES_BOOTSTRAPPED not in r
    assert r.returns(0.99).shape == (30,)
    with pytest.raises(KeyError, match="needs value predictions, but the module's forward pass returned no"):
        r.advantages()


def test_continuous_actions_record_mean_and_std():
    env = gym.make("Pendulum-v1")
    r = rollout(make(TinyActorCritic, env), env, num_steps=40, seed=0)
    assert r[Columns.ACTIONS].shape == (40, 1)
    assert r["action_dist_mean"].shape == (40, 1) and (r["action_dist_std"] > 0).all()
    np.testing.assert_allclose(r[Columns.GREEDY_ACTIONS], np.clip(r["action_dist_mean"], -2, 2), rtol=1e-6)


def test_dict_observations_come_back_as_dicts():
    env = gym.wrappers.FilterObservation(
        gym.wrappers.TransformObservation(
            gym.make("CartPole-v1"),
            lambda o: {"pos": o[:2], "vel": o[2:]},
            gym.spaces.Dict({"pos": gym.spaces.Box(-np.inf, np.inf, (2,), np.float32),
                             "vel": gym.spaces.Box(-np.inf, np.inf, (2,), np.float32)}),
        ),
        ["pos", "vel"],
    )
    module = RLModuleSpec(observation_space=env.observation_space, action_space=env.action_space).build()
    r = rollout(module, env, num_steps=25, seed=0)
    assert set(r[Columns.OBS]) == {"pos", "vel"} and r[Columns.OBS]["vel"].shape == (25, 2)
    assert "obs/pos[1]" in r.to_dataframe().columns


# ------------------------------------------------------------------ bootstrapping, vector envs, continuation


def test_single_env_bootstrap_values():
    r = rollout(value_is_obs(), counter_env(), num_steps=40, seed=0)
    assert r.terminateds.any() and r.truncateds.any() and not r.terminateds[-1]
    assert_bootstrap_is_next_obs(r)


@pytest.mark.parametrize("mode", MODES, ids=lambda m: m.value)
def test_vector_env_rows_and_bootstrap(mode):
    envs = vector_counter(mode)
    runner = EnvRunner(value_is_obs(), envs, seed=0)
    parts = [runner.sample(num_steps=31) for _ in range(3)]
    for r in parts:
        assert 31 <= len(r) < 31 + 3  # a runner keeps every transition; rollout() trims
        assert_bootstrap_is_next_obs(r)
        # Sub-env by sub-env, each in time order.
        env_index = r[Columns.ENV_INDEX]
        assert (np.diff(env_index) >= 0).all() and set(env_index) == {0, 1, 2}
    whole = Rollout.concat(parts)
    assert_bootstrap_is_next_obs(whole)
    for eid in whole.episode_ids:  # episodes continue across samples with consecutive t
        t = np.sort(whole.t[whole.eps_id == eid])
        np.testing.assert_array_equal(t, np.arange(t[0], t[0] + len(t)))
    eps = whole.episodes()
    assert set(eps["ended"]) == {"terminated", "truncated", "running"}
    assert (eps.loc[eps["ended"] == "truncated", "length"] == 6).all()
    assert (eps.loc[eps["ended"] == "terminated", "length"] == 4).all()


@pytest.mark.parametrize("mode", MODES, ids=lambda m: m.value)
def test_vector_env_advantages_per_sub_env(mode):
    envs = vector_counter(mode, n=2)
    r = rollout(value_is_obs(), envs, num_steps=41, seed=0)
    assert len(r) == 41  # exactly, the surplus of the last step trimmed
    assert_bootstrap_is_next_obs(r)
    adv = r.advantages(0.9, 0.8)
    for i in range(2):
        rows = r.env_index == i
        sub = r[rows]
        expected = compute_gae(sub.rewards, sub.vf_preds, sub.terminateds, sub.truncateds, sub.values_bootstrapped, 0.9, 0.8)
        np.testing.assert_allclose(adv[rows], expected, rtol=1e-6)


def test_continuing_equals_one_long_sample():
    env = gym.make("CartPole-v1")
    module = make(TinyActorCritic, env)
    runner = EnvRunner(module, env, seed=5)
    joined = Rollout.concat([runner.sample(num_steps=37), runner.sample(num_steps=63)])
    long = rollout(module, gym.make("CartPole-v1"), num_steps=100, seed=5)
    for col in long.columns:
        np.testing.assert_array_equal(joined[col], long[col], err_msg=col)


def test_num_episodes_gives_whole_episodes_spread_over_sub_envs():
    envs = gym.make_vec("CartPole-v1", num_envs=4, vectorization_mode="sync")
    module = make(TinyActorCritic, envs)
    r = rollout(module, envs, num_episodes=6, seed=0)
    eps = r.episodes()
    assert len(eps) == 6 and (eps["ended"] == "terminated").all() and (eps["start_t"] == 0).all()
    assert sorted(eps["env_index"].value_counts().tolist()) == [1, 1, 2, 2]
    both = rollout(module, envs, num_episodes=50, num_steps=40, seed=0)  # steps run out first
    assert len(both) == 40


def test_recurrent_state_is_threaded_and_reset():
    env = gym.make("CartPole-v1")
    module = make(TinyGRU, env)
    r = rollout(module, env, num_episodes=3, seed=0)
    h = r[Columns.STATE_IN]["h"]
    first = r.t == 0
    assert first.sum() == 3
    np.testing.assert_array_equal(h[first], 0.0)  # reset at each episode start
    assert np.abs(h[~first]).sum(axis=1).min() > 0  # carried within the episode
    # Row t+1's state is the module's state after row t: re-run step by step.
    state = {"h": torch.zeros(1, 8)}
    for i in range(int(np.flatnonzero(first)[1])):
        np.testing.assert_allclose(h[i], state["h"][0].numpy(), atol=1e-6)
        out = module.forward_exploration({Columns.OBS: r.obs[i : i + 1], Columns.STATE_IN: state})
        state = out[Columns.STATE_OUT]


def test_recurrent_vector_env_resets_rows_of_ended_episodes():
    envs = vector_counter(gym.vector.AutoresetMode.NEXT_STEP)
    module = TinyGRU(observation_space=CounterEnv.observation_space, action_space=CounterEnv.action_space)
    r = rollout(module, envs, num_steps=45, seed=0)
    h = r[Columns.STATE_IN]["h"]
    np.testing.assert_array_equal(h[r.t == 0], 0.0)
    assert np.abs(h[r.t > 0]).sum(axis=1).min() > 0


def test_greedy_rollouts():
    env = gym.make("CartPole-v1")
    module = make(TinyActorCritic, env)
    r = rollout(module, env, num_steps=50, explore=False, seed=0)
    np.testing.assert_array_equal(r[Columns.ACTIONS], r[Columns.GREEDY_ACTIONS])
    assert r.metadata["explore"] is False


def test_default_module_greedy_rollout_still_records_values():
    env = gym.make("CartPole-v1")
    module = RLModuleSpec(observation_space=env.observation_space, action_space=env.action_space).build()
    r = rollout(module, env, num_steps=30, explore=False, seed=0)
    expected = module.compute_values({Columns.OBS: torch.from_numpy(r.obs)}).detach().numpy()
    np.testing.assert_allclose(r[Columns.VF_PREDS], expected, atol=1e-6)


# ------------------------------------------------------------------ frames


def test_frames_recorded_once_as_uint8():
    env = gym.make("CartPole-v1")
    r = rollout(make(TinyActorCritic, env), "CartPole-v1", num_steps=12, seed=0, record_frames=True)
    assert r.frames.dtype == np.uint8 and r.frames.shape == (12, 400, 600, 3)
    np.testing.assert_array_equal(r[Columns.FRAME_INDEX], np.arange(12))
    # The frame shows the state the module saw: replaying the env renders the same picture.
    check = gym.make("CartPole-v1", render_mode="rgb_array")
    check.reset(seed=0)
    np.testing.assert_array_equal(r.frames[0], check.render())
    check.step(int(r.actions[0]))
    np.testing.assert_array_equal(r.frames[1], check.render())


def test_row_selections_keep_only_their_frames():
    env = gym.make("CartPole-v1")
    r = rollout(make(TinyActorCritic, env), "CartPole-v1", num_episodes=2, seed=0, record_frames=True)
    first, rows = r.episode(0), np.array([5, 1, len(r) - 1])
    assert len(first.frames) == len(first)  # an episode's frames, not the whole rollout's
    np.testing.assert_array_equal(first.frames, r.frames[: len(first)])
    picked = r[rows]
    assert len(picked.frames) == 3
    np.testing.assert_array_equal(picked.frames[picked[Columns.FRAME_INDEX]], r.frames[r[Columns.FRAME_INDEX][rows]])


def test_vector_env_frames():
    envs = gym.make_vec("CartPole-v1", num_envs=2, vectorization_mode="sync", render_mode="rgb_array")
    r = rollout(make(TinyActorCritic, envs), envs, num_steps=6, seed=0, record_frames=True)
    assert r.frames.shape == (6, 400, 600, 3)
    assert not np.array_equal(r.frames[r.env_index == 0][0], r.frames[r.env_index == 1][0])


def test_frames_need_rgb_array_env():
    with pytest.raises(ValueError, match="record_frames=True needs an env that renders rgb_array frames"):
        rollout(make(TinyActorCritic, gym.make("CartPole-v1")), gym.make("CartPole-v1"), num_steps=5, record_frames=True)


# ------------------------------------------------------------------ seeds


def test_same_seed_same_rollout_and_global_rng_untouched():
    env = gym.make("CartPole-v1")
    module = make(TinyActorCritic, env)
    torch.manual_seed(123)
    before = torch.get_rng_state()
    a = rollout(module, env, num_steps=80, seed=7)
    assert torch.equal(torch.get_rng_state(), before)
    b = rollout(module, env, num_steps=80, seed=7)
    c = rollout(module, env, num_steps=80, seed=8)
    for col in a.columns:
        np.testing.assert_array_equal(a[col], b[col], err_msg=col)
    assert not np.array_equal(a[Columns.OBS], c[Columns.OBS])


def test_seeded_vector_and_recurrent_rollouts_repeat():
    envs = gym.make_vec("CartPole-v1", num_envs=3, vectorization_mode="sync")
    module = make(TinyGRU, envs)
    a = rollout(module, envs, num_steps=60, seed=3)
    b = rollout(module, envs, num_steps=60, seed=3)
    np.testing.assert_array_equal(a[Columns.ACTIONS], b[Columns.ACTIONS])
    np.testing.assert_array_equal(a[Columns.STATE_IN]["h"], b[Columns.STATE_IN]["h"])


# ------------------------------------------------------------------ errors


def test_num_steps_and_num_episodes_both_missing():
    env = gym.make("CartPole-v1")
    with pytest.raises(TypeError, match="rollout needs num_steps or num_episodes"):  # a TypeError too
        rollout(make(TinyActorCritic, env), "CartPole-v1")
    with pytest.raises(ValueError, match="rollout needs num_steps or num_episodes"):
        rollout(make(TinyActorCritic, env), env)
    with pytest.raises(ValueError, match="num_steps must be a positive int, got 0"):
        rollout(make(TinyActorCritic, env), env, num_steps=0)


def test_observation_space_mismatch_says_which_and_how():
    env = gym.make("CartPole-v1")
    module = make(TinyActorCritic, (gym.spaces.Box(-1, 1, (6,), np.float32), env.action_space))
    with pytest.raises(ObservationError, match=r"observations of env 'CartPole-v1' do not fit TinyActorCritic.*"
                                               r"the observation has shape \(4,\) in the env but \(6,\) in the module"):
        rollout(module, env, num_steps=5)


def test_something_that_is_not_an_env_is_named():
    module = make(TinyActorCritic, gym.make("CartPole-v1"))
    with pytest.raises(TypeError, match=r"rollout needs an env.*got int 123"):
        rollout(module, 123, num_steps=5)


def test_observations_that_break_the_declared_space():
    class Liar(CounterEnv):
        def step(self, action):
            obs, *rest = super().step(action)
            return np.zeros(3, np.float32), *rest

    with pytest.raises(ObservationError, match=r"observations of env Liar do not fit ValueIsObs.*expected obs of shape \(B, 1\).*got \(1, 3\)") as info:
        rollout(value_is_obs(), Liar(), num_steps=5)
    assert str(info.value).count("do not fit") == 1  # said once, not wrapped twice


def test_action_space_mismatch():
    env = gym.make("CartPole-v1")
    module = make(TinyActorCritic, (env.observation_space, gym.spaces.Discrete(3)))
    with pytest.raises(ValueError, match=r"the action space is Discrete\(2\) in the env but Discrete\(3\) in the module"):
        rollout(module, env, num_steps=5)


class OldGymEnv:
    """The pre-gymnasium API: reset() -> obs, step() -> (obs, reward, done, info)."""

    observation_space = gym.spaces.Box(-1, 1, (4,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def __init__(self, new_reset: bool):
        self.new_reset = new_reset

    def reset(self, seed=None):
        obs = np.zeros(4, np.float32)
        return (obs, {}) if self.new_reset else obs

    def step(self, action):
        return np.zeros(4, np.float32), 1.0, False, {}


def test_old_gym_step_api_is_explained():
    module = make(TinyActorCritic, (OldGymEnv.observation_space, OldGymEnv.action_space))
    with pytest.raises(TypeError, match=r"step\(\) returned 4 values, expected 5 .*4-tuple .* old gym API"):
        rollout(module, OldGymEnv(new_reset=True), num_steps=5)
    with pytest.raises(ValueError, match=r"reset\(\) returned ndarray, expected the gymnasium API's \(obs, info\).*old gym API"):
        rollout(module, OldGymEnv(new_reset=False), num_steps=5)


def test_single_agent_env_refuses_policy_mapping():
    env = gym.make("CartPole-v1")
    with pytest.raises(ValueError, match="policy_mapping_fn maps the agents of a multi-agent"):
        rollout(make(TinyActorCritic, env), env, num_steps=5, policy_mapping_fn=lambda a: "x")


class DictActionEnv(gym.Env):
    """Dict observations and Dict actions (a Discrete and a Box part); ends after 7 steps."""

    observation_space = gym.spaces.Dict({"a": gym.spaces.Box(-1, 1, (3,), np.float32), "b": gym.spaces.Discrete(4)})
    action_space = gym.spaces.Dict({"move": gym.spaces.Discrete(3), "force": gym.spaces.Box(-1, 1, (2,), np.float32)})

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.observation_space.seed(seed)
        self.t = 0
        return self.observation_space.sample(), {}

    def step(self, action):
        if not self.action_space.contains(action):
            raise ValueError(f"action {action} outside {self.action_space}")
        self.t += 1
        return self.observation_space.sample(), float(action["move"]), self.t >= 7, False, {}


@pytest.mark.parametrize("num_envs", [1, 2])
def test_structured_actions_and_observations(num_envs):
    env = DictActionEnv() if num_envs == 1 else gym.vector.SyncVectorEnv([DictActionEnv] * num_envs)
    module = RLModuleSpec(observation_space=DictActionEnv.observation_space, action_space=DictActionEnv.action_space).build()
    r = rollout(module, env, num_steps=20, seed=0)
    assert set(r[Columns.ACTIONS]) == {"move", "force"} and r[Columns.ACTIONS]["force"].shape == (20, 2)
    assert r[Columns.GREEDY_ACTIONS]["move"].shape == (20,) and r[Columns.OBS]["b"].dtype == np.int64
    assert {"action_dist_move/probs", "action_dist_force/mean", "action_dist_force/std"} <= set(r.columns)
    np.testing.assert_allclose(r.rewards, r[Columns.ACTIONS]["move"])
    # logp of a Dict action is the sum over its parts.
    dist = module.get_exploration_action_dist_cls().from_logits(torch.from_numpy(r[Columns.ACTION_DIST_INPUTS]))
    logp = dist.logp({k: torch.from_numpy(v) for k, v in r[Columns.ACTIONS].items()})
    np.testing.assert_allclose(r[Columns.ACTION_LOGP], logp.numpy(), rtol=1e-5, atol=1e-6)
    assert r.columns.index(Columns.OBS) < r.columns.index(Columns.REWARDS)
