"""Atomic saves: a save killed at any moment leaves the previous or the new checkpoint, whole."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import torch
from checkpoint_modules import KILL_MODEL_CONFIG, matches_version, tiny, versioned_state

from rlkit import RLModule
from rlkit.checkpoints import atomic, load_checkpoint, load_module
from rlkit.checkpoints.atomic import _leftover_name, leftovers, wait_for_cleanup

HERE = Path(__file__).parent


@pytest.fixture(params=["exchange", "rename"])
def swap_mode(request, monkeypatch):
    """Both ways of swapping the folder in: Linux's atomic exchange and the two-rename fallback."""
    monkeypatch.setattr(atomic, "USE_RENAME_EXCHANGE", request.param == "exchange")
    return request.param


def _names(folder: Path) -> list[str]:
    wait_for_cleanup()  # replaced folders are deleted on a background thread
    return sorted(p.name for p in folder.iterdir())


def _leftovers(target: Path) -> list:
    wait_for_cleanup()
    return leftovers(target)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork and SIGKILL")
def test_sigkill_while_saving_leaves_a_whole_checkpoint(tmp_path):
    """A subprocess forks savers and SIGKILLs each at a random moment, in both swap modes;
    after every kill the checkpoint must load and equal one whole saved version (its
    metadata and its weights agree), never older than the one before."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
    run = subprocess.run(
        [sys.executable, str(HERE / "checkpoint_modules.py"), str(tmp_path), "8", "exchange,rename", "1234"],
        capture_output=True, text=True, timeout=120, env=env,
    )
    assert run.returncode == 0, run.stderr
    rows = [json.loads(line) for line in run.stdout.splitlines()]
    for mode in ("exchange", "rename"):
        mine = [row for row in rows if row["mode"] == mode]
        assert len(mine) == 8
        assert all(row["whole"] for row in mine), mine
        versions = [row["version"] for row in mine]
        assert versions == sorted(versions)  # never back to an older save
        assert len(set(versions)) > 1  # kills landed both before and after saves completed
        # The next save clears whatever the kills left behind.
        target = tmp_path / mode
        module = tiny(0, model_config=KILL_MODEL_CONFIG)
        versioned_state(module, 99_999)
        module.save_to_path(target, version=99_999)
        assert _leftovers(target) == []
        assert matches_version(load_checkpoint(target)["module_state"], 99_999)
    assert _names(tmp_path) == ["exchange", "rename"]


def test_killed_before_the_swap_keeps_the_previous_checkpoint(tmp_path, swap_mode):
    previous, new = tiny(0), tiny(1)
    target = previous.save_to_path(tmp_path / "ckpt", n=1)
    # A save killed while writing: a half-written temporary folder next to the target.
    partial = _leftover_name(target, "tmp")
    partial.mkdir()
    (partial / "model.safetensors").write_bytes(b"\x00" * 10)
    # A save killed after writing everything, just before swapping it in.
    complete = _leftover_name(target, "tmp")
    new.save_to_path(tmp_path / "elsewhere")
    shutil.copytree(tmp_path / "elsewhere", complete)
    assert load_checkpoint(target)["metadata"] == {"n": 1}  # loads ignore leftovers
    assert len(leftovers(target)) == 2
    new.save_to_path(target, n=2)  # the next save clears them
    assert _leftovers(target) == []
    assert load_checkpoint(target)["metadata"] == {"n": 2}


def test_killed_between_the_two_renames_recovers_the_previous_checkpoint(tmp_path, swap_mode):
    previous, new = tiny(0), tiny(1)
    target = previous.save_to_path(tmp_path / "ckpt", n=1)
    new.save_to_path(tmp_path / "next", n=2)
    # The fallback swap renamed the target aside, then died before renaming the new one in.
    os.rename(target, _leftover_name(target, "old"))
    os.rename(tmp_path / "next", _leftover_name(target, "tmp"))
    assert not target.exists()
    rebuilt = load_module(target)  # recovers the previous checkpoint
    assert target.is_dir() and load_checkpoint(target)["metadata"] == {"n": 1}
    assert all(torch.equal(a, b) for a, b in zip(rebuilt.state_dict().values(), previous.state_dict().values()))
    new.save_to_path(target, n=3)
    assert _leftovers(target) == [] and _names(tmp_path) == ["ckpt"]


def test_killed_after_the_swap_leaves_the_new_checkpoint(tmp_path, swap_mode):
    target = tiny(0).save_to_path(tmp_path / "ckpt", n=1)
    shutil.copytree(target, _leftover_name(target, "old"))  # the old folder was not deleted yet
    tiny(1).save_to_path(tmp_path / "new", n=2)
    shutil.rmtree(target)
    os.rename(tmp_path / "new", target)
    assert load_checkpoint(target)["metadata"] == {"n": 2}
    tiny(2).save_to_path(target, n=3)
    assert _leftovers(target) == []


def test_a_failing_save_leaves_the_previous_checkpoint(tmp_path, swap_mode, monkeypatch):
    target = tiny(0).save_to_path(tmp_path / "ckpt", n=1)
    from rlkit.checkpoints import format as fmt

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fmt, "write_weights", disk_full)
    with pytest.raises(OSError, match="No space left"):
        tiny(1).save_to_path(target, n=2)
    assert load_checkpoint(target)["metadata"] == {"n": 1}
    assert _names(tmp_path) == ["ckpt"]


def test_overwrite_in_both_swap_modes(tmp_path, swap_mode):
    for n in range(3):
        tiny(n).save_to_path(tmp_path / "ckpt", n=n)
        assert load_checkpoint(tmp_path / "ckpt")["metadata"] == {"n": n}
    assert _names(tmp_path) == ["ckpt"]


def test_readers_never_see_a_mix_while_a_writer_saves(tmp_path, swap_mode):
    module = tiny(0, model_config={"hidden": 64})
    versioned_state(module, 0)
    target = module.save_to_path(tmp_path / "ckpt", version=0)
    stop, errors, seen = threading.Event(), [], set()

    def writer():
        for version in range(1, 25):
            versioned_state(module, version)
            module.save_to_path(target, version=version)
        stop.set()

    def reader():
        while not stop.is_set():
            try:
                ckpt = load_checkpoint(target)
                version = ckpt["metadata"]["version"]
                seen.add(version)
                if not matches_version(ckpt["module_state"], version):
                    errors.append(f"mixed checkpoint at version {version}")
            except Exception as err:  # noqa: BLE001 - collected and reported below
                errors.append(repr(err))

    threads = [threading.Thread(target=writer), threading.Thread(target=reader)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors[:3]
    assert len(seen) > 1


def test_saves_from_threads_do_not_collide(tmp_path, swap_mode):
    errors = []

    def save(i):
        try:
            for _ in range(5):
                tiny(i).save_to_path(tmp_path / "ckpt", who=i)
        except Exception as err:  # noqa: BLE001
            errors.append(repr(err))

    threads = [threading.Thread(target=save, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    assert load_checkpoint(tmp_path / "ckpt")["metadata"]["who"] in (0, 1, 2)
    assert isinstance(RLModule.from_checkpoint(tmp_path / "ckpt"), RLModule)
    assert _names(tmp_path) == ["ckpt"]
