"""Training curves from the learner's history (one row per training iteration)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from rlkit.plots._axes import new_axes

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_training_history"]

# First match wins: the metric drawn when `metrics` is not given, and the x axis.
DEFAULT_METRICS = ("episode_return_mean", "env_runners/episode_return_mean", "episode_reward_mean", "return_mean", "mean_return")
X_CANDIDATES = ("num_env_steps_sampled_lifetime", "env_steps", "num_env_steps", "timesteps_total", "total_env_steps",
                "training_iteration", "iteration")


def _as_columns(history: Any) -> dict[str, np.ndarray]:
    """DataFrame / dict of lists / list of dicts (or a PPO with ``.history``) -> {name: float array}."""
    history = getattr(history, "history", history)
    if hasattr(history, "to_dict") and hasattr(history, "columns"):  # DataFrame
        cols = {str(c): history[c].to_numpy() for c in history.columns}
    elif isinstance(history, Mapping):
        cols = {str(k): np.asarray(v) for k, v in history.items()}
    elif isinstance(history, Sequence) and not isinstance(history, (str, bytes)):
        keys: list[str] = []
        for row in history:
            if not isinstance(row, Mapping):
                raise TypeError(f"expected a list of metric dicts, got an element of type {type(row).__name__}.")
            keys += [k for k in row if k not in keys]
        cols = {k: np.array([row.get(k, np.nan) for row in history], dtype=object) for k in keys}
    else:
        raise TypeError(
            f"expected the learner's history (PPO.history DataFrame, a dict of lists or a list of metric dicts), "
            f"got {type(history).__name__}."
        )
    out = {}
    for k, v in cols.items():
        try:
            out[k] = np.asarray(v, dtype=np.float64)
        except (TypeError, ValueError):
            continue  # text or nested columns are not plottable
    return out


def plot_training_history(history: Any, ax: Axes | None = None, *, metrics: Sequence[str] | str | None = None,
                          x: str | None = None) -> Axes:
    """Plot metrics per training iteration, e.g. the mean episode return against env steps.

    Args:
        history: ``PPO.history`` (a DataFrame), the ``PPO`` itself, a dict of lists or a list
            of the metric dicts ``PPO.train()`` returned.
        ax: the Axes to draw into (a new figure when None).
        metrics: column name(s) to draw; default the mean episode return (multi-agent: each
            module's ``<module>/episode_return_mean``). A ``<name>_std`` column, when present,
            is drawn as a band.
        x: the x column; default env steps when recorded, else the iteration number.

    Example:
        >>> from rlkit.plots import plot_training_history
        >>> hist = [{"env_steps": 2000 * (i + 1), "episode_return_mean": 20.0 + 30 * i} for i in range(4)]
        >>> ax = plot_training_history(hist)
        >>> ax.get_xlabel(), ax.lines[0].get_ydata().tolist()
        ('env_steps', [20.0, 50.0, 80.0, 110.0])
    """
    cols = _as_columns(history)
    if not cols:
        raise ValueError("expected at least one numeric metric in the history, got none (has training run yet?).")
    if metrics is None:
        found = [m for m in DEFAULT_METRICS if m in cols]
        per_module = [k for k in cols if k.endswith("/episode_return_mean") and not k.startswith("evaluation/")]
        metrics = found[:1] or per_module or [k for k in cols if k not in X_CANDIDATES][:1]
    elif isinstance(metrics, str):
        metrics = [metrics]
    missing = [m for m in metrics if m not in cols]
    if missing:
        raise KeyError(f"expected metric(s) {missing} in the history, got columns {sorted(cols)}.")
    if x is None:
        x = next((c for c in X_CANDIDATES if c in cols), None)
    elif x not in cols:
        raise KeyError(f"expected x={x!r} to be a column of the history, got columns {sorted(cols)}.")
    n = len(next(iter(cols.values())))
    xs = cols[x] if x is not None else np.arange(1, n + 1, dtype=np.float64)
    ax = new_axes(ax, figsize=(5.5, 3.0))
    for i, m in enumerate(metrics):
        y = cols[m]
        ok = np.isfinite(y) & np.isfinite(xs)
        (line,) = ax.plot(xs[ok], y[ok], marker="o", ms=3, lw=1.4, color=f"C{i}", label=m)
        std = cols.get(f"{m}_std", cols.get(m.replace("_mean", "_std")) if m.endswith("_mean") else None)
        if std is not None:
            ok2 = ok & np.isfinite(std)
            ax.fill_between(xs[ok2], (y - std)[ok2], (y + std)[ok2], color=line.get_color(), alpha=0.2, lw=0)
    ax.set_xlabel(x or "iteration", fontsize=8)
    ax.set_ylabel(metrics[0] if len(metrics) == 1 else "metric", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)
    if len(metrics) > 1:
        ax.legend(fontsize=7, frameon=False)
    return ax
