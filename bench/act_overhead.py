"""Benchmark (issue 3): the cost of ``module.act()`` / ``forward_inference`` over hand-written PyTorch.

CartPole-v1, the default module with ``fcnet_hiddens=[64, 64]``, batch 1 (one env step at a
time, the notebook and rollout case). Baselines, measured in the same run on the same weights:

* lean step: ``torch.as_tensor`` + ``unsqueeze``, the bare layers (an encoder
  ``nn.Sequential`` of Linear/Tanh and a linear policy head, see :class:`BareActor`), then
  ``argmax`` (greedy) or ``torch.multinomial`` on the softmax (sampling), without
  ``torch.distributions``;
* bare layers: the same layers (actor and value head) on an already-converted ``(1, 4)`` tensor.

Each candidate runs ``--steps`` calls per round over recorded CartPole observations; rounds
interleave the candidates, and the ratio uses each one's fastest round (the least disturbed
by other processes) with the median ratio next to it. Times are the thread's CPU time by
default (``--clock wall`` for wall time), so that waiting for a busy CPU does not count. Targets: ``act()`` <= 1.3x the lean
step, ``forward_inference`` <= 1.15x the bare layers. Run::

    .venv/bin/python bench/act_overhead.py [--steps 200] [--rounds 80]
"""

from __future__ import annotations

import argparse
import statistics
import time

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from rlkit import Columns, RLModuleSpec


def record_observations(n: int, seed: int = 0) -> list[np.ndarray]:
    """``n`` CartPole observations from a random policy (resetting when episodes end)."""
    env = gym.make("CartPole-v1")
    obs, _ = env.reset(seed=seed)
    env.action_space.seed(seed)
    out = []
    while len(out) < n:
        out.append(obs)
        obs, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated or truncated:
            obs, _ = env.reset()
    return out


class BareActorCritic(nn.Module):
    """What ``forward_inference`` computes, as bare layers: the actor plus a linear value head."""

    def __init__(self, module, actor: nn.Module) -> None:
        super().__init__()
        self.actor = actor
        self.value_head = nn.Linear(64, 1)
        with torch.no_grad():
            self.value_head.weight.copy_(module.vf_head.out.weight)
            self.value_head.bias.copy_(module.vf_head.out.bias)
        self.eval()

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.actor.encoder(x)  # (1, 4) -> (1, 64)
        return self.actor.policy_head(h), self.value_head(h).squeeze(-1)  # (1, 2), (1,)


class BareActor(nn.Module):
    """The module's policy as bare torch layers with the same weights: an encoder
    ``nn.Sequential`` (Linear-Tanh-Linear-Tanh) and a linear policy head, the way the
    RLModule reference snippet lays out an actor (``self.encoder``, ``self.policy_head``)."""

    def __init__(self, module) -> None:
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(4, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh())
        self.policy_head = nn.Linear(64, module.action_space.n)
        with torch.no_grad():
            pairs = ((self.encoder[0], module.encoder[0]), (self.encoder[2], module.encoder[2]),
                     (self.policy_head, module.pi_head.out))
            for dst, src in pairs:
                dst.weight.copy_(src.weight)
                dst.bias.copy_(src.bias)
        self.eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.policy_head(self.encoder(x))  # (1, 4) -> (1, 64) -> (1, 2)


def time_rounds(candidates: dict, inputs: list, steps: int, rounds: int, clock) -> dict[str, list[float]]:
    """Seconds per call, one entry per round, for each candidate (rounds interleave them)."""
    times: dict[str, list[float]] = {name: [] for name in candidates}
    n = len(inputs)
    for _ in range(rounds):
        for name, fn in candidates.items():
            start = clock()
            for i in range(steps):
                fn(inputs[i % n])
            times[name].append((clock() - start) / steps)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200, help="calls per candidate per round")
    parser.add_argument("--rounds", type=int, default=80, help="interleaved rounds")
    parser.add_argument("--clock", choices=["cpu", "wall"], default="cpu",
                        help="cpu: this thread's CPU time (steady on a shared, busy machine); wall: perf_counter")
    args = parser.parse_args()
    clock = time.thread_time if args.clock == "cpu" else time.perf_counter
    torch.set_num_threads(1)  # batch-1 work: keep both sides on one thread
    torch.manual_seed(0)

    env = gym.make("CartPole-v1")
    module = RLModuleSpec(
        observation_space=env.observation_space,
        action_space=env.action_space,
        model_config={"fcnet_hiddens": [64, 64]},
    ).build()
    actor = BareActor(module)
    observations = record_observations(512)
    tensors = [torch.as_tensor(o).unsqueeze(0) for o in observations]

    def lean_greedy(obs: np.ndarray) -> int:
        with torch.no_grad():
            x = torch.as_tensor(obs, dtype=torch.float32).unsqueeze(0)  # (4,) -> (1, 4)
            return int(actor(x).argmax(-1))

    def lean_sample(obs: np.ndarray) -> int:
        with torch.no_grad():
            x = torch.as_tensor(obs, dtype=torch.float32).unsqueeze(0)
            return int(torch.multinomial(actor(x).softmax(-1), 1))  # (1, 2) probs -> one index

    actor_critic = BareActorCritic(module, actor)

    def bare_layers(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.no_grad():
            return actor_critic(x)

    def forward_inference(x: torch.Tensor) -> dict:
        return module.forward_inference({Columns.OBS: x})

    # Same weights, same answers: the comparison is about overhead only.
    for obs, x in zip(observations[:64], tensors[:64]):
        if int(module.act(obs)) != lean_greedy(obs):
            raise SystemExit("act() and the lean step disagree: the comparison would be meaningless.")
        if not torch.allclose(forward_inference(x)[Columns.ACTION_DIST_INPUTS], bare_layers(x)[0]):
            raise SystemExit("forward_inference and the bare layers disagree.")

    obs_times = time_rounds(
        {
            "lean greedy step": lean_greedy,
            "module.act(obs)": module.act,
            "lean sampling step": lean_sample,
            "module.act(obs, explore=True)": lambda o: module.act(o, explore=True),
        },
        observations, args.steps, args.rounds, clock,
    )
    x_times = time_rounds(
        {"bare layers": bare_layers, "module.forward_inference": forward_inference},
        tensors, args.steps, args.rounds, clock,
    )
    times = {**obs_times, **x_times}

    print(f"CartPole-v1, default module fcnet_hiddens=[64, 64], batch 1, torch {torch.__version__}, "
          f"{args.rounds} rounds x {args.steps} calls, 1 thread, {args.clock} clock")
    print(f"{'':34s}{'fastest round':>15s}{'median round':>15s}")
    for name, ts in times.items():
        print(f"{name:34s}{min(ts) * 1e6:12.1f} us{statistics.median(ts) * 1e6:12.1f} us")
    print()
    print(f"{'ratio':58s}{'fastest':>9s}{'median':>9s}{'target':>9s}")
    for cand, base, target in (
        ("module.act(obs)", "lean greedy step", 1.3),
        ("module.act(obs, explore=True)", "lean sampling step", 1.3),
        ("module.forward_inference", "bare layers", 1.15),
    ):
        fast = min(times[cand]) / min(times[base])
        med = statistics.median(times[cand]) / statistics.median(times[base])
        verdict = "ok" if fast <= target else "OVER"
        print(f"{cand + ' / ' + base:58s}{fast:8.2f}x{med:8.2f}x{target:8.2f}x  {verdict}")
    print("\nnote: act() asks for the policy only (values=False), like the lean steps; "
          "forward_inference also predicts VF_PREDS, and so do its bare layers.")


if __name__ == "__main__":
    main()
