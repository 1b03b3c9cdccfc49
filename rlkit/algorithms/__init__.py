"""Training in the notebook: :class:`PPOConfig` builds a :class:`PPO` that trains RLModules.

Example:
    >>> from rlkit.algorithms import PPOConfig
    >>> algo = PPOConfig().environment("CartPole-v1").debugging(seed=0).build()
    >>> type(algo).__name__, algo.get_module().__class__.__name__
    ('PPO', 'DefaultActorCritic')
"""

from __future__ import annotations

from rlkit.algorithms.ppo import PPO
from rlkit.algorithms.ppo_config import AlgorithmConfigError, PPOConfig
from rlkit.algorithms.ppo_learner import PPOLearner

__all__ = ["PPOConfig", "PPO", "PPOLearner", "AlgorithmConfigError"]
