"""DefaultModelConfig: defaults, dict / dataclass / JSON forms, and every validation error pinned."""

from __future__ import annotations

import dataclasses
import json
import re

import gymnasium as gym
import pytest
import torch

from rlkit import RLModuleSpec
from rlkit.models import DefaultActorCritic, DefaultModelConfig, ModelConfigError, resolve_model_config

OBS = gym.spaces.Box(-1.0, 1.0, (4,))
ACT = gym.spaces.Discrete(2)


def test_defaults_use_rllib_names_and_values():
    cfg = DefaultModelConfig()
    assert cfg.fcnet_hiddens == (256, 256)
    assert cfg.fcnet_activation == "tanh"
    assert cfg.conv_filters is None
    assert cfg.conv_activation == "relu"
    assert cfg.head_fcnet_hiddens == ()
    assert cfg.head_fcnet_activation == "relu"
    assert cfg.vf_share_layers is True
    assert cfg.free_log_std is False
    assert (cfg.use_lstm, cfg.use_gru, cfg.lstm_cell_size, cfg.max_seq_len) == (False, False, 256, 20)
    assert cfg.recurrent_cell is None


def test_sequences_are_normalised_so_lists_and_tuples_compare_equal():
    assert DefaultModelConfig(fcnet_hiddens=[64, 64]) == DefaultModelConfig(fcnet_hiddens=(64, 64))
    assert DefaultModelConfig(conv_filters=[[16, [4, 4], 2]]).conv_filters == ((16, (4, 4), 2),)
    assert DefaultModelConfig(fcnet_activation="ReLU").fcnet_activation == "relu"


def test_dict_round_trip_and_json():
    cfg = DefaultModelConfig(fcnet_hiddens=[32], conv_filters=[[8, 3, 1]], use_gru=True,
                             fcnet_kernel_initializer="orthogonal", fcnet_kernel_initializer_kwargs={"gain": 1.41})
    data = json.loads(json.dumps(cfg.to_dict()))
    assert data["fcnet_hiddens"] == [32]
    assert DefaultModelConfig.from_dict(data) == cfg
    assert resolve_model_config(data) == cfg
    assert resolve_model_config(None) == DefaultModelConfig()
    assert resolve_model_config(cfg) is cfg


@pytest.mark.parametrize("form", ["dict", "dataclass", "json"])
def test_module_keeps_what_the_user_gave_and_the_spec_round_trips(form):
    given = {"fcnet_hiddens": [32, 16], "vf_share_layers": False}
    config = DefaultModelConfig(**given) if form == "dataclass" else given
    spec = RLModuleSpec(observation_space=OBS, action_space=ACT, model_config=config)
    if form == "json":
        spec = RLModuleSpec.from_dict(json.loads(json.dumps(spec.to_dict())))
    module = spec.build()
    assert isinstance(module, DefaultActorCritic)
    assert module.model_config == (config if form != "json" else given)
    assert module.config.fcnet_hiddens == (32, 16)
    assert module.encoder.hidden_sizes == (32, 16) and module.vf_encoder.hidden_sizes == (32, 16)
    rebuilt = RLModuleSpec.from_dict(json.loads(json.dumps(module.get_spec().to_dict()))).build()
    assert rebuilt.config == module.config


def test_frozen_and_replace_revalidates():
    cfg = DefaultModelConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.fcnet_hiddens = (1,)  # type: ignore[misc]
    with pytest.raises(ModelConfigError, match=re.escape("Got [3, -1] instead.")):
        dataclasses.replace(cfg, fcnet_hiddens=[3, -1])


def test_initializers_are_applied():
    cfg = {"fcnet_hiddens": [8], "fcnet_kernel_initializer": "zeros", "fcnet_bias_initializer": "constant",
           "fcnet_bias_initializer_kwargs": {"val": 0.5}, "head_fcnet_kernel_initializer": "ones"}
    module = RLModuleSpec(observation_space=OBS, action_space=ACT, model_config=cfg).build()
    layer = module.encoder[0]
    assert torch.count_nonzero(layer.weight) == 0
    assert torch.all(layer.bias == 0.5)
    assert torch.all(module.pi_head.out.weight == 1.0)


def _msg(entry: str, rule: str, got: str) -> str:
    return re.escape(f"The '{entry}' entry of model_config must be {rule}. Got {got} instead.")


POSITIVE_INTS = "a sequence of positive ints"
ACTIVATION_RULE = "one of ['elu', 'gelu', 'leaky_relu', 'linear', 'relu', 'sigmoid', 'silu', 'softplus', 'swish', 'tanh'] (or None for no activation)"
INIT_RULE = "None (torch's default) or one of ['constant', 'kaiming_normal', 'kaiming_uniform', 'normal', 'ones', 'orthogonal', 'trunc_normal', 'uniform', 'xavier_normal', 'xavier_uniform', 'zeros']"
CONV_RULE = ("None (filters chosen from the image size) or a non-empty list of [out_channels, kernel, stride] "
             "layers (kernel and stride: positive int or [h, w]; optional 4th entry: padding, a non-negative "
             "int, [h, w] or 'same'/'valid')")


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        ({"fcnet_hiddens": [64, 0]}, _msg("fcnet_hiddens", POSITIVE_INTS, "[64, 0]")),
        ({"fcnet_hiddens": 64}, _msg("fcnet_hiddens", POSITIVE_INTS, "64")),
        ({"fcnet_hiddens": "64"}, _msg("fcnet_hiddens", POSITIVE_INTS, "'64'")),
        ({"fcnet_hiddens": [64, True]}, _msg("fcnet_hiddens", POSITIVE_INTS, "[64, True]")),
        ({"head_fcnet_hiddens": [2.5]}, _msg("head_fcnet_hiddens", POSITIVE_INTS, "[2.5]")),
        ({"fcnet_activation": "rleu"}, _msg("fcnet_activation", ACTIVATION_RULE, "'rleu'") + " Did you mean 'relu'\\?"),
        ({"conv_activation": torch.nn.ReLU}, _msg("conv_activation", ACTIVATION_RULE, repr(torch.nn.ReLU)) + re.escape(" Name it as a string, e.g. 'relu', so the config stays JSON.")),
        ({"head_fcnet_activation": 3}, _msg("head_fcnet_activation", ACTIVATION_RULE, "3")),
        ({"conv_filters": [[16, 4]]}, _msg("conv_filters", CONV_RULE, "[[16, 4]]") + re.escape(" Example: [[16, 4, 2], [32, 4, 2]].")),
        ({"conv_filters": []}, _msg("conv_filters", CONV_RULE, "[]")),
        ({"conv_filters": [[16, 0, 1]]}, _msg("conv_filters", CONV_RULE, "[[16, 0, 1]]")),
        ({"conv_filters": [[16, 3, 1, "full"]]}, _msg("conv_filters", CONV_RULE, "[[16, 3, 1, 'full']]")),
        ({"vf_share_layers": "yes"}, _msg("vf_share_layers", "True or False", "'yes'")),
        ({"free_log_std": 1}, _msg("free_log_std", "True or False", "1")),
        ({"use_lstm": None}, _msg("use_lstm", "True or False", "None")),
        ({"use_gru": "no"}, _msg("use_gru", "True or False", "'no'")),
        ({"lstm_cell_size": 0}, _msg("lstm_cell_size", "a positive int", "0")),
        ({"max_seq_len": 2.5}, _msg("max_seq_len", "a positive int", "2.5")),
        ({"log_std_clip_param": -1.0}, _msg("log_std_clip_param", "a positive number", "-1.0")),
        ({"log_std_clip_param": float("nan")}, _msg("log_std_clip_param", "a positive number", "nan")),
        ({"fcnet_kernel_initializer": "orthogonall"}, _msg("fcnet_kernel_initializer", INIT_RULE, "'orthogonall'") + " Did you mean 'orthogonal'\\?"),
        ({"conv_bias_initializer": torch.nn.init.zeros_}, _msg("conv_bias_initializer", INIT_RULE, repr(torch.nn.init.zeros_)) + " Name the torch.nn.init function"),
        ({"head_fcnet_kernel_initializer_kwargs": [1]}, _msg("head_fcnet_kernel_initializer_kwargs", "None or a dict of keyword arguments for the initializer, e.g. {'gain': 1.41}", "[1]")),
        ({"fcnet_bias_initializer_kwargs": {"val": object}}, re.escape("The 'fcnet_bias_initializer_kwargs' entry of model_config must be None or a dict of plain (JSON) keyword arguments")),
        ({"fcnet_kernel_initializer": "orthogonal", "fcnet_kernel_initializer_kwargs": {"gian": 1}},
         re.escape("The 'fcnet_kernel_initializer_kwargs' entry of model_config must be keyword arguments that torch.nn.init.orthogonal_ accepts. Got {'gian': 1} instead")),
        ({"fcnet_bias_initializer": "orthogonal"},
         re.escape("The 'fcnet_bias_initializer' entry of model_config must be an initializer that works on a bias tensor (with kwargs {}). Got 'orthogonal' instead") + ".*Biases are 1-D"),
        ({"use_lstm": True, "use_gru": True},
         re.escape("The 'use_lstm' and 'use_gru' entries of model_config cannot both be True. Got use_lstm=True and use_gru=True instead; pick one recurrent cell.")),
    ],
    ids=lambda v: "-".join(f"{k}={v[k]!r}"[:40] for k in v) if isinstance(v, dict) else "",
)
def test_every_validation_error(kwargs, pattern):
    with pytest.raises(ModelConfigError, match=pattern):
        DefaultModelConfig(**kwargs)
    # The same error from a plain dict, at build time, and it is a ValueError.
    with pytest.raises(ValueError, match=pattern):
        RLModuleSpec(observation_space=OBS, action_space=ACT, model_config=kwargs).build()


def test_every_problem_is_listed_at_once():
    with pytest.raises(ModelConfigError) as info:
        DefaultModelConfig(fcnet_hiddens=[0], lstm_cell_size=-3, fcnet_activation="nope")
    lines = str(info.value).splitlines()
    assert len(lines) == 3
    assert [line.split("'")[1] for line in lines] == ["fcnet_hiddens", "fcnet_activation", "lstm_cell_size"]


def test_unknown_keys_suggest_the_closest():
    with pytest.raises(ModelConfigError, match=re.escape("model_config has an unknown entry 'fcnet_hidden'. Did you mean 'fcnet_hiddens'?")):
        resolve_model_config({"fcnet_hidden": [64]})
    with pytest.raises(ModelConfigError, match=re.escape("model_config has an unknown entry 'zzz'.\nDefaultModelConfig takes: fcnet_hiddens,")):
        resolve_model_config({"zzz": 1})


def test_wrong_model_config_type():
    with pytest.raises(ModelConfigError, match=re.escape("model_config must be None, a dict or a DefaultModelConfig. Got list ([64]) instead.")):
        resolve_model_config([64])


def test_empty_hiddens_are_allowed():
    module = RLModuleSpec(observation_space=OBS, action_space=ACT, model_config={"fcnet_hiddens": []}).build()
    assert module.encoder.output_dim == 4
    assert module.pi_head.input_dim == 4
