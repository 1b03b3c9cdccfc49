"""Action probabilities over time: a heat-map per discrete part, mean +- std bands for Box parts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from rlkit.columns import Columns
from rlkit.plots._axes import new_axes, split_axes
from rlkit.plots._data import as_table
from rlkit.plots.action_distribution import TAKEN_COLOR, part_layout_arrays

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_action_probs"]


def plot_action_probs(data: Any, ax: Axes | None = None, *, episode: Any = None, action_space: Any = None) -> Axes:
    """How the policy's action distribution moves over an episode.

    Discrete / MultiDiscrete / MultiBinary: a heat-map of the probabilities (rows = actions,
    columns = steps) with the taken action as dots; masked actions show as probability 0.
    Box: per dimension the mean with a +- std band and the sampled actions. Tuple / Dict:
    one panel per part, stacked.

    Example:
        >>> import numpy as np
        >>> from rlkit.plots import plot_action_probs
        >>> probs = np.array([[0.9, 0.1], [0.5, 0.5], [0.2, 0.8]])
        >>> ax = plot_action_probs({"actions": np.array([0, 1, 1]), "action_probs": probs})
        >>> ax.images[0].get_array().shape  # (actions, steps)
        (2, 3)
    """
    table = as_table(data).episode(episode)
    parts = part_layout_arrays(table, action_space)
    t = table.get(Columns.T).astype(np.float64) if (episode is not None and table.has(Columns.T)) else np.arange(len(table), dtype=np.float64)
    ax = new_axes(ax, figsize=(7.0, 1.2 + 1.3 * len(parts)))
    for sub, (part, arrays) in zip(split_axes(ax, len(parts), vertical=True, gap=0.1), parts):
        sub.tick_params(labelsize=7)
        if part.kind in ("categorical", "multi_categorical", "bernoulli"):
            probs = arrays["probs"].T  # (T, n) -> (n, T): one row per action
            im = sub.imshow(probs, aspect="auto", origin="lower", cmap="Blues", vmin=0.0, vmax=1.0, interpolation="nearest",
                            extent=(t[0] - 0.5, t[-1] + 0.5, -0.5, part.n - 0.5))
            taken = np.atleast_2d(arrays["taken"].T).T  # (T, k)
            if part.kind == "multi_categorical":
                rows = taken + np.cumsum((0,) + part.nvec)[:-1]  # (T, k) flat row per component
            elif part.kind == "bernoulli":
                rows = np.where(taken == 1, np.arange(part.n), -1)  # (T, n): the bits set to 1
            else:
                rows = taken
            tt = np.broadcast_to(t[:, None], rows.shape)
            keep = rows >= 0
            sub.scatter(tt[keep], rows[keep], s=6, color=TAKEN_COLOR, label="taken", zorder=3)
            labels = part.labels()
            every = max(1, int(np.ceil(part.n / 12)))
            sub.set_yticks(np.arange(part.n)[::every], labels[::every])
            sub.set_ylabel(("P(bit=1)" if part.kind == "bernoulli" else "action") + (f" {part.name}" if part.name else ""), fontsize=8)
            ax.figure.colorbar(im, ax=sub, pad=0.01, fraction=0.04).ax.tick_params(labelsize=7)
        else:
            for j in range(part.n):
                color = f"C{j % 10}"
                if arrays["mean"] is not None:
                    m, s = arrays["mean"][:, j], arrays["std"][:, j]
                    sub.plot(t, m, color=color, lw=1.2, label=f"d{j} mean")
                    sub.fill_between(t, m - s, m + s, color=color, alpha=0.2, lw=0)
                sub.plot(t, arrays["taken"][:, j], ".", color=color, ms=3)
            sub.set_ylabel(f"action {part.name}".strip(), fontsize=8)
            if part.n <= 6:
                sub.legend(fontsize=7, ncol=part.n, loc="upper right", frameon=False)
        sub.set_xlim(t[0] - 0.5, t[-1] + 0.5)
    (ax if len(parts) == 1 else split_axes(ax, 1)[0]).set_xlabel("t", fontsize=8)
    ax.set_title("action distribution over time (dots: taken action)", fontsize=9, loc="left")
    return ax
