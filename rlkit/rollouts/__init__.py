"""Rollouts as data: run a module in an env, record every forward output, compute GAE.

Example:
    >>> import gymnasium as gym
    >>> from rlkit import RLModuleSpec
    >>> from rlkit.rollouts import rollout
    >>> env = gym.make("CartPole-v1")
    >>> module = RLModuleSpec(observation_space=env.observation_space, action_space=env.action_space).build()
    >>> r = rollout(module, env, num_episodes=1, seed=0)
    >>> r.episodes()[["length", "ended"]].values.tolist() == [[len(r), "terminated"]]
    True
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rlkit.rollouts._recording import EnvAPIError, RolloutLengthError
from rlkit.rollouts.gae import compute_gae, discounted_returns
from rlkit.rollouts.multi_agent import MultiAgentEnvRunner
from rlkit.rollouts.replay import ACTION_AGREEMENT, KL, VALUE_GAP, compare, replay
from rlkit.rollouts.rollout import EnvRunner, rollout
from rlkit.rollouts.rollout_data import DIST_SUMMARY_PREFIX, Rollout

__all__ = [
    # --- Sampling ---
    "rollout",
    "EnvRunner",
    "MultiAgentEnvRunner",
    # --- Data ---
    "Rollout",
    "DIST_SUMMARY_PREFIX",
    # --- Comparing modules on one trajectory ---
    "replay",
    "compare",
    "KL",
    "ACTION_AGREEMENT",
    "VALUE_GAP",
    # --- Returns and advantages ---
    "compute_gae",
    "discounted_returns",
    # --- Errors ---
    "EnvAPIError",
    "RolloutLengthError",
    # --- Environments ---
    "GridChase",
]

if TYPE_CHECKING:
    from rlkit.rollouts.envs import GridChase


def __getattr__(name: str) -> Any:
    # GridChase subclasses pettingzoo's ParallelEnv: load pettingzoo only when it is asked for.
    if name == "GridChase":
        from rlkit.rollouts.envs import GridChase

        return GridChase
    raise AttributeError(f"module 'rlkit.rollouts' has no attribute {name!r}")
