"""The episode timeline: value, return-to-go, reward and advantage over time, with a step cursor."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from rlkit.columns import Columns
from rlkit.plots._axes import new_axes
from rlkit.plots._data import Table, as_table

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_episode_timeline", "TimelineArtists", "timeline_arrays"]

VALUE_COLOR, RETURN_COLOR, REWARD_COLOR, ADV_COLOR, CURSOR_COLOR = "#4c78a8", "#54a24b", "#9d9d9d", "#e45756", "#222222"


def timeline_arrays(table: Table, gamma: float = 0.99, lambda_: float = 0.95) -> dict[str, np.ndarray | None]:
    """x (t, or row number across several episodes), value, return-to-go, reward, advantage; None where absent."""
    n = len(table)
    rewards = table.get(Columns.REWARDS, what="reward").astype(np.float64) if table.has(Columns.REWARDS) else None
    values = table.get(Columns.VF_PREDS).astype(np.float64).reshape(n) if table.has(Columns.VF_PREDS) else None
    returns = table.returns(gamma) if rewards is not None else None
    advantages = table.advantages(gamma, lambda_) if (rewards is not None and values is not None) else None
    episodes = table.episode_ids()
    if len(episodes) == 1 and table.has(Columns.T):
        x = table.get(Columns.T).astype(np.float64)
    else:
        x = np.arange(n, dtype=np.float64)
    boundaries = []
    if len(episodes) > 1:
        eps = table.get(Columns.EPS_ID)
        boundaries = list(np.flatnonzero(eps[1:] != eps[:-1]) + 0.5)
    return {"x": x, "value": values, "return": returns, "reward": rewards, "advantage": advantages,
            "boundaries": np.asarray(boundaries)}


class TimelineArtists:
    """Lines drawn once for a whole episode plus an (optionally animated) cursor line.

    Value and return-to-go share the left axis (the value estimates the return-to-go, so
    the gap between the two lines is the value error); reward and advantage use a twin
    axis on the right.
    """

    def __init__(self, ax: Axes, arrays: dict[str, Any], *, animated_cursor: bool = False, legend: bool = True) -> None:
        self.ax, self.arrays = ax, arrays
        x = arrays["x"]
        self.twin = ax.twinx()
        self.lines: dict[str, Any] = {}  # series name -> Line2D, so set_arrays can move the data
        styles = {"value": (ax, dict(color=VALUE_COLOR, lw=1.4, label="value V(s)")),
                  "return": (ax, dict(color=RETURN_COLOR, lw=1.4, ls="--", label="return-to-go")),
                  "reward": (self.twin, dict(color=REWARD_COLOR, lw=1.0, drawstyle="steps-mid", label="reward")),
                  "advantage": (self.twin, dict(color=ADV_COLOR, lw=1.0, label="advantage"))}
        for name, (on, style) in styles.items():
            if arrays[name] is not None:
                (self.lines[name],) = on.plot(x, arrays[name], **style)
        handles = list(self.lines.values())
        if "advantage" in self.lines:
            self.twin.axhline(0.0, color=ADV_COLOR, lw=0.5, alpha=0.4)
        for b in arrays["boundaries"]:
            ax.axvline(b, color="#999", lw=0.8, ls=":")
        ax.set_xlabel("t (step in episode)" if not len(arrays["boundaries"]) else "row (episodes separated by dotted lines)", fontsize=8)
        ax.set_ylabel("value / return-to-go", fontsize=8)
        self.twin.set_ylabel("reward / advantage", fontsize=8)
        for a in (ax, self.twin):
            a.tick_params(labelsize=7)
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))  # steps are whole numbers
        self._mark_short(len(x))
        lo, hi = (float(x[0]), float(x[-1])) if len(x) else (0.0, 1.0)
        ax.set_xlim(lo - 0.5, hi + 0.5 if hi > lo else lo + 0.5)
        (self.cursor,) = ax.plot([lo, lo], [0, 1], color=CURSOR_COLOR, lw=1.2, transform=ax.get_xaxis_transform(),
                                 animated=animated_cursor, zorder=5)
        self.cursor.set_visible(False)
        if legend and handles:
            ax.legend(handles=handles, fontsize=7, loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=len(handles),
                      frameon=False, borderaxespad=0.1)

    def series(self) -> tuple[str, ...]:
        """Which lines are drawn (a new episode with the same series can reuse the artists)."""
        return tuple(self.lines)

    def set_arrays(self, arrays: dict[str, Any]) -> None:
        """Show another episode with the same series: move the lines' data and rescale the axes."""
        x = arrays["x"]
        for name, line in self.lines.items():
            line.set_data(x, arrays[name])
        self._mark_short(len(x))
        for a in (self.ax, self.twin):
            a.relim()
            a.autoscale_view(scalex=False)
        lo, hi = (float(x[0]), float(x[-1])) if len(x) else (0.0, 1.0)
        self.ax.set_xlim(lo - 0.5, hi + 0.5 if hi > lo else lo + 0.5)
        self.arrays = arrays

    def _mark_short(self, n: int) -> None:
        """Dots on the lines of very short episodes (a line through one point is invisible)."""
        for line in self.lines.values():
            line.set_marker("o" if n <= 3 else "None")
            line.set_markersize(3)

    def set_cursor(self, i: int) -> list:
        """Move the cursor to row ``i``; returns the changed artists."""
        xi = float(self.arrays["x"][i])
        self.cursor.set_xdata([xi, xi])
        self.cursor.set_visible(True)
        return [self.cursor]

    def cursor_x(self) -> float:
        return float(self.cursor.get_xdata()[0])


def plot_episode_timeline(data: Any, ax: Axes | None = None, *, episode: Any = None, gamma: float = 0.99,
                          lambda_: float = 0.95, step: int | None = None) -> Axes:
    """Value, return-to-go, reward and advantage over an episode, with an optional cursor.

    Args:
        data: a ``Rollout``, its ``to_dataframe()`` or a dict of column -> array
            (``rewards``; ``vf_preds`` for the value and advantage lines).
        ax: the Axes to draw into (a new figure when None); reward and advantage go on a
            twin axis on the right.
        episode: the episode id to draw; None draws every row, episodes separated by dotted lines.
        gamma, lambda_: discount and GAE parameters of the return-to-go and advantage.
        step: row within the episode to mark with a vertical cursor.

    Example:
        >>> import numpy as np
        >>> from rlkit.plots import plot_episode_timeline
        >>> data = {"rewards": np.ones(5), "vf_preds": np.linspace(4, 0, 5), "terminateds": np.r_[np.zeros(4), 1]}
        >>> ax = plot_episode_timeline(data, gamma=1.0, step=2)
        >>> ax.lines[1].get_ydata().tolist()  # return-to-go
        [5.0, 4.0, 3.0, 2.0, 1.0]
    """
    table = as_table(data).episode(episode)
    if len(table) == 0:
        raise ValueError("expected at least one row to draw a timeline, got an empty rollout.")
    ax = new_axes(ax, figsize=(7.0, 2.6))
    artists = TimelineArtists(ax, timeline_arrays(table, gamma, lambda_))
    if step is not None:
        if not 0 <= step < len(table):
            raise IndexError(f"expected 0 <= step < {len(table)}, got step={step}.")
        artists.set_cursor(step)
    return ax
