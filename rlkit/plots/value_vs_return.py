"""Value predictions against the return-to-go they estimate, with explained variance."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from rlkit.columns import Columns
from rlkit.plots._axes import new_axes
from rlkit.plots._data import as_table

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_value_vs_return", "explained_variance"]


def explained_variance(values: np.ndarray, returns: np.ndarray) -> float:
    """``1 - Var(G - V) / Var(G)``: 1 = perfect, 0 = no better than a constant, < 0 = worse (NaN if Var(G) = 0)."""
    var_g = float(np.var(returns))
    return float("nan") if var_g == 0.0 else 1.0 - float(np.var(returns - values)) / var_g


def plot_value_vs_return(data: Any, ax: Axes | None = None, *, episode: Any = None, gamma: float = 0.99) -> Axes:
    """Scatter ``V(s_t)`` against the discounted return-to-go ``G_t``; the diagonal is a perfect critic.

    Points are coloured by ``t``, so a critic that is right early and wrong late shows it.
    The title gives the explained variance.

    Example:
        >>> import numpy as np
        >>> from rlkit.plots import plot_value_vs_return
        >>> data = {"rewards": np.ones(4), "vf_preds": np.array([4.0, 3.0, 2.0, 1.0])}
        >>> ax = plot_value_vs_return(data, gamma=1.0)
        >>> ax.get_title()
        'value vs. return-to-go (γ=1): explained variance 1.000'
    """
    table = as_table(data).episode(episode)
    values = table.get(Columns.VF_PREDS, what="value").astype(np.float64).reshape(-1)
    returns = table.returns(gamma)
    t = table.get(Columns.T) if table.has(Columns.T) else np.arange(len(values))
    ax = new_axes(ax, figsize=(3.8, 3.4))
    sc = ax.scatter(returns, values, c=t, cmap="viridis", s=12, alpha=0.8, linewidths=0)
    both = np.concatenate([values, returns])
    lo, hi = (float(both.min()), float(both.max())) if both.size else (0.0, 1.0)
    pad = 0.05 * (hi - lo or 1.0)
    ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], ls="--", color="#888", lw=1, label="V = G")
    ax.set_xlim(lo - pad, hi + pad)
    ax.set_ylim(lo - pad, hi + pad)
    ax.set_xlabel("return-to-go G_t", fontsize=8)
    ax.set_ylabel("value V(s_t)", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.set_title(f"value vs. return-to-go (γ={gamma:g}): explained variance {explained_variance(values, returns):.3f}", fontsize=9)
    ax.figure.colorbar(sc, ax=ax, label="t", shrink=0.8)
    return ax
