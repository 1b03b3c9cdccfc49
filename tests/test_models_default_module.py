"""DefaultActorCritic: conformance over the space catalogue, shared / separate critic, inference-only
loading, unsupported spaces, compute_values and act()."""

from __future__ import annotations

import re

import gymnasium as gym
import numpy as np
import pytest
import torch
from space_catalogue import ACTION_SPACES, OBSERVATION_SPACES, UNSUPPORTED_SPACES

from rlkit import Columns, RLModuleSpec, StateMismatchError, check_module
from rlkit.models import DefaultActorCritic, UnsupportedSpaceError
from rlkit.spaces import SUPPORTED_ACTION_SPACES, SUPPORTED_OBSERVATION_SPACES, sample_obs_batch

SMALL = {"fcnet_hiddens": [16], "lstm_cell_size": 8}
BOX4 = gym.spaces.Box(-1.0, 1.0, (4,), np.float32)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def build(obs_space, act_space, inference_only=False, **config):
    return RLModuleSpec(
        observation_space=obs_space, action_space=act_space, inference_only=inference_only,
        model_config={**SMALL, **config},
    ).build()


# ----------------------------------------------------------------------------- the catalogue

PAIRS = [(o, a) for o in OBSERVATION_SPACES for a in ACTION_SPACES]


@pytest.mark.parametrize("obs_id, act_id", PAIRS, ids=[f"{o}--{a}" for o, a in PAIRS])
def test_check_module_over_the_catalogue(obs_id, act_id):
    module = build(OBSERVATION_SPACES[obs_id], ACTION_SPACES[act_id])
    assert isinstance(module, DefaultActorCritic)
    assert check_module(module).ok


# Each variant over every observation space (Discrete actions) and every action space (Box obs).
VARIANT_PAIRS = [(o, "discrete") for o in OBSERVATION_SPACES] + [("box1d", a) for a in ACTION_SPACES if a != "discrete"]
VARIANTS = {
    "separate-critic": {"vf_share_layers": False},
    "lstm": {"use_lstm": True},
    "gru-separate": {"use_gru": True, "vf_share_layers": False},
    "head-hiddens": {"head_fcnet_hiddens": [8, 8], "fcnet_activation": "relu"},
    "inference-only": {"inference_only": True},
    "inference-only-lstm-separate": {"inference_only": True, "use_lstm": True, "vf_share_layers": False},
}


@pytest.mark.parametrize("variant", VARIANTS.values(), ids=VARIANTS.keys())
@pytest.mark.parametrize("obs_id, act_id", VARIANT_PAIRS, ids=[f"{o}--{a}" for o, a in VARIANT_PAIRS])
def test_check_module_variants(obs_id, act_id, variant):
    variant = dict(variant)
    inference_only = variant.pop("inference_only", False)
    module = build(OBSERVATION_SPACES[obs_id], ACTION_SPACES[act_id], inference_only, **variant)
    assert check_module(module).ok


@pytest.mark.parametrize("act_id", ["box1d", "box2d", "tuple", "dict", "nested"])
def test_free_log_std_for_every_action_space_with_a_box(act_id):
    module = build(BOX4, ACTION_SPACES[act_id], free_log_std=True)
    assert check_module(module).ok
    assert "pi_head.log_std.free_log_std" in module.state_dict()


def test_spec_without_module_class_builds_the_default_module():
    module = RLModuleSpec(observation_space=BOX4, action_space=gym.spaces.Discrete(2)).build()
    assert type(module) is DefaultActorCritic
    assert module.config.fcnet_hiddens == (256, 256)
    assert module.model_config == {}
    text = repr(module)
    assert text.startswith("DefaultActorCritic(\n  observation_space=Box(-1.0, 1.0, (4,), float32), "
                           "action_space=Discrete(2), value function: shared encoder")


# ----------------------------------------------------------------------------- unsupported spaces

SUPPORTED_OBS = ", ".join(SUPPORTED_OBSERVATION_SPACES)  # Box, Discrete, MultiDiscrete, MultiBinary, Dict, Tuple
SUPPORTED_ACT = ", ".join(SUPPORTED_ACTION_SPACES)


@pytest.mark.parametrize("space", UNSUPPORTED_SPACES.values(), ids=UNSUPPORTED_SPACES.keys())
def test_unsupported_observation_spaces_fail_at_build(space):
    name = type(space).__name__
    with pytest.raises(UnsupportedSpaceError, match=re.escape(
        f"DefaultActorCritic cannot encode the observation space {space}: {name} is not supported. "
        f"Supported observation spaces: {SUPPORTED_OBS} (Dict and Tuple may nest the others).")):
        RLModuleSpec(observation_space=space, action_space=gym.spaces.Discrete(2)).build()
    nested = gym.spaces.Dict({"ok": BOX4, "bad": gym.spaces.Tuple((gym.spaces.Discrete(2), space))})
    with pytest.raises(ValueError, match=re.escape(
        f"DefaultActorCritic cannot encode the observation space {space} at obs['bad'][1] of {nested}: "
        f"{name} is not supported. Supported observation spaces: {SUPPORTED_OBS}")):
        RLModuleSpec(observation_space=nested, action_space=gym.spaces.Discrete(2)).build()


@pytest.mark.parametrize("space", UNSUPPORTED_SPACES.values(), ids=UNSUPPORTED_SPACES.keys())
def test_unsupported_action_spaces_fail_at_build(space):
    with pytest.raises(UnsupportedSpaceError, match=re.escape(
        f"DefaultActorCritic cannot act in the action space {space}: {type(space).__name__} is not supported. "
        f"Supported action spaces: {SUPPORTED_ACT} (Box with a float dtype; Dict and Tuple may nest the others).")):
        RLModuleSpec(observation_space=BOX4, action_space=space).build()


def test_integer_box_actions_and_empty_spaces_are_explained():
    with pytest.raises(UnsupportedSpaceError, match=re.escape(
        "cannot act in the action space Box(0, 3, (2,), int64): a Box action space needs a float dtype, not int64")):
        build(BOX4, gym.spaces.Box(0, 3, (2,), np.int64))
    with pytest.raises(UnsupportedSpaceError, match=re.escape(
        "cannot encode the observation space Dict() at obs['x'] of Dict('x': Dict(), 'y': Box(")):
        build(gym.spaces.Dict({"x": gym.spaces.Dict({}), "y": BOX4}), gym.spaces.Discrete(2))


# ----------------------------------------------------------------------------- shared / separate critic


def test_shared_critic_trains_the_encoder_separate_critic_does_not():
    obs = torch.randn(5, 4)
    for shared in (True, False):
        module = build(BOX4, gym.spaces.Discrete(2), vf_share_layers=shared)
        out = module.forward_train({Columns.OBS: obs})
        out[Columns.VF_PREDS].sum().backward()
        encoder_grad = module.encoder[0].weight.grad
        assert (encoder_grad is not None and bool(encoder_grad.abs().sum() > 0)) is shared
        if not shared:
            assert module.vf_encoder[0].weight.grad.abs().sum() > 0
        assert module.get_non_inference_attributes() == (["vf_head"] if shared else ["vf_encoder", "vf_head"])


def test_forward_passes_and_compute_values():
    module = build(OBSERVATION_SPACES["dict"], gym.spaces.Discrete(3), vf_share_layers=False)
    batch = {Columns.OBS: sample_obs_batch(module.observation_space, 7)}
    train = module.forward_train(batch)
    assert train[Columns.ACTION_DIST_INPUTS].shape == (7, 3)
    assert train[Columns.VF_PREDS].shape == (7,)
    assert train[Columns.EMBEDDINGS].shape == (7, 16)
    explore = module.forward_exploration(batch)
    torch.testing.assert_close(explore[Columns.VF_PREDS], train[Columns.VF_PREDS])
    # Every pass predicts values; act() asks for the policy only (values=False).
    inference = module.forward_inference(batch)
    torch.testing.assert_close(inference[Columns.VF_PREDS], train[Columns.VF_PREDS])
    assert Columns.VF_PREDS not in module.forward_inference(batch, values=False)
    torch.testing.assert_close(inference[Columns.ACTION_DIST_INPUTS], train[Columns.ACTION_DIST_INPUTS])
    with torch.no_grad():
        torch.testing.assert_close(module.compute_values(batch), train[Columns.VF_PREDS])
    shared = build(BOX4, gym.spaces.Discrete(3))
    out = shared.forward_train({Columns.OBS: torch.randn(4, 4)})
    values = shared.compute_values({Columns.OBS: torch.zeros(4, 4)}, embeddings=out[Columns.EMBEDDINGS])
    torch.testing.assert_close(values, out[Columns.VF_PREDS])


# ----------------------------------------------------------------------------- inference-only


@pytest.mark.parametrize("config", [{}, {"vf_share_layers": False}, {"use_lstm": True, "vf_share_layers": False}],
                         ids=["shared", "separate", "lstm-separate"])
def test_inference_only_loads_the_state_of_a_full_module(config):
    space = OBSERVATION_SPACES["nested"]
    full = build(space, ACTION_SPACES["tuple"], **config)
    small = build(space, ACTION_SPACES["tuple"], inference_only=True, **config)
    critic = tuple(f"{a}." for a in full.get_non_inference_attributes())
    assert small.get_non_inference_attributes() == full.get_non_inference_attributes()
    assert all(not hasattr(small, a) for a in full.get_non_inference_attributes())
    assert not any(k.startswith(critic) for k in small.state_dict())
    assert any(k.startswith(critic) for k in full.state_dict())

    obs = sample_obs_batch(space, 4)

    def batch_for(module):
        state = {k: v.expand(4, -1) for k, v in module.get_initial_state().items()}
        return {Columns.OBS: obs, Columns.STATE_IN: state} if state else {Columns.OBS: obs}

    if full.is_stateful():
        assert set(small.get_initial_state()) == {"h", "c"}
        assert set(full.get_initial_state()) == {"h", "c", "vf_h", "vf_c"}
    logits = lambda m: m.forward_inference(batch_for(m))[Columns.ACTION_DIST_INPUTS]  # noqa: E731
    assert not torch.equal(logits(full), logits(small))  # two fresh modules differ ...
    small.load_state_dict(full.state_dict())  # ... the critic keys are dropped by name ...
    torch.testing.assert_close(logits(small), logits(full))  # ... and then they agree
    small.set_state({"module_state": full.get_state()})
    with pytest.raises(RuntimeError, match="forward_train\\(\\) was called on an inference-only"):
        small.forward_train(batch_for(small))
    with pytest.raises(RuntimeError, match="compute_values\\(\\) was called on an inference-only DefaultActorCritic"):
        small.compute_values(batch_for(small))


def test_a_real_mismatch_lists_every_key_with_both_shapes():
    full = build(BOX4, gym.spaces.Discrete(2), fcnet_hiddens=[16, 8])
    other = build(BOX4, gym.spaces.Discrete(3), inference_only=True, fcnet_hiddens=[16])
    with pytest.raises(StateMismatchError) as info:
        other.load_state_dict(full.state_dict())
    assert str(info.value) == (
        "The weights in the state dict do not fit DefaultActorCritic:\n"
        "  unexpected keys (in the state dict, not in the module): encoder.2.weight, encoder.2.bias\n"
        "  size mismatch for pi_head.out.weight: shape [2, 8] in the state dict, the shape in the current module is [3, 16]\n"
        "  size mismatch for pi_head.out.bias: shape [2] in the state dict, the shape in the current module is [3]\n"
        "Build the module with the same spaces and model_config as the one that was saved "
        "(rlkit.inspect_checkpoint shows them), or rebuild it with RLModule.from_checkpoint()."
    )
    # The other way round: an inference-only state lacks the critic a full module needs.
    small = build(BOX4, gym.spaces.Discrete(2), inference_only=True, fcnet_hiddens=[16, 8])
    with pytest.raises(StateMismatchError, match=re.escape(
        "missing keys (in the module, not in the state dict): vf_head.out.weight, vf_head.out.bias")):
        full.load_state_dict(small.state_dict())


# ----------------------------------------------------------------------------- act()


def test_act_single_and_batched_and_box_bounds():
    space = gym.spaces.Box(np.array([0.0, -5.0], np.float32), np.array([1.0, 5.0], np.float32))
    module = build(BOX4, space)
    with torch.no_grad():
        module.pi_head.out.bias.copy_(torch.tensor([100.0, -100.0, 3.0, 3.0]))  # means far outside, big std
    for explore in (False, True):
        single = module.act(np.zeros(4, np.float32), explore=explore)
        assert single.shape == (2,) and single.dtype == np.float32 and space.contains(single)
        many = module.act(np.random.default_rng(0).uniform(-1, 1, (50, 4)).astype(np.float32), explore=explore)
        assert many.shape == (50, 2)
        assert all(space.contains(a) for a in many)


def test_act_returns_env_ready_actions_for_composite_spaces():
    module = build(OBSERVATION_SPACES["nested"], ACTION_SPACES["nested"])
    action = module.act(module.observation_space.sample(), explore=True)
    assert module.action_space.contains(action)


def test_deepcopy_and_pickle_keep_a_working_module():
    import copy
    import io

    module = build(OBSERVATION_SPACES["nested"], ACTION_SPACES["dict"], use_lstm=True)
    batch = {Columns.OBS: sample_obs_batch(module.observation_space, 3),
             Columns.STATE_IN: {k: v.expand(3, -1) for k, v in module.get_initial_state().items()}}
    expected = module.forward_inference(batch)[Columns.ACTION_DIST_INPUTS]
    buffer = io.BytesIO()
    torch.save(module, buffer)
    buffer.seek(0)
    for clone in (copy.deepcopy(module), torch.load(buffer, weights_only=False)):
        torch.testing.assert_close(clone.forward_inference(batch)[Columns.ACTION_DIST_INPUTS], expected)
        with torch.no_grad():  # the clone's layers are its own
            clone.encoder[1][0].weight.add_(1.0)
        assert not torch.equal(clone.forward_inference(batch)[Columns.ACTION_DIST_INPUTS], expected)
    torch.testing.assert_close(module.forward_inference(batch)[Columns.ACTION_DIST_INPUTS], expected)
