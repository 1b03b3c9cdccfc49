"""Small importable RLModules for the checkpoint tests, and the save-loop the SIGKILL test runs.

Run as a script (``python checkpoint_modules.py FOLDER ITERATIONS MODES SEED``) it forks a
child that saves in a loop, SIGKILLs it at a random moment, checks the checkpoint, and
repeats, for each swap mode in MODES ("exchange,rename"); it prints one JSON line per kill.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sys
import time

import gymnasium as gym
import torch
from torch import nn

from rlkit import Columns, RLModule


class TinyActorCritic(RLModule):
    """Encoder -> policy head and value head. ``model_config``: ``{"hidden": int}``."""

    def setup(self) -> None:
        hidden = int(self.model_config.get("hidden", 16))
        n_in = int(gym.spaces.flatdim(self.observation_space))
        self.encoder = nn.Sequential(nn.Linear(n_in, hidden), nn.Tanh())
        self.pi = nn.Linear(hidden, int(self.action_space.n))
        self.register_buffer("obs_scale", torch.ones(n_in))  # buffers are saved too
        if not self.inference_only:
            self.vf = nn.Linear(hidden, 1)

    def get_non_inference_attributes(self) -> list[str]:
        return ["vf"]

    def _forward(self, batch, **kwargs):
        obs = batch[Columns.OBS].float().reshape(batch[Columns.OBS].shape[0], -1)
        z = self.encoder(obs * self.obs_scale)
        out = {Columns.ACTION_DIST_INPUTS: self.pi(z), Columns.EMBEDDINGS: z}
        if not self.inference_only:
            out[Columns.VF_PREDS] = self.vf(z).squeeze(-1)
        return out


class OtherNames(RLModule):
    """Same layer sizes as TinyActorCritic under other attribute names: other state-dict keys."""

    def setup(self) -> None:
        n_in = int(gym.spaces.flatdim(self.observation_space))
        self.encoder = nn.Sequential(nn.Linear(n_in, 16), nn.Tanh())
        self.policy = nn.Linear(16, int(self.action_space.n))
        self.value = nn.Linear(16, 1)

    def _forward(self, batch, **kwargs):
        z = self.encoder(batch[Columns.OBS].float())
        return {Columns.ACTION_DIST_INPUTS: self.policy(z), Columns.VF_PREDS: self.value(z).squeeze(-1)}


class TiedWeights(RLModule):
    """Two attributes share one Linear (tensors sharing memory must still save)."""

    def setup(self) -> None:
        self.pi = nn.Linear(int(gym.spaces.flatdim(self.observation_space)), int(self.action_space.n))
        self.pi_alias = self.pi

    def _forward(self, batch, **kwargs):
        return {Columns.ACTION_DIST_INPUTS: self.pi(batch[Columns.OBS].float())}


class NotAModule:
    """A class that is not an RLModule (its path planted in a checkpoint must be refused)."""


SPACES = dict(observation_space=gym.spaces.Box(-1.0, 1.0, (4,)), action_space=gym.spaces.Discrete(3))


def tiny(seed: int, **kwargs) -> TinyActorCritic:
    torch.manual_seed(seed)
    return TinyActorCritic(**{**SPACES, **kwargs})


# ------------------------------------------------------------------------------ SIGKILL loop


def versioned_state(module: RLModule, version: int) -> None:
    """Fill every tensor with values that encode ``version`` (so a loaded file tells which save it was)."""
    with torch.no_grad():
        for i, t in enumerate(module.state_dict().values()):
            t.copy_(torch.full_like(t, float(version)) + i)


def matches_version(state: dict, version: int) -> bool:
    return all(torch.equal(t, torch.full_like(t, float(version)) + i) for i, t in enumerate(state.values()))


KILL_MODEL_CONFIG = {"hidden": 50_000}  # ~1 MB of weights: a save takes a few milliseconds


def _save_forever(path: str, first_version: int) -> None:
    module = TinyActorCritic(**SPACES, model_config=KILL_MODEL_CONFIG)
    version = first_version
    while True:
        versioned_state(module, version)
        module.save_to_path(path, version=version)
        version += 1


def kill_loop(path: str, iterations: int, seed: int = 0) -> list[dict]:
    """Save once, then ``iterations`` times: fork a saver, SIGKILL it at a random moment,
    and check that the checkpoint loads and equals one whole saved version."""
    from rlkit.checkpoints import load_checkpoint
    from rlkit.checkpoints.atomic import leftovers

    torch.set_num_threads(1)
    rng = random.Random(seed)
    module = TinyActorCritic(**SPACES, model_config=KILL_MODEL_CONFIG)
    times = []
    for _ in range(3):  # warm: the first save pays for imports
        versioned_state(module, 0)
        start = time.perf_counter()
        module.save_to_path(path, version=0)
        times.append(time.perf_counter() - start)
    save_time = sorted(times)[1]
    results, next_version = [], 1
    for i in range(iterations):
        before = load_checkpoint(path)["metadata"]["version"]
        pid = os.fork()
        if pid == 0:  # the child saves until it is killed
            try:
                _save_forever(path, next_version)
            finally:
                os._exit(1)
        if i == iterations - 1:
            # The last kill lands after a completed save, even on a loaded machine where the
            # child may not have run at all before the random kills.
            deadline = time.monotonic() + 30
            while load_checkpoint(path)["metadata"]["version"] == before and time.monotonic() < deadline:
                time.sleep(save_time / 4)
        time.sleep(rng.uniform(0.0, 5 * save_time))  # land anywhere in the first few saves
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        leftover = [str(p.name) for p, _, _ in leftovers(path)]
        ckpt = load_checkpoint(path)
        version = ckpt["metadata"]["version"]
        results.append({
            "version": version,
            "whole": matches_version(ckpt["module_state"], version),
            "leftovers_after_kill": leftover,
        })
        next_version = max(next_version, version + 1) + 1000  # keep versions distinct across children
    return results


if __name__ == "__main__":
    from rlkit.checkpoints import atomic

    folder, n, modes, seed = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(","), int(sys.argv[4])
    for mode in modes:
        atomic.USE_RENAME_EXCHANGE = mode == "exchange"
        for row in kill_loop(os.path.join(folder, mode), n, seed=seed):
            print(json.dumps({"mode": mode, **row}), flush=True)


# ------------------------------------------------------------------------------ pickle guards

import pickle as _pickle  # noqa: E402

import pytest  # noqa: E402

_real_loads = _pickle.loads


class Bomb:
    """Unpickling this creates the file ``marker``: proof that a pickle was executed."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def unpickle_for_real(data: bytes):
    """The real ``pickle.loads`` (the tests use it once, to prove the Bomb is live)."""
    return _real_loads(data)


@pytest.fixture
def no_unpickling(monkeypatch):
    """Make every unpickling entry point fail loudly: checkpoint loading must never use them."""

    def refuse(*args, **kwargs):
        raise AssertionError("a checkpoint load tried to unpickle")

    for name in ("load", "loads", "Unpickler"):
        monkeypatch.setattr(_pickle, name, refuse)
    monkeypatch.setattr(torch, "load", refuse)
