"""Plots of rollouts and training runs: pure functions, ``plot_x(data, ax=None) -> Axes``.

``data`` is a ``Rollout`` (from ``rlkit.rollout``), its ``to_dataframe()``, or a dict of
column -> array named by :class:`rlkit.Columns`. Without ``ax`` each function makes a new
figure. Only this subpackage and ``rlkit.widgets`` import matplotlib.

Example:
    >>> import numpy as np
    >>> from rlkit.plots import plot_episode_timeline
    >>> ax = plot_episode_timeline({"rewards": np.ones(3), "vf_preds": np.zeros(3)})
    >>> type(ax).__name__
    'Axes'
"""

from __future__ import annotations

from rlkit.plots.action_distribution import plot_action_distribution
from rlkit.plots.action_probs import plot_action_probs
from rlkit.plots.timeline import plot_episode_timeline
from rlkit.plots.training_history import plot_training_history
from rlkit.plots.value_vs_return import explained_variance, plot_value_vs_return

__all__ = [
    "plot_episode_timeline",
    "plot_action_probs",
    "plot_action_distribution",
    "plot_value_vs_return",
    "plot_training_history",
    "explained_variance",
]
