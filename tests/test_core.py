"""The RLModule contract: setup, forwards, input checks, specs, MultiRLModule, check_module."""

from __future__ import annotations

import json
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
import torch
from torch import nn

import rlkit
from rlkit import (
    DEFAULT_MODULE_ID,
    Columns,
    ModuleCheckError,
    MultiRLModule,
    MultiRLModuleSpec,
    ObservationError,
    RLModule,
    RLModuleSpec,
    StateMismatchError,
    check_module,
)
from rlkit.spaces import space_from_dict, space_to_dict

BOX4 = gym.spaces.Box(-np.inf, np.inf, (4,), np.float32)
DISCRETE2 = gym.spaces.Discrete(2)


class Linear(RLModule):
    """Smallest useful module: a linear policy and a linear value."""

    def setup(self):
        n_in = self.observation_space.shape[0]
        self.pi = nn.Linear(n_in, self.action_space.n)
        self.vf = nn.Linear(n_in, 1)

    def _forward(self, batch, **kwargs):
        obs = batch[Columns.OBS]
        return {Columns.ACTION_DIST_INPUTS: self.pi(obs), Columns.VF_PREDS: self.vf(obs).squeeze(-1)}

    def get_non_inference_attributes(self):
        return ["vf"]


class LinearInferenceAware(Linear):
    def setup(self):
        n_in = self.observation_space.shape[0]
        self.pi = nn.Linear(n_in, self.action_space.n)
        if not self.inference_only:
            self.vf = nn.Linear(n_in, 1)

    def _forward(self, batch, **kwargs):
        out = {Columns.ACTION_DIST_INPUTS: self.pi(batch[Columns.OBS])}
        if not self.inference_only:
            out[Columns.VF_PREDS] = self.vf(batch[Columns.OBS]).squeeze(-1)
        return out


def make(cls=Linear, **kw):
    return cls(observation_space=BOX4, action_space=DISCRETE2, **kw)


# ----------------------------------------------------------------------------- public API


def test_public_api_is_grouped_and_complete():
    for name in ["Columns", "RLModule", "TorchRLModule", "RLModuleSpec", "MultiRLModule",
                 "MultiRLModuleSpec", "DEFAULT_MODULE_ID", "check_module"]:
        assert name in rlkit.__all__ and hasattr(rlkit, name)
    assert rlkit.TorchRLModule is rlkit.RLModule
    assert DEFAULT_MODULE_ID == "default_policy"


def test_import_rlkit_does_not_import_notebook_layer():
    code = (
        "import sys, rlkit\n"
        "heavy = [m for m in ('ipywidgets', 'matplotlib', 'pandas', 'IPython') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_columns_values_match_rllib():
    assert Columns.OBS == "obs" and Columns.NEXT_OBS == "new_obs"
    expected = {
        "ACTIONS": "actions", "REWARDS": "rewards", "TERMINATEDS": "terminateds",
        "TRUNCATEDS": "truncateds", "INFOS": "infos", "EPS_ID": "eps_id", "AGENT_ID": "agent_id",
        "MODULE_ID": "module_id", "T": "t", "SEQ_LENS": "seq_lens", "STATE_IN": "state_in",
        "STATE_OUT": "state_out", "EMBEDDINGS": "embeddings",
        "ACTION_DIST_INPUTS": "action_dist_inputs", "ACTION_PROB": "action_prob",
        "ACTION_LOGP": "action_logp", "VF_PREDS": "vf_preds",
        "VALUES_BOOTSTRAPPED": "values_bootstrapped", "ADVANTAGES": "advantages",
        "VALUE_TARGETS": "value_targets", "LOSS_MASK": "loss_mask", "ACTION_MASK": "action_mask",
    }
    for name, value in expected.items():
        assert getattr(Columns, name) == value


# ----------------------------------------------------------------------------- setup


def test_setup_called_exactly_once():
    calls = []

    class Counting(Linear):
        def setup(self):
            calls.append(1)
            super().setup()

    make(Counting)
    assert len(calls) == 1


def test_calling_setup_again_is_a_clear_error():
    class CallsSetupTwice(Linear):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.setup()

    with pytest.raises(RuntimeError, match=r"setup\(\) was called a second time.*exactly once"):
        make(CallsSetupTwice)
    module = make()
    with pytest.raises(RuntimeError, match="second time"):
        module.setup()


def test_missing_forward_names_the_fix():
    class NoForward(RLModule):
        pass

    with pytest.raises(NotImplementedError, match=r"NoForward must implement _forward"):
        NoForward(observation_space=BOX4, action_space=DISCRETE2).forward_inference({Columns.OBS: np.zeros((1, 4))})


# ----------------------------------------------------------------------------- forwards


def test_inference_and_exploration_run_without_grad_in_eval_mode():
    module = make()
    module.train()
    out = module.forward_inference({Columns.OBS: torch.randn(2, 4)})
    assert not module.training
    assert not out[Columns.ACTION_DIST_INPUTS].requires_grad
    out = module.forward_exploration({Columns.OBS: torch.randn(2, 4)})
    assert not out[Columns.VF_PREDS].requires_grad


def test_forward_train_keeps_grad_in_train_mode():
    module = make()
    module.eval()
    out = module.forward_train({Columns.OBS: torch.randn(2, 4)})
    assert module.training and out[Columns.ACTION_DIST_INPUTS].requires_grad


def test_forward_train_refused_on_inference_only():
    module = make(inference_only=True)
    with pytest.raises(RuntimeError, match="inference-only.*inference_only=False"):
        module.forward_train({Columns.OBS: torch.randn(2, 4)})


def test_numpy_observations_are_converted():
    out = make().forward_inference({Columns.OBS: np.random.randn(3, 4)})  # float64 -> float32
    assert out[Columns.ACTION_DIST_INPUTS].dtype == torch.float32


def test_batch_without_obs():
    with pytest.raises(KeyError, match=r"Columns.OBS \('obs'\).*found keys \['actions'\]"):
        make().forward_inference({Columns.ACTIONS: torch.zeros(3)})


def test_wrong_obs_shape_names_expected_and_found():
    with pytest.raises(ObservationError, match=re_escape(
        "expected obs of shape (B, 4) for Box(-inf, inf, (4,), float32), got (3, 5)"
    )):
        make().forward_inference({Columns.OBS: np.zeros((3, 5))})


def test_unbatched_obs_hints_at_batch_dim():
    with pytest.raises(ObservationError, match=r"got \(4,\)\. Add a batch dimension"):
        make().forward_inference({Columns.OBS: np.zeros(4)})


def re_escape(text: str) -> str:
    import re

    return re.escape(text)


def test_dict_obs_missing_key():
    space = gym.spaces.Dict({"a": BOX4, "b": DISCRETE2})
    from rlkit.spaces import obs_to_tensor

    with pytest.raises(ObservationError, match=r"missing \['b'\]"):
        obs_to_tensor({"a": np.zeros((1, 4))}, space)


# ----------------------------------------------------------------------------- state


def test_state_round_trip_is_not_vacuous():
    a, b = make(), make()
    x = {Columns.OBS: torch.randn(4, 4)}
    assert not torch.equal(a.forward_inference(x)[Columns.VF_PREDS], b.forward_inference(x)[Columns.VF_PREDS])
    b.set_state(a.get_state())
    assert torch.equal(a.forward_inference(x)[Columns.VF_PREDS], b.forward_inference(x)[Columns.VF_PREDS])


def test_inference_only_drops_critic_keys_by_name():
    full = make(LinearInferenceAware)
    small = make(LinearInferenceAware, inference_only=True)
    assert not hasattr(small, "vf")
    small.load_state_dict(full.state_dict())
    assert set(full.get_state(inference_only=True)) == {"pi.weight", "pi.bias"}


def test_mismatch_lists_every_key_with_both_shapes():
    other = LinearInferenceAware(observation_space=gym.spaces.Box(-1, 1, (3,)), action_space=DISCRETE2)
    state = other.state_dict()
    state["extra.weight"] = torch.zeros(1)
    del state["vf.bias"]
    with pytest.raises(StateMismatchError) as info:
        make(LinearInferenceAware).load_state_dict(state)
    message = str(info.value)
    assert "missing keys (in the module, not in the state dict): vf.bias" in message
    assert "unexpected keys (in the state dict, not in the module): extra.weight" in message
    assert "size mismatch for pi.weight: shape [2, 3] in the state dict, the shape in the current module is [2, 4]" in message
    assert "size mismatch for vf.weight" in message
    assert info.value.wrong_shape["pi.weight"] == ((2, 3), (2, 4))


def test_stateless_module_reports_no_state():
    module = make()
    assert module.get_initial_state() == {} and not module.is_stateful()


def test_dist_classes_from_action_space():
    module = make()
    dist = module.get_train_action_dist_cls().from_logits(torch.tensor([[0.0, 5.0]]))
    assert dist.mode().item() == 1
    assert module.get_inference_action_dist_cls() is module.get_exploration_action_dist_cls()


def test_act_single_and_batched():
    module = make()
    action = module.act(np.zeros(4, np.float32))
    assert DISCRETE2.contains(action)
    actions = module.act(np.zeros((3, 4), np.float32), explore=True)
    assert actions.shape == (3,)


# ----------------------------------------------------------------------------- specs


SPACES = {
    "box-1d": BOX4,
    "box-image-uint8": gym.spaces.Box(0, 255, (8, 8, 3), np.uint8),
    "box-bounds-per-dim": gym.spaces.Box(np.array([-1.0, 0.0]), np.array([1.0, 2.0]), dtype=np.float32),
    "discrete-start": gym.spaces.Discrete(5, start=-2),
    "multidiscrete": gym.spaces.MultiDiscrete([3, 4]),
    "multibinary": gym.spaces.MultiBinary(3),
    "tuple": gym.spaces.Tuple((DISCRETE2, BOX4)),
    "dict-nested": gym.spaces.Dict({"pos": BOX4, "inner": gym.spaces.Dict({"k": DISCRETE2})}),
}


@pytest.mark.parametrize("space", SPACES.values(), ids=SPACES.keys())
def test_space_json_round_trip(space):
    data = json.loads(json.dumps(space_to_dict(space)))
    assert space_from_dict(data) == space


def test_spec_round_trips_through_json():
    spec = RLModuleSpec(module_class=Linear, observation_space=BOX4, action_space=DISCRETE2,
                        model_config={"fcnet_hiddens": (32, 32)})
    again = RLModuleSpec.from_dict(json.loads(json.dumps(spec.to_dict())))
    assert again.module_class is Linear
    assert again.observation_space == BOX4 and again.action_space == DISCRETE2
    assert again.model_config == {"fcnet_hiddens": [32, 32]}


def test_spec_missing_space_is_named():
    with pytest.raises(ValueError, match="needs an action_space, got None"):
        RLModuleSpec(module_class=Linear, observation_space=BOX4).build()


def test_spec_from_module():
    module = make()
    spec = RLModuleSpec.from_module(module)
    assert spec.module_class is Linear and spec.build().observation_space == BOX4


def test_notebook_class_path_explains_itself():
    from rlkit.import_path import ClassImportError, class_from_path

    with pytest.raises(ClassImportError, match="defined in a notebook or script.*module_class="):
        class_from_path("__main__:MyModule")


# ----------------------------------------------------------------------------- multi


def test_multi_rl_module_is_a_mapping():
    from collections.abc import Mapping

    multi = MultiRLModule({"a": make(), "b": make()})
    assert isinstance(multi, Mapping)
    assert "a" in multi and len(multi) == 2 and list(multi.keys()) == ["a", "b"]
    assert isinstance(multi["a"], Linear)
    assert dict(multi.items())["b"] is multi["b"]


def test_multi_add_clash_mentions_override():
    multi = make().as_multi_rl_module()
    assert list(multi) == [DEFAULT_MODULE_ID]
    with pytest.raises(ValueError, match="override=True"):
        multi.add_module(DEFAULT_MODULE_ID, make())
    replacement = make()
    multi.add_module(DEFAULT_MODULE_ID, replacement, override=True)
    assert multi[DEFAULT_MODULE_ID] is replacement


def test_multi_unknown_id_lists_available():
    multi = MultiRLModule({"a": make()})
    with pytest.raises(KeyError, match=r"'zzz' not found. Available module ids: \['a'\]"):
        multi["zzz"]
    with pytest.raises(KeyError, match=r"Available module ids: \['a'\]"):
        multi.forward_inference({"zzz": {Columns.OBS: torch.zeros(1, 4)}})
    with pytest.raises(KeyError, match="Available module ids"):
        multi.remove_module("zzz")


def test_multi_forwards_and_state():
    multi = MultiRLModuleSpec(rl_module_specs={
        "a": RLModuleSpec(module_class=Linear, observation_space=BOX4, action_space=DISCRETE2),
        "b": RLModuleSpec(module_class=Linear, observation_space=BOX4, action_space=DISCRETE2),
    }).build()
    out = multi.forward_train({"a": {Columns.OBS: torch.zeros(2, 4)}, "b": {Columns.OBS: torch.zeros(3, 4)}})
    assert out["a"][Columns.VF_PREDS].shape == (2,) and out["b"][Columns.VF_PREDS].shape == (3,)
    other = MultiRLModule({"a": make(), "b": make()})
    other.set_state(multi.get_state())
    x = {Columns.OBS: torch.randn(2, 4)}
    assert torch.equal(other["b"].forward_inference(x)[Columns.VF_PREDS], multi["b"].forward_inference(x)[Columns.VF_PREDS])
    multi.remove_module("a")
    assert list(multi) == ["b"]


def test_multi_spec_round_trip():
    spec = MultiRLModuleSpec(rl_module_specs={"a": RLModuleSpec(module_class=Linear, observation_space=BOX4, action_space=DISCRETE2)})
    again = MultiRLModuleSpec.from_dict(json.loads(json.dumps(spec.to_dict())))
    assert again.rl_module_specs["a"].module_class is Linear


# ----------------------------------------------------------------------------- check_module


def test_check_module_passes_a_good_module():
    report = check_module(make())
    assert report.ok and len(report.results) >= 5
    assert "passed" in report._repr_html_()


def test_check_module_reports_every_problem_at_once():
    class Broken(RLModule):
        def setup(self):
            self.pi = nn.Linear(4, 3)  # wrong number of logits for Discrete(2)

        def _forward(self, batch, **kwargs):
            logits = self.pi(batch[Columns.OBS])
            return {Columns.ACTION_DIST_INPUTS: logits, Columns.VF_PREDS: logits}  # (B, 3) values

    with pytest.raises(ModuleCheckError) as info:
        check_module(Broken(observation_space=BOX4, action_space=DISCRETE2))
    message = str(info.value)
    assert "ACTION_DIST_INPUTS has shape (3, 3), expected (3, 2)" in message
    assert "VF_PREDS has shape (3, 3), expected (3,)" in message
    assert len(info.value.report.problems) >= 3


def test_dist_class_is_looked_up_once_per_action_space():
    module = make()
    first = module.get_exploration_action_dist_cls()
    assert module.get_train_action_dist_cls() is first
    module.action_space = gym.spaces.Discrete(3)  # a new space gets its own class
    assert module.get_train_action_dist_cls().required_input_dim() == 3
