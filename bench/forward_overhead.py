"""Overhead of the RLModule contract, as ratios measured in one run.

1. ``forward_inference`` of an RLModule vs the same layers called as a bare ``nn.Module``
   (CartPole spaces, 2x64 MLP, batch 1). Target <= 1.15x.
2. Sampling from rlkit's ``Categorical`` vs ``torch.distributions.Categorical``
   (logits of the same forward pass). Target <= 0.5x.
3. ``python -c "import rlkit"`` vs ``python -c "import torch, gymnasium"``. Target <= 1.1x.

Run: ``python bench/forward_overhead.py``
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
import timeit

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from rlkit import Columns, RLModule
from rlkit.distributions import get_action_dist_cls

torch.set_num_threads(1)
OBS = gym.spaces.Box(-np.inf, np.inf, (4,), np.float32)
ACT = gym.spaces.Discrete(2)


class Bare(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(4, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh())
        self.pi = nn.Linear(64, 2)
        self.vf = nn.Linear(64, 1)

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.encoder(obs)
        return self.pi(h), self.vf(h).squeeze(-1)


class Module(RLModule):
    def setup(self) -> None:
        self.net = Bare()

    def _forward(self, batch, **kwargs):
        logits, values = self.net(batch[Columns.OBS])
        return {Columns.ACTION_DIST_INPUTS: logits, Columns.VF_PREDS: values}


def per_call_us(fn, number: int = 2000, repeat: int = 15) -> float:
    """Median over ``repeat`` runs of the mean time per call, in microseconds."""
    fn()
    return statistics.median(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e6


def import_time_s(code: str, repeat: int = 7) -> float:
    # Bytecode caching on, as in a normal install (some shells set PYTHONDONTWRITEBYTECODE,
    # which would time compiling rlkit's sources, not importing them); one warm-up run.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, env=env)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    module = Module(observation_space=OBS, action_space=ACT)
    bare = module.net
    obs = np.random.default_rng(0).standard_normal((1, 4)).astype(np.float32)

    def bare_forward():
        with torch.no_grad():
            return bare(torch.as_tensor(obs))

    def module_forward():
        return module.forward_inference({Columns.OBS: obs})

    # Interleave to share the machine's noise between the two.
    t_bare = min(per_call_us(bare_forward) for _ in range(3))
    t_module = min(per_call_us(module_forward) for _ in range(3))

    logits = module_forward()[Columns.ACTION_DIST_INPUTS]
    ours = get_action_dist_cls(ACT)
    t_torch_dist = per_call_us(lambda: torch.distributions.Categorical(logits=logits).sample())
    t_ours_dist = per_call_us(lambda: ours.from_logits(logits).sample())

    t_import_base = import_time_s("import torch, gymnasium")
    t_import_rlkit = import_time_s("import rlkit")

    rows = [
        ("forward_inference vs bare layers (batch 1)", t_module, t_bare, 1.15, "us"),
        ("Categorical sample vs torch.distributions", t_ours_dist, t_torch_dist, 0.5, "us"),
        ("import rlkit vs import torch, gymnasium", t_import_rlkit * 1e3, t_import_base * 1e3, 1.1, "ms"),
    ]
    print(f"{'measure':46s} {'rlkit':>10s} {'baseline':>10s} {'ratio':>7s} {'target':>7s}")
    for name, ours_t, base_t, target, unit in rows:
        ratio = ours_t / base_t
        flag = "ok" if ratio <= target else "MISS"
        print(f"{name:46s} {ours_t:8.1f}{unit} {base_t:8.1f}{unit} {ratio:6.2f}x {target:5.2f}x {flag}")


if __name__ == "__main__":
    main()
