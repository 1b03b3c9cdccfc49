"""PPO end to end: training improves CartPole, custom modules, build-time errors, fit, checkpoints."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest
import torch
import torch.nn as nn

from rlkit import Columns, RLModuleSpec, TorchRLModule
from rlkit.algorithms import PPO, AlgorithmConfigError, PPOConfig
from test_reference_snippets import MyModule  # the reference page's module, imports changed only


class PolicyOnly(TorchRLModule):
    def setup(self):
        self.pi = nn.Linear(self.observation_space.shape[0], self.action_space.n)

    def _forward(self, batch, **kwargs):
        return {Columns.ACTION_DIST_INPUTS: self.pi(batch[Columns.OBS])}


class UnsqueezedValue(MyModule):
    def _forward(self, batch, **kwargs):
        h = self.encoder(batch[Columns.OBS])
        return {Columns.ACTION_DIST_INPUTS: self.policy_head(h), Columns.VF_PREDS: self.value_head(h)}


def small_config(seed: int = 0, **training) -> PPOConfig:
    settings = dict(train_batch_size=256, minibatch_size=128, num_epochs=2)
    settings.update(training)
    return (
        PPOConfig()
        .environment("CartPole-v1")
        .env_runners(num_envs_per_env_runner=4)
        .training(**settings)
        .rl_module(model_config={"fcnet_hiddens": [32, 32]})
        .debugging(seed=seed)
    )


def test_train_returns_metrics_and_history():
    algo = small_config().build()
    metrics = algo.train()
    assert metrics["training_iteration"] == 1
    assert 256 <= metrics["num_env_steps_sampled"] == metrics["num_env_steps_sampled_lifetime"] < 256 + 4
    for key in ("episode_return_mean", "episode_len_mean", "num_episodes", "num_env_steps_sampled_per_s",
                "sample_time_s", "learn_time_s", "time_this_iter_s"):
        assert key in metrics, key
    learner = metrics["learners"]["default_policy"]
    for key in ("policy_loss", "vf_loss", "entropy", "kl", "clip_fraction", "vf_explained_var", "grad_norm", "lr"):
        assert math.isfinite(learner[key]), key
    assert metrics["env_runners"]["episode_return_mean"] == metrics["episode_return_mean"]
    algo.train()
    history = algo.history
    assert list(history["training_iteration"]) == [1, 2]
    assert "default_policy/policy_loss" in history.columns
    assert history["num_env_steps_sampled_lifetime"].iloc[-1] == history["num_env_steps_sampled"].sum() >= 512


def test_seeded_runs_are_reproducible_and_independent_of_the_global_rng():
    a = small_config(seed=5).build()
    torch.manual_seed(123)
    first = a.train()
    b = small_config(seed=5).build()
    torch.rand(1000)  # user code between iterations must not change the run
    second = b.train()
    assert first["learners"]["default_policy"]["policy_loss"] == second["learners"]["default_policy"]["policy_loss"]
    assert first["episode_return_mean"] == second["episode_return_mean"]


def test_short_seeded_cartpole_run_improves_the_return():
    algo = PPOConfig().environment("CartPole-v1").debugging(seed=0).build()  # the defaults
    before = algo.evaluate(num_episodes=10)["episode_return_mean"]
    for _ in range(20):  # about 5k env steps, a second or two
        algo.train()
    after = algo.evaluate(num_episodes=10)["episode_return_mean"]
    assert after > before + 100, (before, after)
    returns = algo.history["episode_return_mean"].to_numpy()
    assert returns[-1] > returns[0] + 20


@pytest.mark.slow
def test_defaults_solve_cartpole():
    algo = PPOConfig().environment("CartPole-v1").debugging(seed=1).build()
    history = algo.fit(target_return=475, max_env_steps=60_000, eval_interval=2048, progress=False)
    assert history["evaluation/episode_return_mean"].max() >= 475


def test_reference_page_module_trains_unchanged():
    algo = small_config().rl_module(rl_module_spec=RLModuleSpec(module_class=MyModule)).build()
    module = algo.get_module()
    assert type(module) is MyModule and module.observation_space == gym.make("CartPole-v1").observation_space
    before = {k: v.clone() for k, v in module.state_dict().items()}
    metrics = algo.train()
    assert all(not torch.equal(before[k], v) for k, v in module.state_dict().items())
    assert math.isfinite(metrics["learners"]["default_policy"]["vf_loss"])


def test_module_without_value_output_fails_at_build_with_the_fix():
    config = small_config().rl_module(rl_module_spec=RLModuleSpec(module_class=PolicyOnly))
    with pytest.raises(AlgorithmConfigError, match=r"PPO needs a value output.*Columns\.VF_PREDS.*Add a value head"):
        config.build()


class ValueOnlyInTraining(MyModule):
    def _forward(self, batch, **kwargs):
        return {Columns.ACTION_DIST_INPUTS: self.policy_head(self.encoder(batch[Columns.OBS]))}

    def _forward_train(self, batch, **kwargs):
        return MyModule._forward(self, batch)


def test_module_without_value_output_while_sampling_fails_at_build():
    # The sampler records V(s_t) from forward_exploration for GAE: without it, build() says so
    # (instead of train() failing later in Rollout.advantages with a KeyError).
    config = small_config().rl_module(rl_module_spec=RLModuleSpec(module_class=ValueOnlyInTraining))
    with pytest.raises(AlgorithmConfigError, match=r"value output while sampling.*forward_exploration\(\).*VF_PREDS"):
        config.build()


def test_value_output_of_the_wrong_shape_fails_at_build():
    config = small_config().rl_module(rl_module_spec=RLModuleSpec(module_class=UnsqueezedValue))
    with pytest.raises(AlgorithmConfigError, match=r"VF_PREDS of shape \(B,\).*returned \(2, 1\).*squeeze\(-1\)"):
        config.build()


def test_inference_only_spec_and_multi_spec_on_single_agent_env_fail_at_build():
    with pytest.raises(AlgorithmConfigError, match="inference-only .* cannot be trained"):
        small_config().rl_module(rl_module_spec=RLModuleSpec(inference_only=True)).build()
    from rlkit import MultiRLModuleSpec

    multi = MultiRLModuleSpec(rl_module_specs={"a": RLModuleSpec()})
    with pytest.raises(AlgorithmConfigError, match="MultiRLModuleSpec, but 'CartPole-v1' is a single-agent env"):
        small_config().rl_module(rl_module_spec=multi).build()


def test_continuous_actions_train():
    config = (PPOConfig().environment("Pendulum-v1").env_runners(num_envs_per_env_runner=2)
              .training(train_batch_size=128, minibatch_size=64, num_epochs=1).debugging(seed=0))
    metrics = config.build().train()
    assert math.isfinite(metrics["learners"]["default_policy"]["policy_loss"])


def test_recurrent_default_module_trains_on_masked_sequences():
    config = small_config(train_batch_size=128, minibatch_size=64, num_epochs=1).rl_module(
        model_config={"fcnet_hiddens": [16], "use_lstm": True, "lstm_cell_size": 8, "max_seq_len": 10}
    )
    algo = config.build()
    assert algo.get_module().is_stateful()
    before = {k: v.clone() for k, v in algo.get_module().state_dict().items()}
    metrics = algo.train()
    assert math.isfinite(metrics["learners"]["default_policy"]["total_loss"])
    assert any(not torch.equal(before[k], v) for k, v in algo.get_module().state_dict().items())


def test_evaluate_and_get_module():
    algo = small_config().build()
    result = algo.evaluate(num_episodes=3)
    assert result["num_episodes"] == 3 and len(result["episode_returns"]) == 3
    assert result["episode_return_min"] <= result["episode_return_mean"] <= result["episode_return_max"]
    assert algo.get_module() is algo.get_module("default_policy")
    with pytest.raises(KeyError, match="Available module ids"):
        algo.get_module("nope")
    assert algo.iteration == 0  # evaluation is not training


def test_fit_with_only_a_target_gets_a_default_budget(monkeypatch):
    import rlkit.algorithms.fit as fit_module

    monkeypatch.setattr(fit_module, "DEFAULT_MAX_ENV_STEPS", 256)
    algo = small_config().build()
    history = algo.fit(target_return=1e9, progress=False)  # never reached: the default budget stops it
    assert 256 <= algo.num_env_steps_sampled_lifetime < 1024 and len(history) >= 1


def test_fit_stops_at_budget_target_or_callback():
    algo = small_config().build()
    calls = []
    history = algo.fit(max_env_steps=512, callback=lambda df: calls.append(len(df)), progress=False)
    assert len(history) == 2 and calls == [1, 2]
    history = algo.fit(target_return=-1.0, max_iterations=5, progress=False)  # reached at once
    assert len(history) == 3
    history = algo.fit(max_iterations=5, callback=lambda df: True, progress=False)  # callback stops
    assert len(history) == 4
    history = algo.fit(target_return=1e9, max_iterations=1, eval_interval=1, eval_episodes=2, progress=True)
    assert "evaluation/episode_return_mean" in history.columns
    with pytest.raises(ValueError, match="fit\\(\\) needs a target or a budget"):
        algo.fit()
    with pytest.raises(ValueError, match="max_env_steps must be a positive number"):
        algo.fit(max_env_steps=0)


def test_checkpoint_resumes_with_identical_next_iteration_metrics(tmp_path):
    algo = small_config(seed=11).build()
    for _ in range(3):
        algo.train()
    path = algo.save_to_path(tmp_path / "algo")
    expected = [algo.train() for _ in range(2)]
    restored = PPO.from_checkpoint(path)
    assert restored.iteration == 3 and len(restored.history) == 3
    got = [restored.train() for _ in range(2)]
    for e, g in zip(expected, got):
        for key in ("episode_return_mean", "num_episodes", "num_env_steps_sampled_lifetime", "training_iteration"):
            assert e[key] == g[key], key
        assert e["learners"] == g["learners"]
    for (k, v), (k2, v2) in zip(algo.get_module().state_dict().items(), restored.get_module().state_dict().items()):
        assert torch.equal(v, v2), k


def test_checkpoint_of_a_notebook_module_needs_the_class_again(tmp_path):
    algo = small_config().rl_module(rl_module_spec=RLModuleSpec(module_class=MyModule)).build()
    algo.train()
    path = algo.save_to_path(tmp_path / "algo")
    restored = PPO.from_checkpoint(path, module_class=MyModule)
    assert type(restored.get_module()) is MyModule
    for k, v in algo.get_module().state_dict().items():
        assert torch.equal(v, restored.get_module().state_dict()[k])


def test_restoring_a_module_checkpoint_as_an_algorithm_is_refused(tmp_path):
    module = RLModuleSpec(observation_space=gym.spaces.Box(-1, 1, (4,)), action_space=gym.spaces.Discrete(2)).build()
    path = module.save_to_path(tmp_path / "module")
    with pytest.raises(ValueError, match="not an algorithm checkpoint"):
        PPO.from_checkpoint(path)


def test_env_factory_and_class_with_env_config():
    def factory(config):
        return gym.make("CartPole-v1", max_episode_steps=config["limit"])

    algo = small_config().environment(factory, env_config={"limit": 20}).build()
    algo.train()
    assert algo.history["episode_len_mean"].iloc[-1] <= 20
    from gymnasium.envs.classic_control import CartPoleEnv

    algo = small_config().environment(CartPoleEnv, env_config={"sutton_barto_reward": True}).build()
    assert np.isfinite(algo.train()["learners"]["default_policy"]["policy_loss"])


def test_rllib_style_env_class_gets_env_config_as_one_dict():
    # RLlib's custom-env idiom: MyEnv(config) / MyEnv(config=None), config a dict.
    seen = []

    class RLlibStyle(gym.Wrapper):
        def __init__(self, config=None):
            seen.append(config)
            super().__init__(gym.make("CartPole-v1", max_episode_steps=(config or {}).get("limit", 500)))

    class Required(RLlibStyle):
        def __init__(self, config):
            super().__init__(config)

    for env_cls in (RLlibStyle, Required):
        seen.clear()
        small_config().environment(env_cls, env_config={"limit": 20}).build()
        assert seen and all(c == {"limit": 20} for c in seen)


# ---------------------------------------------------------------- multi-agent


def grid_chase_config(**multi_agent) -> PPOConfig:
    from rlkit.rollouts import GridChase

    return (
        PPOConfig()
        .environment(GridChase, env_config={"size": 4, "max_steps": 12})
        .multi_agent(**multi_agent)
        .training(train_batch_size=96, minibatch_size=48, num_epochs=2)
        .rl_module(model_config={"fcnet_hiddens": [16]})
        .debugging(seed=0)
    )


def snapshot(module):
    return {k: v.clone() for k, v in module.state_dict().items()}


def changed(before, module):
    return any(not torch.equal(before[k], v) for k, v in module.state_dict().items())


def test_multi_agent_two_policies_both_update():
    algo = grid_chase_config(policies=["chaser", "runner"], policy_mapping_fn=lambda agent_id, *args, **kwargs: agent_id).build()
    before = {mid: snapshot(m) for mid, m in algo.module.items()}
    metrics = algo.train()
    assert set(metrics["learners"]) == {"chaser", "runner"}
    assert all(changed(before[mid], algo.get_module(mid)) for mid in ("chaser", "runner"))
    assert metrics["num_env_steps_sampled"] == 96 and metrics["num_agent_steps_sampled_lifetime"] == 192
    assert set(metrics["module_episode_return_mean"]) == {"chaser", "runner"}
    history = algo.history
    assert {"chaser/policy_loss", "runner/policy_loss", "runner/episode_return_mean"} <= set(history.columns)
    with pytest.raises(ValueError, match="pass one: algo.get_module"):
        algo.get_module()
    assert set(algo.evaluate(num_episodes=2)["module_episode_return_mean"]) == {"chaser", "runner"}


def test_multi_agent_shared_policy_and_policies_to_train():
    shared = grid_chase_config(policies=["shared"], policy_mapping_fn=lambda agent_id: "shared").build()
    assert list(shared.module.keys()) == ["shared"]
    assert set(shared.train()["learners"]) == {"shared"}
    frozen = grid_chase_config(policies=["chaser", "runner"], policy_mapping_fn=lambda agent_id: agent_id,
                               policies_to_train=["chaser"]).build()
    before = {mid: snapshot(m) for mid, m in frozen.module.items()}
    assert set(frozen.train()["learners"]) == {"chaser"}
    assert changed(before["chaser"], frozen.get_module("chaser"))
    assert not changed(before["runner"], frozen.get_module("runner"))


def test_multi_agent_mapping_errors_fail_at_build():
    config = grid_chase_config(policies=["chaser", "runner"], policy_mapping_fn=lambda agent_id: "nobody")
    with pytest.raises(AlgorithmConfigError, match=r"policy_mapping_fn\('chaser'\) returned 'nobody', which is not one of the policies"):
        config.build()
    config = grid_chase_config(policies=["chaser", "runner", "extra"], policy_mapping_fn=lambda agent_id: agent_id)
    with pytest.raises(AlgorithmConfigError, match="No agent of the env maps to policy 'extra'"):
        config.build()


def test_multi_agent_checkpoint_resumes_identically(tmp_path, monkeypatch):
    from rlkit.algorithms import ppo_config

    mapping = lambda agent_id, *args: agent_id  # noqa: E731 - a lambda cannot be stored by name
    algo = grid_chase_config(policies=["chaser", "runner"], policy_mapping_fn=mapping).build()
    algo.train()
    path = algo.save_to_path(tmp_path / "ma")
    expected = algo.train()
    same_kernel = PPO.from_checkpoint(path)  # the process that saved the lambda still finds it
    assert same_kernel.config.policy_mapping_fn is mapping
    monkeypatch.setattr(ppo_config, "_SESSION_CALLABLES", {})  # as in a fresh kernel
    with pytest.raises(AlgorithmConfigError, match="Pass it again"):
        PPO.from_checkpoint(path)
    got = PPO.from_checkpoint(path, policy_mapping_fn=mapping).train()
    assert expected["learners"] == got["learners"]
    assert expected["module_episode_return_mean"] == got["module_episode_return_mean"]
    assert same_kernel.train()["learners"] == expected["learners"]


def test_real_pettingzoo_env():
    rps = pytest.importorskip("pettingzoo.classic.rps_v2")
    config = (PPOConfig().environment(lambda: rps.parallel_env(max_cycles=10))
              .multi_agent(policies=["p"], policy_mapping_fn=lambda agent_id: "p")
              .training(train_batch_size=40, minibatch_size=40, num_epochs=1)
              .rl_module(model_config={"fcnet_hiddens": [8]}).debugging(seed=0))
    metrics = config.build().train()
    assert math.isfinite(metrics["learners"]["p"]["policy_loss"])


def test_optional_loss_terms_schedules_and_fragments():
    config = small_config(
        use_kl_loss=True, kl_coeff=0.3, kl_target=1e-6, vf_clip_param=5.0, minibatch_size=None,
        lr=[[0, 1e-3], [512, 5e-4]], entropy_coeff=[[0, 0.02], [512, 0.0]],
    ).env_runners(rollout_fragment_length=16)  # 4 envs x 16 steps: 4 fragments per 256-step batch
    algo = config.build()
    first = algo.train()["learners"]["default_policy"]
    assert first["lr"] == pytest.approx(1e-3) and first["entropy_coeff"] == pytest.approx(0.02)
    assert first["kl_coeff"] == pytest.approx(0.45)  # KL above 2 x target: coefficient x 1.5
    assert first["num_minibatch_updates"] == 2  # whole batch per step, 2 epochs
    assert first["vf_loss"] <= 5.0 <= first["vf_loss_unclipped"]
    second = algo.train()["learners"]["default_policy"]
    assert second["lr"] == pytest.approx(1e-3 - 0.5e-3 * algo.history["num_env_steps_sampled"].iloc[0] / 512)
    assert 256 <= algo.history["num_env_steps_sampled"].iloc[0] < 256 + 4 * 4


@pytest.mark.parametrize("env_id", ["FrozenLake-v1", "Pendulum-v1"])
def test_checkpoint_resume_is_exact_for_other_envs(env_id, tmp_path):
    algo = (PPOConfig().environment(env_id).training(train_batch_size=64, minibatch_size=32, num_epochs=1)
            .debugging(seed=2).build())
    algo.train()
    path = algo.save_to_path(tmp_path / "algo")
    expected = algo.train()
    got = PPO.from_checkpoint(path).train()
    assert expected["learners"] == got["learners"]


class _World:
    def __init__(self):
        self.x = 0.0


class OpaqueStateEnv(gym.Env):
    """An env whose state lives in an object (like a physics engine's world)."""

    observation_space = gym.spaces.Box(-10, 10, (1,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def __init__(self):
        self.world = _World()

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.world.x = 0.0
        return np.zeros(1, np.float32), {}

    def step(self, action):
        self.world.x += 0.1 if action else -0.1
        return np.array([self.world.x], np.float32), 1.0, abs(self.world.x) > 1, False, {}


def test_checkpoint_warns_when_env_state_cannot_be_stored(tmp_path):
    algo = (PPOConfig().environment(OpaqueStateEnv).training(train_batch_size=32, minibatch_size=32, num_epochs=1)
            .debugging(seed=0).build())
    algo.train()
    with pytest.warns(RuntimeWarning, match=r"not plain data.*OpaqueStateEnv.*world \(_World\)"):
        algo.save_to_path(tmp_path / "algo")
