"""Checkpoints: round trips (single, multi, inference-only), the on-disk format, helpers, inspection."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import gymnasium as gym
import pytest
import safetensors.torch
import torch
from checkpoint_modules import SPACES, OtherNames, TiedWeights, TinyActorCritic, no_unpickling, tiny  # noqa: F401

import rlkit
from rlkit import Columns, MultiRLModule, RLModule, RLModuleSpec
from rlkit.checkpoints.atomic import wait_for_cleanup
from rlkit.checkpoints import (
    FORMAT_VERSION,
    CheckpointSummary,
    atomic_directory,
    inspect_checkpoint,
    load_checkpoint,
    load_module,
    read_checkpoint_dir,
    restore_module,
    save_module,
    save_module_files,
    write_checkpoint_dir,
    write_checkpoint_files,
)

OBS = {Columns.OBS: torch.linspace(-1, 1, 20).reshape(5, 4)}


def logits(module: RLModule, batch=OBS) -> torch.Tensor:
    return module.forward_inference(batch)[Columns.ACTION_DIST_INPUTS]


def same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.fixture(autouse=True)
def _never_unpickle(no_unpickling):
    """Every test here runs with pickle.load(s) and torch.load made to fail."""


# ------------------------------------------------------------------------------ single module


def test_round_trip_is_exact_and_not_vacuous(tmp_path):
    saved, other = tiny(0), tiny(1)
    assert not torch.equal(logits(saved), logits(other))  # the two fresh modules differ
    path = saved.save_to_path(tmp_path / "ckpt")
    assert path == (tmp_path / "ckpt").resolve()

    other.restore_from_path(path)
    assert torch.equal(logits(other), logits(saved))
    assert same_weights(other, saved)

    rebuilt = RLModule.from_checkpoint(path)
    assert type(rebuilt) is TinyActorCritic
    assert rebuilt.observation_space == saved.observation_space and rebuilt.action_space == saved.action_space
    assert torch.equal(logits(rebuilt), logits(saved))
    assert torch.equal(rebuilt.obs_scale, saved.obs_scale)  # buffers too


def test_model_config_and_str_paths_round_trip(tmp_path):
    saved = tiny(0, model_config={"hidden": 7})
    save_module(saved, str(tmp_path / "c"))
    rebuilt = load_module(str(tmp_path / "c"))
    assert rebuilt.model_config == {"hidden": 7} and rebuilt.encoder[0].out_features == 7
    assert torch.equal(logits(rebuilt), logits(saved))


def test_metadata_file_describes_the_checkpoint(tmp_path):
    module = tiny(0)
    path = module.save_to_path(tmp_path / "ckpt", step=1000, note="first try", scores=[1.5, 2.0])
    assert sorted(p.name for p in path.iterdir()) == ["model.safetensors", "rlkit_checkpoint.json"]
    record = json.loads((path / "rlkit_checkpoint.json").read_text())
    assert record["format"] == "rlkit-checkpoint"
    assert record["format_version"] == FORMAT_VERSION
    assert record["rlkit_version"] == rlkit.__version__
    assert record["torch_version"] == torch.__version__
    created = dt.datetime.fromisoformat(record["created"].replace("Z", "+00:00"))
    assert abs((dt.datetime.now(dt.timezone.utc) - created).total_seconds()) < 120
    assert record["module_class"] == "checkpoint_modules:TinyActorCritic"
    assert record["spec"] == RLModuleSpec.from_module(module).to_dict()
    assert record["spec"]["observation_space"]["type"] == "Box"
    assert record["parameter_count"] == sum(p.numel() for p in module.parameters())
    assert record["metadata"] == {"step": 1000, "note": "first try", "scores": [1.5, 2.0]}
    weights = (path / "model.safetensors").read_bytes()
    assert record["weights"]["sha256"] == hashlib.sha256(weights).hexdigest()
    assert record["weights"]["size_bytes"] == len(weights)


def test_weights_are_plain_safetensors(tmp_path):
    module = tiny(0)
    path = module.save_to_path(tmp_path / "ckpt")
    theirs = safetensors.torch.load_file(str(path / "model.safetensors"))
    assert theirs.keys() == module.state_dict().keys()
    assert all(torch.equal(theirs[k], v) for k, v in module.state_dict().items())


def test_every_dtype_and_shape_survives(tmp_path):
    tensors = {
        "f32": torch.randn(3, 4),
        "f64": torch.randn(2, dtype=torch.float64),
        "f16": torch.randn(5).half(),
        "bf16": torch.randn(3).bfloat16(),
        "i64": torch.arange(7),
        "u8": torch.arange(9, dtype=torch.uint8).reshape(3, 3),
        "bool": torch.tensor([True, False, True]),
        "scalar": torch.tensor(3.5),
        "empty": torch.zeros(0, 4),
        "strided": torch.arange(12.0).reshape(3, 4).t(),  # not contiguous
    }
    write_checkpoint_dir(tmp_path / "t", tensors, {"kind": "test"})
    loaded, record, extra = read_checkpoint_dir(tmp_path / "t", verify="sha256")
    assert list(loaded) == list(tensors)  # state-dict order is kept
    for k, v in tensors.items():
        assert loaded[k].dtype == v.dtype and torch.equal(loaded[k], v), k
    theirs = safetensors.torch.load_file(str(tmp_path / "t" / "model.safetensors"))
    assert all(torch.equal(theirs[k], v) for k, v in tensors.items())
    assert record["kind"] == "test" and extra == {}


def test_tied_weights_save_and_load(tmp_path):
    torch.manual_seed(0)
    module = TiedWeights(**SPACES)
    path = module.save_to_path(tmp_path / "tied")
    torch.manual_seed(1)
    other = TiedWeights(**SPACES)
    assert not torch.equal(logits(other), logits(module))
    other.restore_from_path(path)
    assert torch.equal(logits(other), logits(module)) and other.pi is other.pi_alias


def test_load_checkpoint_returns_plain_data(tmp_path):
    module = tiny(0)
    path = module.save_to_path(tmp_path / "ckpt", step=5)
    ckpt = load_checkpoint(path)
    assert {"module_state", "spec", "metadata"} <= set(ckpt)
    assert ckpt["metadata"] == {"step": 5}
    assert ckpt["spec"] == RLModuleSpec.from_module(module).to_dict()
    assert ckpt["kind"] == "rl_module" and ckpt["format_version"] == FORMAT_VERSION
    assert ckpt["rlkit_version"] == rlkit.__version__ and ckpt["path"] == str(path)
    state = ckpt["module_state"]
    assert list(state) == list(module.state_dict())
    assert all(isinstance(v, torch.Tensor) for v in state.values())
    other = tiny(1)
    other.load_state_dict(state)  # the reference page's pattern
    assert torch.equal(logits(other), logits(module))
    third = tiny(2)
    third.set_state(ckpt)  # set_state accepts {"module_state": ...}
    assert torch.equal(logits(third), logits(module))
    state["pi.weight"].add_(1.0)  # writable, and the module holds its own copy
    assert torch.equal(logits(other), logits(module))


# ------------------------------------------------------------------------------ inference-only


def test_inference_only_from_checkpoint(tmp_path):
    full = tiny(0)
    path = full.save_to_path(tmp_path / "full")
    deployed = RLModule.from_checkpoint(path, inference_only=True)
    assert deployed.inference_only and not hasattr(deployed, "vf")
    assert torch.equal(logits(deployed), logits(full))
    assert Columns.VF_PREDS not in deployed.forward_inference(OBS)


def test_full_module_state_loads_into_an_inference_only_module(tmp_path):
    full = tiny(0)
    path = full.save_to_path(tmp_path / "full")
    deployed = tiny(1, inference_only=True)
    assert not torch.equal(logits(deployed), logits(full))
    deployed.load_state_dict(load_checkpoint(path)["module_state"])  # critic keys dropped by name
    assert torch.equal(logits(deployed), logits(full))

    again = tiny(2, inference_only=True)
    again.restore_from_path(path)
    assert torch.equal(logits(again), logits(full))


def test_inference_only_checkpoint_round_trips(tmp_path):
    deployed = tiny(0, inference_only=True)
    path = deployed.save_to_path(tmp_path / "small")
    assert "vf.weight" not in load_checkpoint(path)["module_state"]
    rebuilt = RLModule.from_checkpoint(path)
    assert rebuilt.inference_only and torch.equal(logits(rebuilt), logits(deployed))
    with pytest.raises(ValueError, match=r"saved from an inference-only module.*inference_only=True"):
        RLModule.from_checkpoint(path, inference_only=False)


# ------------------------------------------------------------------------------ multi


def _multi(seed: int) -> MultiRLModule:
    return MultiRLModule({"a": tiny(seed), "b": tiny(seed + 100, model_config={"hidden": 8})})


def test_multi_round_trip_after_add_and_remove(tmp_path):
    multi = _multi(0)
    multi.remove_module("b")
    torch.manual_seed(7)
    multi.add_module("c", OtherNames(**SPACES))
    multi.add_module("red/team 1", tiny(3))  # an id that is not a safe folder name
    path = multi.save_to_path(tmp_path / "multi", iteration=3)
    assert (path / "modules" / "a" / "model.safetensors").is_file()

    rebuilt = MultiRLModule.from_checkpoint(path)
    assert list(rebuilt.keys()) == ["a", "c", "red/team 1"]
    assert type(rebuilt["c"]) is OtherNames
    for mid in rebuilt.keys():
        assert torch.equal(logits(rebuilt[mid]), logits(multi[mid])), mid

    other = MultiRLModule({"a": tiny(10), "c": OtherNames(**SPACES), "red/team 1": tiny(11)})
    assert not torch.equal(logits(other["a"]), logits(multi["a"]))
    other.restore_from_path(path)
    assert all(same_weights(other[mid], multi[mid]) for mid in multi.keys())

    ckpt = load_checkpoint(path)
    assert set(ckpt["module_state"]) == {"a", "c", "red/team 1"} and ckpt["metadata"] == {"iteration": 3}
    assert ckpt["kind"] == "multi_rl_module" and set(ckpt["spec"]["rl_module_specs"]) == {"a", "c", "red/team 1"}
    fresh = MultiRLModule({"a": tiny(20), "c": OtherNames(**SPACES), "red/team 1": tiny(21)})
    fresh.set_state(ckpt["module_state"])
    assert all(same_weights(fresh[mid], multi[mid]) for mid in multi.keys())

    # each sub-checkpoint is a module checkpoint of its own
    alone = RLModule.from_checkpoint(path / "modules" / "a")
    assert torch.equal(logits(alone), logits(multi["a"]))


def test_multi_inference_only_and_class_per_id(tmp_path):
    multi = _multi(0)
    path = multi.save_to_path(tmp_path / "m")
    deployed = load_module(path, inference_only=True)
    assert all(m.inference_only for m in deployed.values())
    assert torch.equal(logits(deployed["b"]), logits(multi["b"]))
    with_class = load_module(path, module_class={"a": TinyActorCritic})
    assert torch.equal(logits(with_class["a"]), logits(multi["a"]))


def test_multi_load_state_dict_takes_the_nested_module_state(tmp_path):
    # the reference page's module.load_state_dict(checkpoint["module_state"]) on a MultiRLModule
    multi = _multi(0)
    ckpt = load_checkpoint(multi.save_to_path(tmp_path / "m"))
    fresh = _multi(50)
    assert not same_weights(fresh["a"], multi["a"])
    fresh.load_state_dict(ckpt["module_state"])
    assert all(same_weights(fresh[mid], multi[mid]) for mid in multi.keys())
    fresh.load_state_dict(multi.state_dict())  # the flat nn.Module form still works
    with pytest.raises(KeyError, match=r"Available module ids: \['a', 'b'\]"):
        fresh.load_state_dict({"zz": ckpt["module_state"]["a"]})


def test_saving_over_a_checkpoint_replaces_it(tmp_path):
    first, second = tiny(0), tiny(1)
    path = first.save_to_path(tmp_path / "ckpt", n=1)
    second.save_to_path(tmp_path / "ckpt", n=2)
    assert load_checkpoint(path)["metadata"] == {"n": 2}
    assert torch.equal(logits(RLModule.from_checkpoint(path)), logits(second))
    _multi(0).save_to_path(path)  # a multi checkpoint over a single one
    assert load_checkpoint(path)["kind"] == "multi_rl_module"
    wait_for_cleanup()  # the replaced folders are deleted on a background thread
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]  # nothing left behind


def test_saving_into_an_empty_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    tiny(0).save_to_path(tmp_path / "empty")
    assert (tmp_path / "empty" / "rlkit_checkpoint.json").is_file()


# ------------------------------------------------------------------------------ building blocks


def test_write_and_read_checkpoint_dir_with_extra_json(tmp_path):
    tensors = {"step": torch.tensor(3), "exp_avg": torch.randn(4, 2)}
    path = write_checkpoint_dir(tmp_path / "opt", tensors, {"kind": "optimizer"}, {"config": {"lr": 3e-4, "eps": [1, 2]}})
    assert (path / "config.json").is_file()
    loaded, record, extra = read_checkpoint_dir(path)
    assert record["kind"] == "optimizer" and extra == {"config": {"lr": 3e-4, "eps": [1, 2]}}
    assert all(torch.equal(loaded[k], v) for k, v in tensors.items())
    with pytest.raises(ValueError, match=r"\['format_version'\] are reserved"):
        write_checkpoint_dir(tmp_path / "bad", tensors, {"format_version": 2})


def test_composed_algorithm_checkpoint_loads_as_a_module(tmp_path):
    module = tiny(0)
    with atomic_directory(tmp_path / "algo") as tmp:
        write_checkpoint_files(tmp, {"lr": torch.tensor(0.1)}, {"kind": "algorithm", "module_checkpoint": "module"})
        save_module_files(module, tmp / "module")
    assert torch.equal(logits(RLModule.from_checkpoint(tmp_path / "algo")), logits(module))
    assert load_checkpoint(tmp_path / "algo")["kind"] == "rl_module"
    other = tiny(1)
    restore_module(other, tmp_path / "algo")
    assert same_weights(other, module)


# ------------------------------------------------------------------------------ inspection


def test_inspect_checkpoint_summarises_without_building(tmp_path, monkeypatch):
    module = tiny(0, model_config={"hidden": 12})
    path = module.save_to_path(tmp_path / "ckpt", step=42)

    def no_build(*args, **kwargs):
        raise AssertionError("inspect_checkpoint built the module")

    monkeypatch.setattr(RLModuleSpec, "build", no_build)
    monkeypatch.setattr(TinyActorCritic, "__init__", no_build)
    summary = inspect_checkpoint(path)
    assert isinstance(summary, CheckpointSummary)
    assert summary.module_class == "checkpoint_modules:TinyActorCritic"
    assert summary.observation_space == SPACES["observation_space"]
    assert summary.action_space == SPACES["action_space"]
    assert summary.model_config == {"hidden": 12}
    assert summary.parameter_count == sum(p.numel() for p in module.parameters())
    assert summary.num_tensors == len(module.state_dict())
    assert summary.tensors["encoder.0.weight"] == ("F32", (12, 4))
    assert summary.rlkit_version == rlkit.__version__ and summary.torch_version == torch.__version__
    assert summary.format_version == FORMAT_VERSION and summary.created.endswith("Z")
    assert summary.size_bytes == sum(p.stat().st_size for p in path.iterdir())
    assert summary.metadata == {"step": 42} and summary.integrity == "ok (sha256 verified)"

    text = repr(summary)
    for needle in ("TinyActorCritic", "Discrete(3)", "Box(-1.0, 1.0, (4,), float32)", "'hidden': 12", "step", "ok"):
        assert needle in text, needle
    page = summary._repr_html_()
    assert page.startswith("<div") and "TinyActorCritic" in page and "encoder.0.weight" in page
    bundle = summary._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html"}


def test_inspect_needs_no_importable_class(tmp_path):
    path = tiny(0).save_to_path(tmp_path / "ckpt")
    record = json.loads((path / "rlkit_checkpoint.json").read_text())
    record["module_class"] = record["spec"]["module_class"] = "__main__:NotebookModule"
    (path / "rlkit_checkpoint.json").write_text(json.dumps(record))
    summary = inspect_checkpoint(path)
    assert summary.module_class == "__main__:NotebookModule"
    assert any("module_class=NotebookModule" in note for note in summary.notes)


def test_inspect_reports_damage_and_multi_modules(tmp_path):
    path = _multi(0).save_to_path(tmp_path / "m")
    summary = inspect_checkpoint(path)
    assert list(summary.modules) == ["a", "b"] and summary.integrity == "ok (sha256 verified)"
    assert summary.modules["b"].model_config == {"hidden": 8}
    assert "module 'b'" in repr(summary) and "<b>b</b>" in summary._repr_html_()
    weights = path / "modules" / "b" / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    damaged = inspect_checkpoint(path)
    assert damaged.integrity.startswith("module 'b': PROBLEM") and "hash mismatch" in damaged.integrity


# ------------------------------------------------------------------------------ the default module over the catalogue

from space_catalogue import ACTION_SPACES, OBSERVATION_SPACES  # noqa: E402

from rlkit.spaces import sample_obs_batch  # noqa: E402

SMALL = {"fcnet_hiddens": [16], "conv_filters": [[4, 3, 2]], "lstm_cell_size": 8}
CASES = {f"obs={k}": (s, ACTION_SPACES["discrete"]) for k, s in OBSERVATION_SPACES.items()}
CASES.update({f"act={k}": (OBSERVATION_SPACES["box1d"], s) for k, s in ACTION_SPACES.items()})
CONFIGS = {
    "shared": {},
    "own-critic": {"vf_share_layers": False},
    "lstm": {"use_lstm": True},
}


def _default(obs_space, act_space, seed, config, **kwargs) -> RLModule:
    torch.manual_seed(seed)
    return RLModuleSpec(observation_space=obs_space, action_space=act_space, model_config={**SMALL, **config}, **kwargs).build()


def _batch(module: RLModule, obs_space) -> dict:
    batch = {Columns.OBS: sample_obs_batch(obs_space, 3, seed=0)}
    if module.is_stateful():
        batch[Columns.STATE_IN] = {k: torch.randn(3, *v.shape) for k, v in module.get_initial_state().items()}
    return batch


def _outputs(module: RLModule, batch) -> dict[str, torch.Tensor]:
    out = module.forward_inference(batch)
    return {k: v for k, v in out.items() if isinstance(v, torch.Tensor)}


@pytest.mark.parametrize("spaces", CASES.values(), ids=CASES.keys())
def test_default_module_round_trips_over_the_catalogue(tmp_path, spaces):
    obs_space, act_space = spaces
    saved, fresh = _default(obs_space, act_space, 0, {}), _default(obs_space, act_space, 1, {})
    batch = _batch(saved, obs_space)
    want = _outputs(saved, batch)
    assert not torch.equal(_outputs(fresh, batch)[Columns.ACTION_DIST_INPUTS], want[Columns.ACTION_DIST_INPUTS])
    path = saved.save_to_path(tmp_path / "ckpt")
    fresh.restore_from_path(path)
    rebuilt = RLModule.from_checkpoint(path)
    assert type(rebuilt) is type(saved)
    assert rebuilt.observation_space == obs_space and rebuilt.action_space == act_space
    for module in (fresh, rebuilt):
        got = _outputs(module, batch)
        assert got.keys() == want.keys() and all(torch.equal(got[k], want[k]) for k in want)
    deployed = RLModule.from_checkpoint(path, inference_only=True)
    assert torch.equal(_outputs(deployed, batch)[Columns.ACTION_DIST_INPUTS], want[Columns.ACTION_DIST_INPUTS])


@pytest.mark.parametrize("config", CONFIGS.values(), ids=CONFIGS.keys())
@pytest.mark.parametrize("obs_id", ["box1d", "image-hwc-u8", "dict"])
def test_default_module_configs_and_inference_only(tmp_path, config, obs_id):
    obs_space, act_space = OBSERVATION_SPACES[obs_id], ACTION_SPACES["box1d"]
    saved = _default(obs_space, act_space, 0, config)
    path = saved.save_to_path(tmp_path / "ckpt")
    deployed = _default(obs_space, act_space, 1, config, inference_only=True)
    batch = _batch(deployed, obs_space)
    want = _outputs(saved, batch)[Columns.ACTION_DIST_INPUTS]
    assert not torch.equal(_outputs(deployed, batch)[Columns.ACTION_DIST_INPUTS], want)
    deployed.load_state_dict(load_checkpoint(path)["module_state"])  # critic-only keys dropped by name
    assert torch.equal(_outputs(deployed, batch)[Columns.ACTION_DIST_INPUTS], want)
    rebuilt = RLModule.from_checkpoint(path, inference_only=True)
    assert rebuilt.inference_only and all(not hasattr(rebuilt, a) for a in saved.get_non_inference_attributes())
    assert torch.equal(_outputs(rebuilt, batch)[Columns.ACTION_DIST_INPUTS], want)
    assert inspect_checkpoint(path).model_config == {**SMALL, **config}
