"""Time to solve CartPole-v1 (and optionally Pendulum-v1): rlkit's PPO vs Stable-Baselines3's PPO.

Both libraries train in this process, one after the other, seed by seed, so the timings
share the machine's state. "Solved" = greedy evaluation mean >= 475 over 10 episodes on
CartPole-v1 (>= -250 on Pendulum-v1). Evaluation runs every ``--eval-every`` env steps,
after a policy update, on separate envs, and its time is excluded: the clock counts only
sampling and learning. SB3 uses the rl-baselines3-zoo tuned hyperparameters
(hyperparams/ppo.yml), rlkit its PPOConfig defaults on CartPole (their model is SB3's
MlpPolicy: 2x64 tanh, separate actor and critic). Both train with torch.set_num_threads(1)
(``--threads`` to change it). Wall time is the target; the CPU time of this process over
the same spans is printed too, since other processes on a shared machine inflate wall time.

Targets (issue 6): every rlkit seed solves CartPole; rlkit's median training time
<= 0.5x SB3's. Pendulum: rlkit reaches -250 within 200k steps; wall time shown next to SB3's.

Run:
    python bench/time_to_solve.py                 # CartPole, 3 seeds, both libraries
    python bench/time_to_solve.py --pendulum      # also Pendulum-v1 (minutes)
    python bench/time_to_solve.py --only rlkit    # skip SB3
SB3 is a bench extra (``pip install -e ".[bench]"``, or ``pip install stable-baselines3
--no-deps``); without it the SB3 rows are skipped with a message.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from dataclasses import dataclass
from typing import Any, Callable

import gymnasium as gym
import numpy as np
import torch


@dataclass
class Result:
    library: str
    seed: int
    solved: bool
    env_steps: int
    train_s: float  # wall-clock seconds of sampling + learning
    final_eval: float
    cpu_s: float = float("nan")  # this process's CPU seconds over the same spans


TASKS: dict[str, dict[str, Any]] = {
    "CartPole-v1": {"threshold": 475.0, "max_steps": 100_000, "eval_every": 2048},
    "Pendulum-v1": {"threshold": -250.0, "max_steps": 200_000, "eval_every": 8192},
}


# ------------------------------------------------------------------------------ rlkit


def rlkit_config(env_id: str, seed: int, overrides: dict[str, Any]) -> Any:
    """CartPole: PPOConfig's defaults. Pendulum: SB3 zoo's env count, batch, gamma and lambda,
    with 256-sample minibatches, a higher lr (5e-3) and a smaller clip (0.1), tuned here."""
    from rlkit.algorithms import PPOConfig

    config = PPOConfig().environment(env_id).debugging(seed=seed)
    if env_id == "Pendulum-v1":
        config.env_runners(num_envs_per_env_runner=4).training(
            lr=5e-3, gamma=0.9, lambda_=0.95, clip_param=0.1, train_batch_size=4096, minibatch_size=256, num_epochs=10
        )
    overrides = dict(overrides)
    if "num_envs_per_env_runner" in overrides:
        config.env_runners(num_envs_per_env_runner=overrides.pop("num_envs_per_env_runner"))
    if "model_config" in overrides:
        config.rl_module(model_config=overrides.pop("model_config"))
    return config.training(**overrides)


def describe_rlkit(env_id: str) -> str:
    c = rlkit_config(env_id, 0, {})
    keys = ("num_envs_per_env_runner", "train_batch_size", "minibatch_size", "num_epochs", "lr", "gamma", "lambda_",
            "clip_param", "grad_clip", "vf_loss_coeff", "entropy_coeff")
    return ", ".join(f"{k}={getattr(c, k)}" for k in keys) + ", model 2x64 tanh, separate actor / critic"


def run_rlkit(env_id: str, seed: int, overrides: dict[str, Any], verbose: bool) -> Result:
    task = TASKS[env_id]
    algo = rlkit_config(env_id, seed, overrides).build()
    train_s, cpu_s, last_eval_at, best = 0.0, 0.0, 0, -np.inf
    while algo.num_env_steps_sampled_lifetime < task["max_steps"]:
        start, cpu_start = time.perf_counter(), time.process_time()
        algo.train()
        train_s += time.perf_counter() - start
        cpu_s += time.process_time() - cpu_start
        steps = algo.num_env_steps_sampled_lifetime
        if steps - last_eval_at >= task["eval_every"]:
            last_eval_at = steps
            score = algo.evaluate(num_episodes=10)["episode_return_mean"]
            best = max(best, score)
            if verbose:
                print(f"    rlkit seed {seed}: {steps:>7} steps  {train_s:6.2f} s  greedy {score:8.1f}")
            if score >= task["threshold"]:
                algo.stop()
                return Result("rlkit", seed, True, steps, train_s, score, cpu_s)
    algo.stop()
    return Result("rlkit", seed, False, algo.num_env_steps_sampled_lifetime, train_s, best, cpu_s)


# ------------------------------------------------------------------------------ SB3


def sb3_available() -> str | None:
    try:
        import stable_baselines3  # noqa: F401
    except ImportError as err:
        return f"stable-baselines3 is not installed ({err}); pip install stable-baselines3 --no-deps"
    return None


def greedy_eval(predict: Callable[[np.ndarray], np.ndarray], env_id: str, seed: int, episodes: int = 10) -> float:
    """Mean return of ``episodes`` greedy episodes, one per sub-env of a vector env."""
    envs = gym.make_vec(env_id, num_envs=episodes, vectorization_mode="sync")
    obs, _ = envs.reset(seed=seed)
    returns, done = np.zeros(episodes), np.zeros(episodes, dtype=bool)
    while not done.all():
        obs, reward, term, trunc, _ = envs.step(predict(obs))
        returns += reward * ~done
        done |= term | trunc
    envs.close()
    return float(returns.mean())


def run_sb3(env_id: str, seed: int, verbose: bool) -> Result:
    from stable_baselines3 import PPO as SB3PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env

    def linear(start: float) -> Callable[[float], float]:
        return lambda progress_remaining: progress_remaining * start

    task = TASKS[env_id]
    if env_id == "CartPole-v1":  # rl-baselines3-zoo hyperparams/ppo.yml, "Tuned"
        n_envs = 8
        kwargs = dict(n_steps=32, batch_size=256, gae_lambda=0.8, gamma=0.98, n_epochs=20, ent_coef=0.0,
                      learning_rate=linear(1e-3), clip_range=linear(0.2))
    else:  # Pendulum-v1, "Tuned"
        n_envs = 4
        kwargs = dict(n_steps=1024, gae_lambda=0.95, gamma=0.9, n_epochs=10, ent_coef=0.0, learning_rate=1e-3,
                      clip_range=0.2, use_sde=True, sde_sample_freq=4)
    env = make_vec_env(env_id, n_envs=n_envs, seed=seed)
    model = SB3PPO("MlpPolicy", env, seed=seed, device="cpu", verbose=0, **kwargs)

    class EvalAndTime(BaseCallback):
        def __init__(self) -> None:
            super().__init__()
            self.train_s, self.mark, self.last_eval_at = 0.0, time.perf_counter(), 0
            self.cpu_s, self.cpu_mark = 0.0, time.process_time()
            self.solved, self.score, self.best = False, -np.inf, -np.inf

        def _on_rollout_start(self) -> None:  # after each policy update
            self.train_s += time.perf_counter() - self.mark
            self.cpu_s += time.process_time() - self.cpu_mark
            steps = self.num_timesteps
            if steps - self.last_eval_at >= task["eval_every"]:
                self.last_eval_at = steps
                self.score = greedy_eval(lambda o: self.model.predict(o, deterministic=True)[0], env_id, 10_000 + seed)
                self.best = max(self.best, self.score)
                if verbose:
                    print(f"    sb3   seed {seed}: {steps:>7} steps  {self.train_s:6.2f} s  greedy {self.score:8.1f}")
                self.solved = self.score >= task["threshold"]
            self.mark, self.cpu_mark = time.perf_counter(), time.process_time()

        def _on_step(self) -> bool:
            return not self.solved

    callback = EvalAndTime()
    callback.mark, callback.cpu_mark = time.perf_counter(), time.process_time()
    model.learn(total_timesteps=task["max_steps"], callback=callback)
    if not callback.solved:
        callback.train_s += time.perf_counter() - callback.mark
        callback.cpu_s += time.process_time() - callback.cpu_mark
    env.close()
    return Result("sb3", seed, callback.solved, callback.num_timesteps if callback.solved else model.num_timesteps,
                  callback.train_s, callback.score if callback.solved else callback.best, callback.cpu_s)


# ------------------------------------------------------------------------------ report


def table(env_id: str, results: list[Result]) -> None:
    print(f"\n{env_id}: solved = greedy mean >= {TASKS[env_id]['threshold']} over 10 episodes")
    print(f"{'library':<8} {'seed':>4} {'solved':>6} {'env steps':>10} {'wall s':>8} {'cpu s':>8} {'eval':>8}")
    for r in results:
        print(f"{r.library:<8} {r.seed:>4} {str(r.solved):>6} {r.env_steps:>10} {r.train_s:>8.2f} {r.cpu_s:>8.2f} "
              f"{r.final_eval:>8.1f}")
    medians = {}
    for lib in ("rlkit", "sb3"):
        rows = [r for r in results if r.library == lib]
        if rows:
            medians[lib] = (statistics.median(r.train_s for r in rows), statistics.median(r.cpu_s for r in rows),
                            statistics.median(r.env_steps for r in rows), sum(r.solved for r in rows), len(rows))
            t, c, s, k, n = medians[lib]
            print(f"{lib:<8} median: {t:.2f} s wall, {c:.2f} s cpu, {s:.0f} env steps, solved {k}/{n}")
    if "rlkit" in medians and "sb3" in medians:
        wall = medians["rlkit"][0] / medians["sb3"][0]
        cpu = medians["rlkit"][1] / medians["sb3"][1]
        target = "  (target <= 0.5x)" if env_id == "CartPole-v1" else ""
        print(f"ratio rlkit / sb3 median training time: {wall:.2f}x wall, {cpu:.2f}x cpu{target}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--pendulum", action="store_true", help="also run Pendulum-v1 (long)")
    parser.add_argument("--only", choices=["rlkit", "sb3"], default=None)
    parser.add_argument("--threads", type=int, default=1, help="torch threads for both libraries")
    parser.add_argument("--rlkit-overrides", type=json.loads, default={}, help="JSON dict of PPOConfig settings")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} thread(s), gymnasium {gym.__version__}")
    missing = sb3_available() if args.only != "rlkit" else None
    if missing:
        print(f"SB3 rows skipped: {missing}")
    envs = ["CartPole-v1"] + (["Pendulum-v1"] if args.pendulum else [])
    for env_id in envs:
        print(f"\n{env_id}: rlkit {describe_rlkit(env_id)}")
        results = []
        for seed in args.seeds:
            if args.only != "sb3":
                overrides = args.rlkit_overrides if env_id == "CartPole-v1" else {}
                results.append(run_rlkit(env_id, seed, overrides, not args.quiet))
            if args.only != "rlkit" and not missing:
                results.append(run_sb3(env_id, seed, not args.quiet))
        table(env_id, results)


if __name__ == "__main__":
    main()
