"""ModuleComposer, headless: each control gives the expected spec, exported code rebuilds the
same architecture, invalid choices show messages (never raise from a callback)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
import traitlets

from rlkit import RLModuleSpec
from rlkit.models import DefaultActorCritic
from rlkit.widgets import ModuleComposer
from rlkit.widgets._composer_code import space_to_code
from rlkit.widgets.module_composer import parse_filters, parse_sizes

CARTPOLE = gym.make("CartPole-v1")
IMAGE = gym.spaces.Box(0, 255, (16, 16, 3), np.uint8)
DICT_OBS = gym.spaces.Dict({"img": IMAGE, "pos": gym.spaces.Box(-1, 1, (2,)), "room": gym.spaces.Discrete(4)})


def shapes(module) -> list[tuple[str, tuple[int, ...]]]:
    return [(name, tuple(p.shape)) for name, p in module.named_parameters()]


def run_code(code: str):
    namespace: dict = {}
    exec(compile(code, "<exported>", "exec"), namespace)
    return namespace["module"]


@pytest.fixture
def composer() -> ModuleComposer:
    return ModuleComposer.from_env(CARTPOLE, model_config={"fcnet_hiddens": [32, 32]})


def test_starts_from_the_defaults_and_builds_the_default_module(composer):
    assert composer.error == "" and "rlkit-module-composer" in composer._dom_classes
    spec = composer.spec
    assert spec.module_class is None and spec.model_config["fcnet_hiddens"] == [32, 32]
    module = composer.build()
    assert isinstance(module, DefaultActorCritic)
    expected = RLModuleSpec(observation_space=CARTPOLE.observation_space, action_space=CARTPOLE.action_space,
                            model_config={"fcnet_hiddens": [32, 32]}).build()
    assert shapes(module) == shapes(expected)
    assert composer.w_fc.value == "32, 32" and "(B, 32)" in composer._summary.value


CHOICES = [
    # (control attribute, value, expected model_config entries, check on the built module)
    ("w_fc", "64, 64, 64", {"fcnet_hiddens": [64, 64, 64]}, lambda m: m.encoder.hidden_sizes == (64, 64, 64)),
    ("w_fc_act", "relu", {"fcnet_activation": "relu"}, lambda m: type(m.encoder[1]).__name__ == "ReLU"),
    ("w_head", "16", {"head_fcnet_hiddens": [16]}, lambda m: m.pi_head.hidden_sizes == (16,)),
    ("w_head_act", "elu", {"head_fcnet_activation": "elu"}, lambda m: True),
    ("w_share", False, {"vf_share_layers": False}, lambda m: hasattr(m, "vf_encoder")),
    ("w_memory", "LSTM", {"use_lstm": True, "use_gru": False}, lambda m: m.is_stateful() and "c" in m.get_initial_state()),
    ("w_memory", "GRU", {"use_lstm": False, "use_gru": True}, lambda m: sorted(m.get_initial_state()) == ["h"]),
    ("w_inference", True, {}, lambda m: m.inference_only and not hasattr(m, "vf_head")),
]


@pytest.mark.parametrize("attr,value,expected,check", CHOICES, ids=[f"{c[0]}={c[1]}" for c in CHOICES])
def test_each_choice_gives_the_expected_spec(composer, attr, value, expected, check):
    getattr(composer, attr).value = value
    assert composer.error == ""
    spec = composer.spec
    assert {k: spec.model_config[k] for k in expected} == expected
    module = spec.build()
    assert check(module)
    assert shapes(module) == shapes(composer.module)  # the summary shows what .build() builds
    if attr == "w_inference":
        assert spec.inference_only and "inference-only" in composer._summary.value


def test_cell_size_and_summary_follow_the_memory_controls(composer):
    assert composer.w_cell.layout.display == "none"
    composer.w_memory.value = "GRU"
    assert composer.w_cell.layout.display == ""
    composer.w_cell.value = 24
    assert composer.spec.model_config["lstm_cell_size"] == 24
    assert "GRUEncoder" in composer._summary.value and "(B, 24)" in composer._summary.value


def test_image_and_continuous_controls():
    env = gym.make("Pendulum-v1")
    c = ModuleComposer(IMAGE, env.action_space)
    assert c.w_conv.layout.display == "" and c.w_free_std.layout.display == ""
    c.w_conv.value = "[[8, 4, 2], [16, 3, 2]]"
    c.w_free_std.value = True
    assert c.error == ""
    assert c.spec.model_config["conv_filters"] == [[8, 4, 2], [16, 3, 2]] and c.spec.model_config["free_log_std"]
    assert [layer.out_channels for layer in c.module.encoder[0].modules() if isinstance(layer, torch.nn.Conv2d)] == [8, 16]
    assert ModuleComposer.from_env(CARTPOLE).w_conv.layout.display == "none"


def test_per_part_encoders_for_dict_observations():
    c = ModuleComposer(DICT_OBS, gym.spaces.Discrete(3), model_config={"fcnet_hiddens": [16]})
    parts = {p.key: p for p in c._parts}
    assert sorted(parts) == ["img", "pos", "room"]
    assert [o[1] for o in parts["img"].kind.options] == ["cnn", "flatten"]
    assert [o[1] for o in parts["room"].kind.options] == ["one_hot"]
    parts["img"].filters.value = "[[4, 3, 2]]"
    parts["pos"].mlp.value = "8"
    parts["pos"].act.value = "relu"
    assert c.error == ""
    assert c.spec.model_config["part_encoders"] == {
        "img": {"encoder": "cnn", "conv_filters": [[4, 3, 2]]},
        "pos": {"encoder": "flatten", "fcnet_hiddens": [8], "fcnet_activation": "relu"},
        "room": {"encoder": "one_hot"},
    }
    enc = c.module.encoder[0].parts
    assert enc["pos"][1].hidden_sizes == (8,) and type(enc["room"]).__name__ == "OneHotEncoder"
    parts["img"].kind.value = "flatten"
    assert type(c.module.encoder[0].parts["img"]).__name__ == "FlattenEncoder"
    assert parts["img"].filters.layout.display == "none"


def test_exported_code_rebuilds_the_same_architecture(composer):
    composer.w_fc.value = "48, 24"
    composer.w_share.value = False
    composer.w_memory.value = "LSTM"
    code = composer.export_code()
    assert composer._code.value == code and composer._code.layout.display == ""
    assert 'gym.make("CartPole-v1")' in code  # spaces equal the registered env's: taken from it
    rebuilt = run_code(code)
    built = composer.build()
    assert type(rebuilt) is type(built) and shapes(rebuilt) == shapes(built)
    assert rebuilt.get_spec().to_dict() == {**composer.spec.to_dict(), "module_class": "rlkit.models.default_actor_critic:DefaultActorCritic"}
    assert str(rebuilt) == str(built)


@pytest.mark.parametrize("obs,act", [
    (DICT_OBS, gym.spaces.Box(-1, 1, (2,))),
    (gym.spaces.Tuple((gym.spaces.Discrete(3), gym.spaces.MultiBinary(4))), gym.spaces.MultiDiscrete([3, 2])),
    (CARTPOLE.observation_space, gym.spaces.Dict({"b": gym.spaces.Discrete(2), "a": gym.spaces.Box(-2, 2, (1,))})),
], ids=["dict-obs", "tuple-obs", "dict-action"])
def test_exported_code_with_spelled_out_spaces(obs, act):
    c = ModuleComposer(obs, act, model_config={"fcnet_hiddens": [8]})
    if c._parts:
        c._parts[-1].mlp.value = "4"
    code = c.code
    assert "gym.make" not in code
    rebuilt = run_code(code)
    assert rebuilt.observation_space == obs and rebuilt.action_space == act
    assert shapes(rebuilt) == shapes(c.build()) and str(rebuilt) == str(c.build())


SPACES = {
    "box": gym.spaces.Box(-1.0, 1.0, (3,)),
    "box-bounds": gym.spaces.Box(np.array([-np.inf, 0.0, -3.4e38], np.float32), np.array([np.inf, 1.5, 3.4e38], np.float32)),
    "box-float64-2d": gym.spaces.Box(-2.0, 2.0, (2, 3), np.float64),
    "image": IMAGE,
    "discrete-start": gym.spaces.Discrete(5, start=-2),
    "multidiscrete": gym.spaces.MultiDiscrete([3, 4], start=[1, 0]),
    "multibinary-2d": gym.spaces.MultiBinary([2, 3]),
    "dict-unsorted": gym.spaces.Dict([("z", gym.spaces.Discrete(2)), ("a", gym.spaces.Box(0, 1, (1,)))]),
    "nested": gym.spaces.Tuple((gym.spaces.Dict({"x": gym.spaces.Discrete(3)}), gym.spaces.MultiBinary(2))),
}


@pytest.mark.parametrize("space", SPACES.values(), ids=SPACES.keys())
def test_space_to_code_round_trips(space):
    rebuilt = eval(space_to_code(space), {"gym": gym, "np": np})
    assert rebuilt == space and rebuilt.dtype == space.dtype
    if isinstance(space, gym.spaces.Dict):
        assert list(rebuilt.spaces) == list(space.spaces)  # key order kept


@pytest.mark.parametrize("attr,text,message", [
    ("w_fc", "64, 0", "The 'fcnet_hiddens' entry of model_config must be a sequence of positive ints. Got [64, 0] instead."),
    ("w_fc", "64, abc", "The MLP hidden sizes must be whole numbers separated by commas, e.g. 64, 64. Got '64, abc'."),
    ("w_head", "-3", "The 'head_fcnet_hiddens' entry of model_config must be a sequence of positive ints. Got [-3] instead."),
], ids=["zero-width", "not-a-number", "negative-head"])
def test_invalid_choices_show_a_message_and_keep_the_last_valid_spec(composer, attr, text, message):
    before = composer.spec
    summary = composer._summary.value
    getattr(composer, attr).value = text  # a callback: must not raise
    assert composer.error == message
    assert message.replace("'", "&#x27;") in composer._message.value and "Traceback" not in composer._message.value
    assert "rc-stale" in composer._summary._dom_classes and composer._summary.value == summary
    assert composer.spec == before  # .spec is the last valid choice
    getattr(composer, attr).value = "32"
    assert composer.error == "" and composer._message.value == "" and "rc-stale" not in composer._summary._dom_classes


def test_a_choice_that_fails_at_build_time_is_explained():
    c = ModuleComposer(IMAGE, gym.spaces.Discrete(2))
    c.w_conv.value = "[[8, 40, 2]]"
    assert "is too small for the conv filters [[8, 40, 2]]" in c.error
    c.w_conv.value = "[[8, 4"
    assert c.error.startswith("The CNN filters must be a list of [out_channels, kernel, stride] layers")
    c.w_conv.value = "auto"
    assert c.error == "" and c.spec.model_config["conv_filters"] is None


def test_setting_the_config_in_code():
    c = ModuleComposer(CARTPOLE.observation_space, CARTPOLE.action_space)
    c.model_config = {**c.model_config, "fcnet_hiddens": [12], "use_gru": True}
    assert c.w_fc.value == "12" and c.w_memory.value == "GRU" and "(B, 12)" in c._summary.value
    with pytest.raises(traitlets.TraitError, match=r"The 'fcnet_hiddens' entry of model_config must be a sequence"):
        c.model_config = {**c.model_config, "fcnet_hiddens": [0]}
    with pytest.raises(traitlets.TraitError, match=r"unknown entry 'fcnet_hidden'\. Did you mean 'fcnet_hiddens'\?"):
        c.model_config = {"fcnet_hidden": [8]}


def test_unsupported_spaces_are_refused_up_front():
    with pytest.raises(ValueError, match="ModuleComposer cannot encode the observation space Text"):
        ModuleComposer(gym.spaces.Text(5), gym.spaces.Discrete(2))


def test_try_it_needs_an_env_and_says_so(composer):
    c = ModuleComposer(CARTPOLE.observation_space, CARTPOLE.action_space)
    c._safe(c.try_it)
    assert c.error.startswith("try it needs an environment: make the composer with ModuleComposer.from_env(env)")


def test_try_it_runs_a_rollout_and_shows_the_viewer():
    c = ModuleComposer.from_env("CartPole-v1", model_config={"fcnet_hiddens": [8]})
    viewer = c.try_it(num_steps=20)
    assert type(viewer).__name__ == "RolloutViewer"
    assert len(c._try_out.outputs) == 1


def test_parsers():
    assert parse_sizes("[64, 32]") == [64, 32] and parse_sizes(" 8 16 ") == [8, 16] and parse_sizes("") == []
    assert parse_filters("auto") is None and parse_filters("[(8, 4, 2)]") == [[8, 4, 2]]


def test_browser_notebook_runs_headless_and_its_widgets_respond():
    """tests/browser/notebooks/composer.ipynb in a real kernel (nbclient), where chromium is missing too."""
    import os
    import pathlib

    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    path = pathlib.Path(__file__).parent / "browser" / "notebooks" / "composer.ipynb"
    nb = nbformat.read(path, as_version=4)
    probe = nbformat.v4.new_code_cell(
        "composer.w_fc.value = '24, 24'\n"
        "assert composer.error == '' and '(B, 24)' in composer._summary.value\n"
        "before = explainer.result.summary['probs'].copy()\n"
        "explainer.sliders[2].value = 0.3\n"
        "assert explainer.error == '' and not (explainer.result.summary['probs'] == before).all()\n"
        "print('probe-ok')")
    nb.cells.append(probe)
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3")
    with client.setup_kernel(env=env, cwd=str(path.parent)):
        for i, cell in enumerate(nb.cells):
            client.execute_cell(cell, i)  # raises CellExecutionError on any error
    view = "application/vnd.jupyter.widget-view+json"
    widget_cells = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and any(view in o.get("data", {}) for o in c.outputs)]
    assert widget_cells == [1, 2, 7, 8]
    html_cells = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and any("text/html" in o.get("data", {}) for o in c.outputs)]
    assert html_cells == [3, 4, 5, 6]  # module, spec, check report, checkpoint summary
    assert "probe-ok" in "".join(o.get("text", "") for o in probe.outputs)


@pytest.mark.parametrize("part_encoders,message", [
    ({"pos": {"encoder": "cnn"}}, "asks for a 'cnn' encoder for obs part 'pos', but that part is Box(-1.0, 1.0, (2,), float32). "
                                  "Use one of ['flatten'] for it (or 'auto')."),
    ({"nope": {}}, "names parts ['nope'] that the observation space"),
    ({"pos": {"encoder": "x"}}, "Part 'pos': expected an encoder kind, one of ['auto', 'cnn', 'flatten', 'one_hot']."),
    ({"pos": {"size": 3}}, "Part 'pos' has unknown entries ['size']."),
], ids=["cnn-on-a-vector", "unknown-part", "unknown-kind", "unknown-entry"])
def test_part_encoders_config_errors(part_encoders, message):
    """The per-part entry the composer writes (rlkit.models' `part_encoders`) explains bad values."""
    from rlkit.models import ModelConfigError

    spec = RLModuleSpec(observation_space=DICT_OBS, action_space=gym.spaces.Discrete(2),
                        model_config={"part_encoders": part_encoders})
    with pytest.raises(ModelConfigError) as err:
        spec.build()
    assert message in str(err.value)
