"""Axes helpers shared by the plots: a new figure when none is given, side-by-side sub-panels."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["new_axes", "split_axes"]


def new_axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    """``ax`` itself, or the Axes of a new pyplot figure (shown inline in a notebook)."""
    if ax is not None:
        if not hasattr(ax, "figure") or not hasattr(ax, "plot"):
            raise TypeError(f"expected a matplotlib Axes for ax=, got {type(ax).__name__}.")
        return ax
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def split_axes(ax: Axes, n: int, *, vertical: bool = False, gap: float = 0.12) -> list[Axes]:
    """``[ax]`` for one panel; else ``n`` inset Axes side by side (or stacked) inside ``ax``."""
    if n <= 1:
        return [ax]
    ax.set_axis_off()
    size = (1.0 - gap * (n - 1)) / n
    boxes = ([0.0, 1.0 - (i + 1) * size - i * gap, 1.0, size] if vertical else [i * (size + gap), 0.0, size, 1.0]
             for i in range(n))
    return [ax.inset_axes(b) for b in boxes]
