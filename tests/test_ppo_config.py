"""PPOConfig: builder chaining, schedules, JSON round trip, and every error message pinned."""

from __future__ import annotations

import json

import gymnasium as gym
import pytest

from rlkit import MultiRLModuleSpec, RLModuleSpec
from rlkit.algorithms import AlgorithmConfigError, PPOConfig


def test_builder_methods_chain_and_set_rllib_names():
    config = (
        PPOConfig()
        .environment("CartPole-v1", env_config={"max_episode_steps": 100})
        .env_runners(num_envs_per_env_runner=4, rollout_fragment_length=32)
        .training(lr=3e-4, gamma=0.95, lambda_=0.9, clip_param=0.1, vf_clip_param=10.0, vf_loss_coeff=1.0,
                  entropy_coeff=0.01, num_epochs=3, minibatch_size=64, train_batch_size=128, grad_clip=None)
        .debugging(seed=7)
    )
    assert isinstance(config, PPOConfig)
    assert (config.env, config.env_config, config.num_envs_per_env_runner) == ("CartPole-v1", {"max_episode_steps": 100}, 4)
    assert (config.lr, config.gamma, config.lambda_, config.clip_param) == (3e-4, 0.95, 0.9, 0.1)
    assert (config.vf_clip_param, config.vf_loss_coeff, config.entropy_coeff) == (10.0, 1.0, 0.01)
    assert (config.num_epochs, config.minibatch_size, config.train_batch_size, config.grad_clip) == (3, 64, 128, None)
    assert config.seed == 7
    config.validate()
    # settings left out keep their value
    config.training(lr=1e-3)
    assert config.gamma == 0.95 and config.grad_clip is None


def test_copy_is_independent():
    config = PPOConfig().environment("CartPole-v1", env_config={"a": 1})
    other = config.copy().training(lr=0.5)
    other.env_config["a"] = 2
    assert config.lr != 0.5 and config.env_config == {"a": 1}


def test_schedule_is_piecewise_linear_and_held_after_the_last_point():
    config = PPOConfig().environment("CartPole-v1").training(lr=[[0, 1e-3], [1000, 0.0]], entropy_coeff=[[0, 0.1], [10, 0.0], [20, 0.05]])
    config.validate()
    assert config.get_schedule_value("lr", 0) == pytest.approx(1e-3)
    assert config.get_schedule_value("lr", 250) == pytest.approx(7.5e-4)
    assert config.get_schedule_value("lr", 5000) == 0.0
    assert config.get_schedule_value("entropy_coeff", 15) == pytest.approx(0.025)
    assert config.get_schedule_value("entropy_coeff", 10**6) == pytest.approx(0.05)


@pytest.mark.parametrize(
    "method, kwargs, message",
    [
        ("training", {"clip_param": -0.2}, r"The 'clip_param' setting of PPOConfig must be a positive float\. Got -0\.2 instead\."),
        ("training", {"lr": 0}, r"The 'lr' setting of PPOConfig must be a positive float or a schedule .*Got 0 instead\."),
        ("training", {"lr": [[5, 1e-3]]}, r"'lr' setting .* schedule: a list of \[env_step, value\] pairs .*starting at 0"),
        ("training", {"gamma": 1.5}, r"The 'gamma' setting of PPOConfig must be a float in \[0, 1\]\. Got 1\.5 instead\."),
        ("training", {"lambda_": -0.1}, r"The 'lambda_' setting of PPOConfig must be a float in \[0, 1\]\. Got -0\.1 instead\."),
        ("training", {"num_epochs": 0}, r"The 'num_epochs' setting of PPOConfig must be a positive int\. Got 0 instead\."),
        ("training", {"num_epochs": 2.5}, r"'num_epochs' setting of PPOConfig must be a positive int\. Got 2\.5"),
        ("training", {"minibatch_size": 4096}, r"The 'minibatch_size' setting of PPOConfig must be at most train_batch_size \(256\)\. Got 4096"),
        ("training", {"train_batch_size": -1}, r"The 'train_batch_size' setting of PPOConfig must be a positive int\. Got -1"),
        ("training", {"grad_clip": 0}, r"The 'grad_clip' setting of PPOConfig must be a positive float or None\. Got 0"),
        ("training", {"vf_loss_coeff": -1.0}, r"The 'vf_loss_coeff' setting of PPOConfig must be a non-negative float\. Got -1\.0"),
        ("training", {"entropy_coeff": "high"}, r"The 'entropy_coeff' setting of PPOConfig must be a non-negative float or a schedule"),
        ("training", {"normalize_advantages": 1}, r"The 'normalize_advantages' setting of PPOConfig must be True or False\. Got 1"),
        ("training", {"learning_rate": 1e-3}, r"PPOConfig\.training\(\) got an unknown setting 'learning_rate'\. Did you mean 'lr'\?"),
        ("training", {"sgd_minibatch_size": 64}, r"unknown setting 'sgd_minibatch_size'\. Did you mean 'minibatch_size'\?"),
        ("env_runners", {"num_envs_per_env_runner": 0}, r"The 'num_envs_per_env_runner' setting of PPOConfig must be a positive int\. Got 0"),
        ("env_runners", {"rollout_fragment_length": "long"}, r"'rollout_fragment_length' setting of PPOConfig must be 'auto' or a positive int\. Got 'long'"),
        ("env_runners", {"num_env_runners": 2}, r"'num_env_runners' setting of PPOConfig must be 0: rlkit samples in the notebook's own process"),
        ("debugging", {"seed": -3}, r"The 'seed' setting of PPOConfig must be a non-negative int or None\. Got -3"),
        ("rl_module", {"rl_module_spec": dict}, r"'rl_module_spec' setting of PPOConfig must be an RLModuleSpec or MultiRLModuleSpec \(wrap the class"),
        ("multi_agent", {"policies": ["a", "b"]}, r"The 'policy_mapping_fn' setting of PPOConfig must be a function agent_id -> module_id when there are several policies"),
        ("multi_agent", {"policy_mapping_fn": lambda aid, *a: aid}, r"The 'policies' setting of PPOConfig must name the module ids"),
        ("framework", {"torch_num_threads": 0}, r"'torch_num_threads' setting of PPOConfig must be a positive int or None"),
    ],
)
def test_invalid_settings_fail_in_build_naming_the_setting(method, kwargs, message):
    config = PPOConfig().environment("CartPole-v1")
    config = getattr(config, method)(**kwargs)  # the builder itself never raises
    with pytest.raises(AlgorithmConfigError, match=message):
        config.build()


def test_missing_env_and_every_problem_reported_at_once():
    config = PPOConfig().training(clip_param=0, gamma=2)
    with pytest.raises(ValueError) as info:
        config.build()
    text = str(info.value)
    assert "The 'env' setting of PPOConfig must be set with .environment(env)" in text
    assert "'clip_param'" in text and "'gamma'" in text


def test_env_instance_is_refused_with_the_reason():
    with pytest.raises(AlgorithmConfigError, match="an env instance cannot be used"):
        PPOConfig().environment(42).validate()


def test_to_dict_is_json_and_round_trips():
    spec = RLModuleSpec(observation_space=gym.spaces.Box(-1, 1, (3,)), action_space=gym.spaces.Discrete(2),
                        model_config={"fcnet_hiddens": [16]})
    config = (
        PPOConfig().environment("CartPole-v1", env_config={"render_mode": None})
        .training(lr=[[0, 1e-3], [100, 1e-4]], minibatch_size=None)
        .rl_module(rl_module_spec=spec)
        .debugging(seed=3)
    )
    data = json.loads(json.dumps(config.to_dict()))
    back = PPOConfig.from_dict(data)
    assert back.to_dict() == config.to_dict()
    assert back.rl_module_spec == spec and back.minibatch_size is None and back.seed == 3


def test_multi_agent_config_round_trips_with_importable_functions():
    spec = RLModuleSpec(observation_space=gym.spaces.Box(-1, 1, (3,)), action_space=gym.spaces.Discrete(2))
    config = PPOConfig().environment("CartPole-v1").multi_agent(policies={"a": spec, "b": None}, policy_mapping_fn=json.dumps)
    config.rl_module(rl_module_spec=MultiRLModuleSpec(rl_module_specs={"a": spec, "b": spec}))
    back = PPOConfig.from_dict(json.loads(json.dumps(config.to_dict())))
    assert back.policy_mapping_fn is json.dumps
    assert back.policies == {"a": spec, "b": None}
    assert back.rl_module_spec.rl_module_specs == {"a": spec, "b": spec}


def test_unimportable_callables_must_be_passed_again():
    config = PPOConfig().environment(lambda cfg: gym.make("CartPole-v1")).multi_agent(
        policies=["a"], policy_mapping_fn=lambda agent_id, *args: "a"
    )
    data = json.loads(json.dumps(config.to_dict()))
    same_kernel = PPOConfig.from_dict(data)  # the process that saved them still holds them
    assert same_kernel.env is config.env and same_kernel.policy_mapping_fn is config.policy_mapping_fn
    for name in ("env", "policy_mapping_fn"):  # another process (a fresh kernel) does not
        data[name].pop("session_key")
    with pytest.raises(AlgorithmConfigError, match=r"'env' setting .* lambda.*Pass it again: PPO\.from_checkpoint\(path, env=\.\.\.\)"):
        PPOConfig.from_dict(data)
    back = PPOConfig.from_dict(data, env="CartPole-v1", policy_mapping_fn=str)
    assert back.env == "CartPole-v1" and back.policy_mapping_fn is str


def test_callables_defined_in_main_resolve_in_the_same_kernel(monkeypatch):
    # A notebook's env class / mapping function lives in __main__: the kernel that defined it can
    # load the config back (as module classes do), another process is told to pass it again.
    import sys

    def mapping(agent_id, *args):
        return "a"

    mapping.__module__, mapping.__qualname__ = "__main__", "rlkit_test_mapping"
    monkeypatch.setattr(sys.modules["__main__"], "rlkit_test_mapping", mapping, raising=False)
    config = PPOConfig().environment("CartPole-v1").multi_agent(policies=["a"], policy_mapping_fn=mapping)
    data = json.loads(json.dumps(config.to_dict()))
    data["policy_mapping_fn"].pop("session_key")  # found by its name in __main__, not by the session
    assert PPOConfig.from_dict(data).policy_mapping_fn is mapping
    monkeypatch.delattr(sys.modules["__main__"], "rlkit_test_mapping")
    with pytest.raises(AlgorithmConfigError, match=r"'policy_mapping_fn' setting .*Pass it again"):
        PPOConfig.from_dict(data)


def test_multi_agent_settings_on_a_single_agent_env_fail_at_build():
    config = PPOConfig().environment("CartPole-v1").multi_agent(policies={"a"}, policy_mapping_fn=lambda agent_id: "a")
    with pytest.raises(AlgorithmConfigError, match=r"'policies' setting of PPOConfig is for multi-agent.*single-agent env"):
        config.build()


def test_env_that_cannot_be_made_fails_at_build_naming_the_setting():
    with pytest.raises(AlgorithmConfigError, match=r"The 'env' setting of PPOConfig must name an env gymnasium can make\. Got 'CartPol-v1'.*CartPole"):
        PPOConfig().environment("CartPol-v1").build()
    with pytest.raises(AlgorithmConfigError, match=r"env_config=\{'no_such_arg': 1\} failed.*'env_config' setting"):
        PPOConfig().environment("CartPole-v1", env_config={"no_such_arg": 1}).build()
