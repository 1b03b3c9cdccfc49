"""Checkpoint failures: each is refused with a message naming the file and the fix; no pickle ever runs."""

from __future__ import annotations

import json
import pickle
import re
import zlib

import gymnasium as gym
import pytest
import torch
from checkpoint_modules import (
    SPACES,
    Bomb,
    OtherNames,
    TinyActorCritic,
    no_unpickling,  # noqa: F401  (fixture)
    tiny,
    unpickle_for_real,
)

from rlkit import Columns, MultiRLModule, RLModule
from rlkit.checkpoints import (
    CheckpointClassError,
    CheckpointCorruptError,
    CheckpointError,
    CheckpointNotFoundError,
    CheckpointVersionError,
    UnsafeCheckpointError,
    inspect_checkpoint,
    load_checkpoint,
    load_module,
    save_module,
)
from rlkit.import_path import ClassImportError
from rlkit.state_loading import StateMismatchError


@pytest.fixture(autouse=True)
def _never_unpickle(no_unpickling):
    """pickle.load(s), pickle.Unpickler and torch.load fail loudly in every test here."""


@pytest.fixture
def ckpt(tmp_path):
    return tiny(0).save_to_path(tmp_path / "ckpt")


def _edit_record(path, **changes) -> None:
    file = path / "rlkit_checkpoint.json"
    record = json.loads(file.read_text())
    for key, value in changes.items():
        target = record
        *parents, last = key.split("__")
        for p in parents:
            target = target[p]
        target[last] = value
    file.write_text(json.dumps(record))


def _replace_weights(path, data: bytes, *, update_record: bool) -> None:
    """Put ``data`` in place of the weights; optionally make the record's hashes agree with it."""
    import hashlib

    (path / "model.safetensors").write_bytes(data)
    if update_record:
        _edit_record(
            path,
            weights__sha256=hashlib.sha256(data).hexdigest(),
            weights__crc32=f"{zlib.crc32(data):08x}",
            weights__size_bytes=len(data),
        )


def test_the_pickle_guard_is_active():
    with pytest.raises(AssertionError, match="tried to unpickle"):
        pickle.loads(pickle.dumps(1))
    with pytest.raises(AssertionError, match="tried to unpickle"):
        torch.load("anything")


# ------------------------------------------------------------------------------ missing things


def test_missing_folder(tmp_path):
    tiny(0).save_to_path(tmp_path / "real")
    with pytest.raises(CheckpointNotFoundError, match=r"No checkpoint at .*typo: the folder does not exist.*Checkpoints in .*: real") as err:
        RLModule.from_checkpoint(tmp_path / "typo")
    assert isinstance(err.value, FileNotFoundError) and str(tmp_path / "typo") in str(err.value)
    with pytest.raises(CheckpointNotFoundError, match="does not exist"):
        load_checkpoint(tmp_path / "typo")
    with pytest.raises(CheckpointNotFoundError, match="does not exist"):
        tiny(0).restore_from_path(tmp_path / "typo")


def test_folder_that_is_not_a_checkpoint(tmp_path):
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("hi")
    with pytest.raises(CheckpointNotFoundError, match=r"rlkit_checkpoint.json is missing, so .*other is not an rlkit checkpoint folder \(it contains notes.txt\)"):
        load_checkpoint(tmp_path / "other")


def test_missing_weights_file(ckpt):
    (ckpt / "model.safetensors").unlink()
    with pytest.raises(CheckpointNotFoundError, match=re.escape(str(ckpt / "model.safetensors")) + r" is missing: the checkpoint folder is incomplete.*re-save"):
        RLModule.from_checkpoint(ckpt)


def test_path_may_name_a_file_inside_the_folder(ckpt):
    assert load_checkpoint(ckpt / "rlkit_checkpoint.json")["path"] == str(ckpt)
    assert load_checkpoint(ckpt / "model.safetensors")["path"] == str(ckpt)


# ------------------------------------------------------------------------------ damaged files


def test_truncated_weights(ckpt):
    data = (ckpt / "model.safetensors").read_bytes()
    (ckpt / "model.safetensors").write_bytes(data[: len(data) // 2])
    pattern = re.escape(str(ckpt / "model.safetensors")) + rf" is corrupt \(truncated\): it has {len(data) // 2} bytes, but the checkpoint recorded {len(data)} bytes.*re-save"
    with pytest.raises(CheckpointCorruptError, match=pattern):
        RLModule.from_checkpoint(ckpt)
    (ckpt / "model.safetensors").write_bytes(data[:5])  # cut inside the header
    with pytest.raises(CheckpointCorruptError, match=rf"is corrupt \(truncated\): it has 5 bytes, but the checkpoint recorded {len(data)} bytes"):
        load_checkpoint(ckpt)


@pytest.mark.parametrize("position", [-1, -200, 100])
def test_flipped_bytes_are_a_hash_mismatch(ckpt, position):
    data = bytearray((ckpt / "model.safetensors").read_bytes())
    data[position] ^= 0x01
    (ckpt / "model.safetensors").write_bytes(bytes(data))
    with pytest.raises(CheckpointCorruptError, match=re.escape(str(ckpt / "model.safetensors")) + r" is corrupt: hash mismatch.*sha256 now [0-9a-f]{64}, recorded [0-9a-f]{64}.*re-save"):
        RLModule.from_checkpoint(ckpt)
    with pytest.raises(CheckpointCorruptError, match="hash mismatch"):
        load_checkpoint(ckpt, verify="sha256")
    assert "hash mismatch" in inspect_checkpoint(ckpt).integrity


def test_corrupt_metadata_json(ckpt):
    (ckpt / "rlkit_checkpoint.json").write_text('{"format": "rlkit-checkpoint", ')
    with pytest.raises(CheckpointCorruptError, match=r"rlkit_checkpoint.json is not valid JSON .*Re-save"):
        load_checkpoint(ckpt)


def test_newer_format_version(ckpt):
    _edit_record(ckpt, format_version=99, rlkit_version="9.0.0")
    with pytest.raises(CheckpointVersionError, match=re.escape(str(ckpt / "rlkit_checkpoint.json")) + r" has format_version 99, but this rlkit \(.*\) reads format versions up to 1: .*newer rlkit \(9.0.0\). Upgrade rlkit"):
        RLModule.from_checkpoint(ckpt)
    with pytest.raises(CheckpointVersionError, match="format_version 99"):
        inspect_checkpoint(ckpt)


# ------------------------------------------------------------------------------ pickles


def test_the_bomb_is_live(tmp_path):
    marker = tmp_path / "executed"
    unpickle_for_real(pickle.dumps(Bomb(str(marker)))).close()
    assert marker.exists()  # so the tests below would notice an unpickling


@pytest.mark.parametrize("name", ["evil.pkl", "model.pt", "weights.pth"])
def test_planted_pickle_file_is_refused_unread(ckpt, tmp_path, name):
    marker = tmp_path / "executed"
    (ckpt / name).write_bytes(pickle.dumps(Bomb(str(marker))))
    with pytest.raises(UnsafeCheckpointError, match=rf"Refusing to load the checkpoint {re.escape(str(ckpt))}: it contains {re.escape(name)}.*never unpickles"):
        RLModule.from_checkpoint(ckpt)
    with pytest.raises(UnsafeCheckpointError):
        tiny(1).restore_from_path(ckpt)
    with pytest.raises(UnsafeCheckpointError):
        load_checkpoint(ckpt)
    assert not marker.exists()


@pytest.mark.parametrize("update_record", [False, True], ids=["stale-hash", "matching-hash"])
@pytest.mark.parametrize("kind", ["pickle", "torch.save"])
def test_pickle_disguised_as_the_weights_is_refused_unread(ckpt, tmp_path, kind, update_record):
    marker = tmp_path / "executed"
    if kind == "pickle":
        data = pickle.dumps(Bomb(str(marker)), protocol=4)
        what = "a pickle"
    else:
        torch.save({"pi.weight": Bomb(str(marker))}, tmp_path / "bomb.pt")
        data = (tmp_path / "bomb.pt").read_bytes()
        what = "a zip archive"
    _replace_weights(ckpt, data, update_record=update_record)
    with pytest.raises(UnsafeCheckpointError, match=rf"Refusing to load {re.escape(str(ckpt / 'model.safetensors'))}: it is {what}.*not executed"):
        RLModule.from_checkpoint(ckpt)
    with pytest.raises(UnsafeCheckpointError):
        load_checkpoint(ckpt)
    assert not marker.exists()


def test_old_protocol_pickle_disguised_as_the_weights(ckpt, tmp_path):
    marker = tmp_path / "executed"
    _replace_weights(ckpt, pickle.dumps(Bomb(str(marker)), protocol=0), update_record=True)
    with pytest.raises(CheckpointCorruptError, match="is corrupt: it is not a valid safetensors file"):
        RLModule.from_checkpoint(ckpt)
    assert not marker.exists()


def test_a_torch_save_file_is_refused(tmp_path):
    torch.save(tiny(0).state_dict(), tmp_path / "policy.pt")
    with pytest.raises(UnsafeCheckpointError, match=r"policy.pt: it is a pickle-based file.*torch.load\(path, weights_only=True\)"):
        RLModule.from_checkpoint(tmp_path / "policy.pt")


# ------------------------------------------------------------------------------ classes


def test_unknown_class(ckpt):
    _edit_record(ckpt, spec__module_class="no_such_package_xyz.models:Gone")
    with pytest.raises(CheckpointClassError, match=re.escape(str(ckpt / "rlkit_checkpoint.json")) + r": Cannot import module 'no_such_package_xyz.models'.*module_class=Gone") as err:
        RLModule.from_checkpoint(ckpt)
    assert isinstance(err.value, ClassImportError) and isinstance(err.value, ImportError)
    rebuilt = RLModule.from_checkpoint(ckpt, module_class=TinyActorCritic)
    assert type(rebuilt) is TinyActorCritic


def test_renamed_class(ckpt):
    _edit_record(ckpt, spec__module_class="checkpoint_modules:TinyActorCriticV2")
    with pytest.raises(CheckpointClassError, match=r"has no class 'TinyActorCriticV2'.*renamed or moved.*module_class=TinyActorCriticV2"):
        load_module(ckpt)


def _notebook_class():
    """A class as a notebook cell defines it: its module is __main__."""
    namespace: dict = {}
    exec("class NotebookModule(TinyActorCritic):\n    pass", {"TinyActorCritic": TinyActorCritic, "__name__": "__main__"}, namespace)
    return namespace["NotebookModule"]


def test_class_defined_in_a_notebook(tmp_path):
    NotebookModule = _notebook_class()
    torch.manual_seed(0)
    module = NotebookModule(**SPACES)
    path = module.save_to_path(tmp_path / "nb")
    with pytest.raises(CheckpointClassError, match=r"'__main__:NotebookModule' was defined in a notebook or script.*module_class=NotebookModule"):
        RLModule.from_checkpoint(path)
    rebuilt = RLModule.from_checkpoint(path, module_class=NotebookModule)
    batch = {Columns.OBS: torch.ones(2, 4)}
    assert torch.equal(rebuilt.forward_inference(batch)[Columns.ACTION_DIST_INPUTS], module.forward_inference(batch)[Columns.ACTION_DIST_INPUTS])
    multi_path = MultiRLModule({"hero": module}).save_to_path(tmp_path / "multi")
    with pytest.raises(CheckpointClassError, match=r"module_class=\{'hero': NotebookModule\}"):
        MultiRLModule.from_checkpoint(multi_path)
    assert type(MultiRLModule.from_checkpoint(multi_path, module_class={"hero": NotebookModule})["hero"]) is NotebookModule


def test_class_that_is_not_an_rl_module(ckpt):
    _edit_record(ckpt, spec__module_class="checkpoint_modules:NotAModule")
    with pytest.raises(TypeError, match=re.escape(str(ckpt / "rlkit_checkpoint.json")) + r" names 'checkpoint_modules:NotAModule' as the module class, but NotAModule is not an RLModule subclass.*module_class="):
        RLModule.from_checkpoint(ckpt)
    with pytest.raises(CheckpointError):  # the documented catch-all base, too
        RLModule.from_checkpoint(ckpt)
    with pytest.raises(TypeError, match=r"module_class must be an RLModule subclass, got <class 'torch.nn.modules.linear.Linear'>"):
        RLModule.from_checkpoint(ckpt, module_class=torch.nn.Linear)


def test_wrong_loader_for_the_checkpoint_kind(tmp_path):
    single = tiny(0).save_to_path(tmp_path / "single")
    multi = MultiRLModule({"a": tiny(1)}).save_to_path(tmp_path / "multi")
    with pytest.raises(TypeError, match=r"holds a TinyActorCritic, not a MultiRLModule"):
        MultiRLModule.from_checkpoint(single)
    with pytest.raises(TypeError, match=r"holds a MultiRLModule, not a OtherNames"):
        OtherNames.from_checkpoint(multi)
    with pytest.raises(TypeError, match=r"holds a MultiRLModule checkpoint \(module ids \['a'\]\).*restore_from_path\(.*modules/a'\)"):
        tiny(2).restore_from_path(multi)
    with pytest.raises(TypeError, match=r"holds a single-module checkpoint.*multi\[module_id\].restore_from_path"):
        MultiRLModule({"a": tiny(3)}).restore_from_path(single)


# ------------------------------------------------------------------------------ architecture


def test_architecture_mismatch_lists_every_key_with_both_shapes(tmp_path):
    path = tiny(0, model_config={"hidden": 16}).save_to_path(tmp_path / "ckpt")
    wider = tiny(1, model_config={"hidden": 32})
    before = {k: v.clone() for k, v in wider.state_dict().items()}
    weights = re.escape(str(path / "model.safetensors"))
    with pytest.raises(StateMismatchError, match=rf"size mismatch for encoder.0.weight: shape \[16, 4\] in {weights}, the shape in the current module is \[32, 4\]") as err:
        wider.restore_from_path(path)
    message = str(err.value)
    for key, saved, here in [("encoder.0.bias", [16], [32]), ("pi.weight", [3, 16], [3, 32]), ("vf.weight", [1, 16], [1, 32])]:
        assert f"size mismatch for {key}: shape {saved} in {path / 'model.safetensors'}, the shape in the current module is {here}" in message
    assert "model_config: saved {'hidden': 16}, this module has {'hidden': 32}" in message
    assert set(err.value.wrong_shape) == {"encoder.0.weight", "encoder.0.bias", "pi.weight", "vf.weight"}
    assert all(torch.equal(before[k], v) for k, v in wider.state_dict().items())  # nothing was loaded


def test_architecture_mismatch_lists_missing_and_unexpected_keys(tmp_path):
    path = tiny(0).save_to_path(tmp_path / "ckpt")
    with pytest.raises(StateMismatchError, match=r"missing keys \(in the module, not in .*model.safetensors\): policy.weight, policy.bias, value.weight, value.bias") as err:
        OtherNames(**SPACES).restore_from_path(path)
    assert "unexpected keys (in " in str(err.value) and "obs_scale, pi.weight, pi.bias, vf.weight, vf.bias" in str(err.value)
    assert "module_class: saved 'checkpoint_modules:TinyActorCritic'" in str(err.value)
    assert set(err.value.unexpected) == {"pi.weight", "pi.bias", "obs_scale", "vf.weight", "vf.bias"}


def test_other_spaces_mismatch(tmp_path):
    path = tiny(0).save_to_path(tmp_path / "ckpt")
    other = TinyActorCritic(observation_space=gym.spaces.Box(-1.0, 1.0, (6,)), action_space=gym.spaces.Discrete(3))
    with pytest.raises(StateMismatchError, match=r"(?s)size mismatch for encoder.0.weight: shape \[16, 4\].*is \[16, 6\].*observation_space: saved"):
        other.restore_from_path(path)


def test_multi_mismatch_is_one_error_over_all_modules(tmp_path):
    path = MultiRLModule({"a": tiny(0), "b": tiny(1)}).save_to_path(tmp_path / "multi")
    with pytest.raises(StateMismatchError, match=r"holds module ids \['a', 'b'\], this MultiRLModule has \['a', 'c'\]: missing from the checkpoint \['c'\], not in this MultiRLModule \['b'\]"):
        MultiRLModule({"a": tiny(2), "c": tiny(3)}).restore_from_path(path)
    target = MultiRLModule({"a": tiny(4, model_config={"hidden": 8}), "b": tiny(5, model_config={"hidden": 9})})
    before = {k: v.clone() for k, v in target.state_dict().items()}
    with pytest.raises(StateMismatchError) as err:
        target.restore_from_path(path)
    message = str(err.value)
    assert "TinyActorCritic (module id 'a')" in message and "TinyActorCritic (module id 'b')" in message
    assert str(path / "modules" / "a" / "model.safetensors") in message and str(path / "modules" / "b" / "model.safetensors") in message
    assert "a.encoder.0.weight" in err.value.wrong_shape and "b.encoder.0.weight" in err.value.wrong_shape
    assert all(torch.equal(before[k], v) for k, v in target.state_dict().items())


# ------------------------------------------------------------------------------ saving


def test_saving_never_overwrites_other_things(tmp_path):
    (tmp_path / "precious").mkdir()
    (tmp_path / "precious" / "thesis.tex").write_text("years of work")
    with pytest.raises(FileExistsError, match=r"precious: the folder exists and is not an rlkit checkpoint \(no rlkit_checkpoint.json; it contains thesis.tex\).*Choose a new folder"):
        tiny(0).save_to_path(tmp_path / "precious")
    assert (tmp_path / "precious" / "thesis.tex").read_text() == "years of work"
    (tmp_path / "file").write_text("x")
    with pytest.raises(FileExistsError, match=r"a file with that name exists"):
        tiny(0).save_to_path(tmp_path / "file")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "precious"]  # no leftovers


def test_metadata_must_be_json(tmp_path):
    with pytest.raises(ValueError, match=r"metadata\['optimizer'\] = .*cannot be stored as JSON.*save_to_path\(path, \*\*metadata\)"):
        tiny(0).save_to_path(tmp_path / "ckpt", optimizer=object())
    assert not (tmp_path / "ckpt").exists()


def test_save_module_rejects_other_objects(tmp_path):
    with pytest.raises(TypeError, match=r"save_module\(\) expects an RLModule or a MultiRLModule, got Linear.*write_checkpoint_dir"):
        save_module(torch.nn.Linear(2, 2), tmp_path / "x")


def test_every_error_is_a_checkpoint_error():
    for cls in (CheckpointNotFoundError, CheckpointCorruptError, CheckpointVersionError, UnsafeCheckpointError, CheckpointClassError):
        assert issubclass(cls, CheckpointError)
