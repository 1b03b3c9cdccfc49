"""Sampling throughput of rlkit's rollout vs hand-written loops and Stable-Baselines3, in one run.

CartPole-v1, the default actor-critic with ``fcnet_hiddens=[64, 64]`` (shared encoder, policy
and value heads), 20k env steps per variant, ``torch.set_num_threads(1)`` for all:

(a) ``rlkit.rollouts.rollout`` with full recording (obs, actions, rewards, flags, episode
    ids, dist inputs, values, logp, prob, entropy, greedy action, probs, bootstrap values),
    one env;
(b) a lean hand-written loop without recording: obs -> tensor, the same layers called bare,
    Gumbel-max sampling without ``torch.distributions`` (policy and value, as a PPO sampler
    needs both) -- the practical limit;
(c) a textbook loop: ``torch.distributions.Categorical``, ``log_prob``, appending every
    step's obs / action / logp / value / reward / done to Python lists;
(d) rlkit's rollout on a ``SyncVectorEnv`` of 8 CartPoles (one batched forward per step);
(e) Stable-Baselines3 ``PPO.collect_rollouts`` with 8 envs (``DummyVecEnv``, its default
    ``MlpPolicy`` 64x64), if ``stable-baselines3`` is installed (``pip install rlkit[bench]``).

Targets: (a) >= 0.8 x (b), (a) >= 1.5 x (c), (d) >= 2 x (e). Every variant runs ``--repeats``
times, interleaved, and its best time counts (the machine is shared; the best run is the
least disturbed one). Ratios are printed for wall-clock time and, in brackets, for the
process's CPU time, which a busy machine disturbs less. SB3 runs on its own DummyVecEnv and
64x64 separate policy / value MLPs (its defaults), so it computes slightly more per step.

Run: ``python bench/rollout_throughput.py [--steps 20000] [--repeats 3]``
"""

from __future__ import annotations

import argparse
import time
from typing import Callable

import gymnasium as gym
import numpy as np
import torch

from rlkit import RLModuleSpec
from rlkit.rollouts import rollout

ENV_ID = "CartPole-v1"
MODEL_CONFIG = {"fcnet_hiddens": [64, 64]}


def build_module():
    env = gym.make(ENV_ID)
    torch.manual_seed(0)
    return RLModuleSpec(observation_space=env.observation_space, action_space=env.action_space,
                        model_config=MODEL_CONFIG).build()


def bare_layers(module) -> tuple[torch.nn.Module, torch.nn.Module, torch.nn.Module]:
    """The module's own layers as plain ``nn.Module`` s (no RLModule wrapper)."""
    return module.encoder, module.pi_head, module.vf_head


# ------------------------------------------------------------------ the variants


def run_rlkit_single(module, steps: int) -> None:
    env = gym.make(ENV_ID)
    r = rollout(module, env, num_steps=steps, seed=0)
    assert len(r) == steps


def run_lean(module, steps: int) -> None:
    encoder, pi, vf = bare_layers(module)
    env = gym.make(ENV_ID)
    obs, _ = env.reset(seed=0)
    with torch.no_grad():
        for _ in range(steps):
            h = encoder(torch.as_tensor(obs).unsqueeze(0))
            logits = pi(h)
            vf(h)
            noise = torch.empty_like(logits).exponential_().log_()  # Gumbel-max: argmax(logits - log E)
            action = int((logits - noise).argmax())
            obs, _, terminated, truncated, _ = env.step(action)
            if terminated or truncated:
                obs, _ = env.reset()


def run_textbook(module, steps: int) -> None:
    encoder, pi, vf = bare_layers(module)
    env = gym.make(ENV_ID)
    obs, _ = env.reset(seed=0)
    observations, actions, logps, values, rewards, dones = [], [], [], [], [], []
    with torch.no_grad():
        for _ in range(steps):
            obs_t = torch.as_tensor(obs, dtype=torch.float32).unsqueeze(0)
            h = encoder(obs_t)
            dist = torch.distributions.Categorical(logits=pi(h))
            action = dist.sample()
            observations.append(obs)
            actions.append(action.item())
            logps.append(dist.log_prob(action).item())
            values.append(vf(h).item())
            obs, reward, terminated, truncated, _ = env.step(action.item())
            rewards.append(reward)
            dones.append(terminated or truncated)
            if terminated or truncated:
                obs, _ = env.reset()
    np.array(observations), np.array(actions), np.array(logps), np.array(values), np.array(rewards)


def run_rlkit_vector(module, steps: int) -> None:
    envs = gym.make_vec(ENV_ID, num_envs=8, vectorization_mode="sync")
    r = rollout(module, envs, num_steps=steps, seed=0)
    assert len(r) >= steps


def make_sb3(steps: int):
    """A Stable-Baselines3 PPO ready to ``collect_rollouts`` ``steps`` env steps over 8 envs."""
    try:
        from stable_baselines3 import PPO
        from stable_baselines3.common.env_util import make_vec_env
    except ImportError:
        return None
    envs = make_vec_env(ENV_ID, n_envs=8, seed=0)
    model = PPO("MlpPolicy", envs, n_steps=steps // 8, batch_size=100, seed=0, device="cpu", verbose=0)
    return model


def run_sb3(model, steps: int) -> None:
    _, callback = model._setup_learn(steps, callback=None, reset_num_timesteps=True)
    callback.on_training_start(locals(), globals())
    ok = model.collect_rollouts(model.env, callback, model.rollout_buffer, n_rollout_steps=model.n_steps)
    assert ok and model.rollout_buffer.full


# ------------------------------------------------------------------ timing


def timed(fn: Callable[[], None], wall: list[float], cpu: list[float]) -> None:
    """Run ``fn`` once; record its wall-clock and its process CPU time."""
    w0, c0 = time.perf_counter(), time.process_time()
    fn()
    wall.append(time.perf_counter() - w0)
    cpu.append(time.process_time() - c0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    steps = args.steps
    torch.set_num_threads(1)
    module = build_module()
    variants: dict[str, Callable[[], None]] = {
        "(a) rlkit rollout, 1 env, full recording": lambda: run_rlkit_single(module, steps),
        "(b) lean loop, no recording": lambda: run_lean(module, steps),
        "(c) textbook loop (torch.distributions, lists)": lambda: run_textbook(module, steps),
        "(d) rlkit rollout, SyncVectorEnv x8": lambda: run_rlkit_vector(module, steps),
    }
    sb3 = make_sb3(steps)
    if sb3 is not None:
        variants["(e) SB3 collect_rollouts, 8 envs"] = lambda: run_sb3(sb3, steps)
    for fn in variants.values():  # warm-up (imports, allocator, first-call costs)
        fn()
    wall: dict[str, list[float]] = {name: [] for name in variants}
    cpu: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(args.repeats):
        for name, fn in variants.items():
            timed(fn, wall[name], cpu[name])
    print(f"{ENV_ID}, default module {MODEL_CONFIG}, {steps} steps, best of {args.repeats}, torch threads = 1")
    print(f"  {'':<50} {'wall clock':>12} {'CPU time':>12}")
    for name in variants:
        print(f"  {name:<50} {steps / min(wall[name]):>8,.0f} st/s {steps / min(cpu[name]):>8,.0f} st/s")
    keys = list(variants)
    print("ratios (wall clock; CPU time in brackets, steadier on a shared machine):")

    def ratio(x: str, y: str, target: float) -> None:
        w = min(wall[y]) / min(wall[x])
        c = min(cpu[y]) / min(cpu[x])
        print(f"  {x[:3]} / {y[:3]} = {w:.2f}  [{c:.2f}]   target >= {target}")

    ratio(keys[0], keys[1], 0.8)
    ratio(keys[0], keys[2], 1.5)
    if sb3 is not None:
        ratio(keys[3], keys[4], 2.0)
    else:
        print("  (d) / (e) skipped: stable-baselines3 is not installed (pip install 'rlkit[bench]', "
              "or pip install --no-deps stable-baselines3 to keep your torch)")


if __name__ == "__main__":
    main()
