"""`PPO.fit`: train until a return target or a budget, with a progress bar and a live callback.

Example:
    >>> from rlkit.algorithms import PPOConfig
    >>> algo = (PPOConfig().environment("CartPole-v1").env_runners(num_envs_per_env_runner=2)
    ...         .training(train_batch_size=64, minibatch_size=64, num_epochs=1).debugging(seed=0).build())
    >>> seen = []
    >>> history = algo.fit(max_env_steps=192, callback=lambda df: seen.append(len(df)), progress=False)
    >>> len(history), seen
    (3, [1, 2, 3])
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    import pandas as pd

    from rlkit.algorithms.ppo import PPO

__all__ = ["fit"]


#: The env-step budget of fit(target_return=...) when no budget is given.
DEFAULT_MAX_ENV_STEPS = 1_000_000


def fit(
    algo: PPO,
    *,
    target_return: float | None = None,
    max_env_steps: int | None = None,
    max_iterations: int | None = None,
    max_time_s: float | None = None,
    eval_interval: int | None = None,
    eval_episodes: int = 10,
    callback: Callable[[pd.DataFrame], Any] | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """Call ``algo.train()`` until a stop condition holds; return ``algo.history``.

    Args:
        target_return: stop once the return reaches it: the greedy evaluation mean when
            ``eval_interval`` is set, else the training ``episode_return_mean`` (a mean over
            the last 100 episodes, sampled with exploration).
        max_env_steps: stop after this many env steps sampled by this call.
        max_iterations: stop after this many iterations of this call.
        max_time_s: stop after this much wall time (training and evaluation).
        eval_interval: evaluate greedily (``eval_episodes`` episodes) every this many env
            steps; the results go into the history as ``evaluation/episode_return_mean``.
        callback: called after every iteration with the history DataFrame (e.g. a live plot
            in a notebook: ``rlkit.plots``' training-history plot). Returning ``True`` stops.
        progress: show a tqdm progress bar (a notebook widget in Jupyter).

    At least one of ``target_return``, ``max_env_steps``, ``max_iterations`` or
    ``max_time_s`` must be given. With only ``target_return``, the budget defaults to
    ``DEFAULT_MAX_ENV_STEPS`` env steps, so that a run that never reaches it still stops.
    """
    budgets = {"max_env_steps": max_env_steps, "max_iterations": max_iterations, "max_time_s": max_time_s}
    for name, value in {**budgets, "eval_interval": eval_interval, "eval_episodes": eval_episodes}.items():
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0):
            raise ValueError(f"fit(): {name} must be a positive number, got {value!r}.")
    if all(v is None for v in budgets.values()):
        if target_return is None:
            raise ValueError(
                "fit() needs a target or a budget so that it stops: pass target_return, "
                "max_env_steps (e.g. 100_000), max_iterations or max_time_s."
            )
        max_env_steps = DEFAULT_MAX_ENV_STEPS
    start_steps, start_iter, start = algo.num_env_steps_sampled_lifetime, algo.iteration, time.perf_counter()
    total = max_env_steps if max_env_steps is not None else None
    bar = _progress_bar(total, progress)
    last_eval_at = start_steps
    score_name = "evaluation/episode_return_mean" if eval_interval else "episode_return_mean"
    try:
        while True:
            metrics = algo.train()
            steps = algo.num_env_steps_sampled_lifetime - start_steps
            row = algo._history[-1]
            if eval_interval and algo.num_env_steps_sampled_lifetime - last_eval_at >= eval_interval:
                last_eval_at = algo.num_env_steps_sampled_lifetime
                evaluation = algo.evaluate(num_episodes=eval_episodes)
                row["evaluation/episode_return_mean"] = evaluation["episode_return_mean"]
                row["evaluation/episode_len_mean"] = evaluation["episode_len_mean"]
            score = row.get(score_name, math.nan)
            if bar is not None:
                bar.update(metrics["num_env_steps_sampled"] if total is not None else 1)
                bar.set_postfix(ret=f"{metrics['episode_return_mean']:.1f}",
                                **({"eval": f"{score:.1f}"} if eval_interval and not math.isnan(score) else {}))
            stop = callback(algo.history) is True if callback is not None else False
            if target_return is not None and not math.isnan(score) and score >= target_return:
                break
            if stop or (max_env_steps is not None and steps >= max_env_steps):
                break
            if max_iterations is not None and algo.iteration - start_iter >= max_iterations:
                break
            if max_time_s is not None and time.perf_counter() - start >= max_time_s:
                break
    finally:
        if bar is not None:
            bar.close()
    return algo.history


def _progress_bar(total: int | None, show: bool) -> Any:
    if not show:
        return None
    from tqdm.auto import tqdm  # a widget in Jupyter, text in a terminal; loaded only here

    return tqdm(total=total, unit=" steps" if total is not None else " it", desc="PPO", dynamic_ncols=True)
