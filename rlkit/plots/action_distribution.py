"""The action distribution at one step: probability bars (taken, greedy and masked actions marked),
grouped bars for MultiDiscrete / MultiBinary, mean +- std with the sampled action for Box."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from rlkit.plots._action_layout import ActionPart, action_layout, distribution_arrays, greedy_column, infer_layout, part_arrays
from rlkit.plots._axes import new_axes, split_axes
from rlkit.plots._data import Table, as_table

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_action_distribution", "DistributionArtists", "part_layout_arrays"]

PROB_COLOR, TAKEN_COLOR, GREEDY_COLOR, MASK_COLOR = "#4c78a8", "#f58518", "#222222", "#bbbbbb"
GROUP_GAP = 0.8  # empty x-space between the components of a MultiDiscrete action


class DistributionArtists:
    """The artists of one action part on one Axes, created once; :meth:`update` moves their data.

    ``arrays`` holds every row of the part (from :func:`part_layout_arrays`); ``update(i)``
    sets row ``i`` and returns the artists that changed, so a caller can blit just those.
    With ``animated=True`` the artists are left out of ``canvas.draw()`` (for blitting).
    """

    def __init__(self, ax: Axes, part: ActionPart, arrays: dict[str, Any], *, animated: bool = False,
                 ylim: tuple[float, float] | None = None, legend: bool = True, title: str | None = None) -> None:
        self.ax, self.part, self.arrays = ax, part, arrays
        self.kind = part.kind
        kw = {"animated": animated}
        ax.set_title(title if title is not None else (part.name or ""), fontsize=9, loc="left")
        ax.tick_params(labelsize=8)
        if self.kind in ("categorical", "multi_categorical", "bernoulli"):
            self._setup_bars(ax, part, kw, legend)
        else:
            self._setup_gaussian(ax, part, kw, legend, ylim)

    # ---------------------------------------------------------------- bars
    def _setup_bars(self, ax: Axes, part: ActionPart, kw: dict, legend: bool) -> None:
        from matplotlib.lines import Line2D
        from matplotlib.patches import Patch

        if self.kind == "multi_categorical":
            offsets = np.repeat(np.arange(len(part.nvec)) * GROUP_GAP, part.nvec)
            self.group_start = np.cumsum((0,) + part.nvec)[:-1]  # flat index of each group's first bar
        else:
            offsets = np.zeros(part.n)
        self.x = np.arange(part.n) + offsets  # (n,) bar centres
        self.mask_bars = ax.bar(self.x, np.zeros(part.n), width=0.9, color="none", edgecolor=MASK_COLOR,
                                hatch="///", linewidth=0.0, **kw)
        self.bars = ax.bar(self.x, np.zeros(part.n), width=0.8, color=PROB_COLOR, **kw)
        (self.taken_marker,) = ax.plot([], [], "v", color=TAKEN_COLOR, ms=8, ls="none", **kw)
        (self.greedy_marker,) = ax.plot([], [], "*", color=GREEDY_COLOR, ms=9, ls="none", **kw)
        ax.set_ylim(0, 1.18)
        ax.set_xlim(self.x[0] - 0.7, self.x[-1] + 0.7)
        ax.set_ylabel("P(bit = 1)" if self.kind == "bernoulli" else "probability", fontsize=8)
        ax.set_xlabel("bit" if self.kind == "bernoulli" else "action", fontsize=8)
        labels = part.labels()
        every = max(1, int(np.ceil(part.n / 16)))
        ax.set_xticks(self.x[::every], labels[::every])
        if self.kind == "multi_categorical":
            for g, (s, n) in enumerate(zip(self.group_start, part.nvec)):
                centre = self.x[s:s + n].mean()
                ax.text(centre, 1.15, f"[{g}]", ha="center", va="top", fontsize=8, color="#555")
        ax.spines[["top", "right"]].set_visible(False)
        if legend:
            taken = "taken (bit = 1)" if self.kind == "bernoulli" else "taken"
            handles = [Patch(color=TAKEN_COLOR, label=taken), Line2D([], [], marker="*", ls="none", color=GREEDY_COLOR, label="greedy")]
            if self.arrays.get("mask") is not None:
                handles.append(Patch(facecolor="none", edgecolor=MASK_COLOR, hatch="///", label="masked"))
            ax.legend(handles=handles, fontsize=7, loc="upper right", frameon=False, ncol=len(handles),
                      bbox_to_anchor=(1.0, 1.13), handlelength=1.2, columnspacing=0.8)

    def _update_bars(self, i: int) -> list:
        a = self.arrays
        probs = a["probs"][i]  # (n,)
        taken, greedy = np.atleast_1d(a["taken"][i]), np.atleast_1d(a["greedy"][i])
        if self.kind == "multi_categorical":
            taken_idx, greedy_idx = self.group_start + taken, self.group_start + greedy  # (k,) flat bar indices
        elif self.kind == "bernoulli":
            taken_idx, greedy_idx = np.flatnonzero(taken == 1), np.flatnonzero(greedy == 1)
        else:
            taken_idx, greedy_idx = taken, greedy
        is_taken = np.zeros(self.part.n, bool)
        is_taken[taken_idx[(taken_idx >= 0) & (taken_idx < self.part.n)]] = True
        for rect, p, t in zip(self.bars, probs, is_taken):
            rect.set_height(float(p))
            rect.set_facecolor(TAKEN_COLOR if t else PROB_COLOR)
        changed = [*self.bars, self.taken_marker, self.greedy_marker]
        if a.get("mask") is not None:  # hatched full-height bars behind the masked actions
            for rect, allowed in zip(self.mask_bars, a["mask"][i]):
                rect.set_height(0.0 if allowed else 1.0)
            changed = [*self.mask_bars, *changed]
        self.taken_marker.set_data(self.x[taken_idx], np.minimum(probs[taken_idx] + 0.06, 1.1))
        self.greedy_marker.set_data(self.x[greedy_idx], np.minimum(probs[greedy_idx] + 0.13, 1.12))
        return changed

    # ---------------------------------------------------------------- mean +- std
    def _setup_gaussian(self, ax: Axes, part: ActionPart, kw: dict, legend: bool, ylim) -> None:
        from matplotlib.collections import LineCollection

        d = part.n
        self.x = np.arange(d, dtype=float)
        self.std_lines = LineCollection(np.zeros((d, 2, 2)), colors=PROB_COLOR, linewidths=7, alpha=0.35, **kw)
        ax.add_collection(self.std_lines)
        (self.mean_marker,) = ax.plot(self.x, np.zeros(d), "_", color=PROB_COLOR, ms=16, mew=2, ls="none",
                                      label="mean ± std", **kw)
        (self.taken_marker,) = ax.plot(self.x, np.zeros(d), "o", color=TAKEN_COLOR, ms=6, ls="none",
                                       label="sampled" if self.kind == "gaussian" else "action", **kw)
        if self.kind != "gaussian":
            self.std_lines.set_visible(False)
            self.mean_marker.set_visible(False)
        for j in range(d):  # the Box bounds, where finite, as short dashed ticks
            for bound in (part.low[j] if part.low else -np.inf, part.high[j] if part.high else np.inf):
                if np.isfinite(bound):
                    ax.plot([j - 0.35, j + 0.35], [bound, bound], ls="--", lw=0.8, color="#888")
        ax.set_xlim(-0.7, d - 0.3)
        ax.set_ylim(*(ylim or gaussian_ylim(self.arrays, part)))
        every = max(1, int(np.ceil(d / 16)))
        ax.set_xticks(self.x[::every], part.labels()[::every])
        ax.axhline(0.0, color="#ccc", lw=0.6, zorder=0)
        ax.set_ylabel("action", fontsize=8)
        ax.spines[["top", "right"]].set_visible(False)
        if legend:
            ax.legend(fontsize=7, loc="upper right", frameon=False, ncol=2, bbox_to_anchor=(1.0, 1.13))

    def _update_gaussian(self, i: int) -> list:
        a = self.arrays
        taken = a["taken"][i]
        self.taken_marker.set_data(self.x, taken)
        if self.kind != "gaussian":
            return [self.taken_marker]
        mean, std = a["mean"][i], a["std"][i]  # (d,)
        segments = np.stack([np.stack([self.x, mean - std], 1), np.stack([self.x, mean + std], 1)], 1)  # (d, 2, 2)
        self.std_lines.set_segments(segments)
        self.mean_marker.set_data(self.x, mean)
        return [self.std_lines, self.mean_marker, self.taken_marker]

    # ---------------------------------------------------------------- public
    def update(self, i: int) -> list:
        """Show row ``i``; returns the artists that changed."""
        if self.kind in ("categorical", "multi_categorical", "bernoulli"):
            return self._update_bars(i)
        return self._update_gaussian(i)

    def bar_heights(self) -> np.ndarray:
        """The drawn bar heights (categorical kinds) or means (Gaussian): what a test reads back."""
        if self.kind in ("categorical", "multi_categorical", "bernoulli"):
            return np.array([r.get_height() for r in self.bars])
        return np.asarray(self.mean_marker.get_ydata() if self.kind == "gaussian" else self.taken_marker.get_ydata())


def gaussian_ylim(arrays: dict[str, Any], part: ActionPart) -> tuple[float, float]:
    """One y-range for every row: means +- 2 std and the actions, clipped near finite bounds."""
    vals = [np.asarray(arrays["taken"], dtype=np.float64).reshape(-1)]
    if arrays.get("mean") is not None:
        m, s = np.asarray(arrays["mean"]), np.asarray(arrays["std"])
        vals += [(m - 2 * s).reshape(-1), (m + 2 * s).reshape(-1)]
    v = np.concatenate(vals)
    v = v[np.isfinite(v)]
    lo, hi = (float(v.min()), float(v.max())) if v.size else (-1.0, 1.0)
    bounds = np.array([*(part.low or ()), *(part.high or ())], dtype=np.float64)
    bounds = bounds[np.isfinite(bounds)]
    if bounds.size:
        lo, hi = min(lo, bounds.min()), max(hi, bounds.max())
    if hi - lo < 1e-6:
        lo, hi = lo - 1.0, hi + 1.0
    pad = 0.08 * (hi - lo)
    return lo - pad, hi + pad


def part_layout_arrays(table: Table, action_space: Any = None, dist_cls: Any = None) -> list[tuple[ActionPart, dict]]:
    """Every drawable part of the action space with all of its rows (see ``part_arrays``)."""
    from rlkit.columns import Columns

    space = action_space if action_space is not None else space_of(table)
    parts = action_layout(space) if space is not None else infer_layout(table)
    summary = distribution_arrays(table, space, dist_cls)
    actions = table.get(Columns.ACTIONS, what="action")
    mask = action_mask_column(table)
    greedy = greedy_column(table)
    return [(p, part_arrays(p, summary, actions, greedy, mask)) for p in parts]


def action_mask_column(table: Table) -> np.ndarray | None:
    """``ACTION_MASK`` rows, or the ``"action_mask"`` entry of Dict observations (gymnasium's convention)."""
    from rlkit.columns import Columns

    if table.has(Columns.ACTION_MASK):
        return np.asarray(table.get(Columns.ACTION_MASK))
    obs = table.get(Columns.OBS) if table.has(Columns.OBS) else None
    if isinstance(obs, dict) and "action_mask" in obs:
        return np.asarray(obs["action_mask"])
    return None


def space_of(table: Table, name: str = "action_space") -> Any:
    """The rollout's recorded space (``rollout.metadata[name]``), or None."""
    data = table._data
    for holder in (getattr(data, "metadata", None), getattr(data, "attrs", None)):  # Rollout / DataFrame
        if isinstance(holder, dict) and holder.get(name) is not None:
            return holder[name]
    return getattr(data, name, None)


def plot_action_distribution(data: Any, ax: Axes | None = None, *, step: int = 0, episode: Any = None,
                             action_space: Any = None) -> Axes:
    """Draw the action distribution at one step of a rollout.

    Discrete: one probability bar per action, the taken action in orange with a ``v``,
    the greedy action starred, masked actions hatched. MultiDiscrete: the components'
    bars in groups. MultiBinary: P(bit = 1) per bit. Box: mean +- std per dimension and
    the sampled action. Tuple / Dict actions: one panel per part, side by side inside ``ax``.

    Args:
        data: a ``Rollout``, its ``to_dataframe()`` or a dict of column -> array.
        ax: the Axes to draw into (a new figure when None).
        step: the row within ``episode`` (or within all of ``data``).
        episode: an episode id (``Columns.EPS_ID``); None = all rows.
        action_space: the action space, when ``data`` does not carry it.

    Example:
        >>> import numpy as np
        >>> from rlkit.plots import plot_action_distribution
        >>> data = {"actions": np.array([1, 0]), "action_probs": np.array([[0.2, 0.8], [0.6, 0.4]])}
        >>> ax = plot_action_distribution(data, step=0)
        >>> [round(p.get_height(), 2) for p in ax.patches[-2:]]
        [0.2, 0.8]
    """
    table = as_table(data).episode(episode)
    if not 0 <= step < len(table):
        raise IndexError(f"expected 0 <= step < {len(table)} (rows in the data), got step={step}.")
    parts = part_layout_arrays(table, action_space)
    ax = new_axes(ax, figsize=(max(3.5, 2.8 * len(parts)), 2.6))
    axes = split_axes(ax, len(parts))
    for sub, (part, arrays) in zip(axes, parts):
        DistributionArtists(sub, part, arrays).update(step)
    return ax
