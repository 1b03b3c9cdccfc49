"""What-if controls: edit one observation, part by part and element by element, with sliders.

Ranges come from the space; unbounded (or astronomically large) Box bounds get a symmetric
range around zero wide enough for the starting value (see :func:`slider_range`). Leaves with
many elements (images) get an element picker plus one value slider instead of thousands of
sliders.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import gymnasium as gym
import ipywidgets as W
import numpy as np

__all__ = ["slider_range", "leaf_paths", "get_leaf", "set_leaf", "path_label", "LeafEditor"]

#: Box bounds beyond this magnitude count as unbounded (CartPole uses float32's max).
BIG = 1e6


def _nice_ceil(x: float) -> float:
    """The next 1, 2 or 5 times a power of ten at or above ``x`` (x > 0)."""
    exp = math.floor(math.log10(x))
    for m in (1.0, 2.0, 5.0, 10.0):
        if m * 10**exp >= x - 1e-12:
            return m * 10**exp
    return 10.0 ** (exp + 1)


def slider_range(low: float, high: float, x0: float = 0.0) -> tuple[float, float]:
    """A slider range for a Box element with bounds ``[low, high]`` starting at ``x0``.

    Finite bounds are used as they are; an unbounded side gets ``max(1, 2|x0|)`` rounded up
    to 1, 2 or 5 times a power of ten, so the start value sits well inside the range.

    Example:
        >>> slider_range(-4.8, 4.8), slider_range(-np.inf, np.inf, 0.3), slider_range(0, np.inf, 7)
        ((-4.8, 4.8), (-1.0, 1.0), (0.0, 20.0))
    """
    lo_ok = bool(np.isfinite(low)) and abs(low) < BIG
    hi_ok = bool(np.isfinite(high)) and abs(high) < BIG
    span = _nice_ceil(max(1.0, 2.0 * abs(float(x0))))
    if lo_ok and hi_ok:
        lo, hi = float(low), float(high)
    elif lo_ok:
        lo, hi = float(low), float(low) + _nice_ceil(max(1.0, 2.0 * abs(float(x0) - float(low))))
    elif hi_ok:
        lo, hi = float(high) - _nice_ceil(max(1.0, 2.0 * abs(float(high) - float(x0)))), float(high)
    else:
        lo, hi = -span, span
    return min(lo, float(x0)), max(hi, float(x0))


def leaf_paths(space: gym.Space, path: tuple = ()) -> list[tuple[tuple, gym.Space]]:
    """Every non-container part of ``space`` with its path of Dict keys / Tuple indices."""
    if isinstance(space, gym.spaces.Dict):
        return [leaf for k, s in space.spaces.items() for leaf in leaf_paths(s, (*path, k))]
    if isinstance(space, gym.spaces.Tuple):
        return [leaf for i, s in enumerate(space.spaces) for leaf in leaf_paths(s, (*path, i))]
    return [(path, space)]


def path_label(path: tuple) -> str:
    return "obs" + "".join(f"[{k!r}]" for k in path)


def get_leaf(obs: Any, path: tuple) -> Any:
    for k in path:
        obs = obs[k]
    return obs


def set_leaf(space: gym.Space, obs: Any, path: tuple, value: Any) -> Any:
    """A copy of the nested ``obs`` with the leaf at ``path`` replaced (containers rebuilt)."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(space, gym.spaces.Dict):
        out = dict(obs)
        out[head] = set_leaf(space.spaces[head], obs[head], rest, value)
        return out
    items = list(obs)
    items[head] = set_leaf(space.spaces[head], obs[head], rest, value)
    return tuple(items)


def _element_label(prefix: str, shape: tuple[int, ...], i: int) -> str:
    if len(shape) <= 1:
        return f"{prefix}[{i}]" if shape else prefix
    return f"{prefix}[{', '.join(map(str, np.unravel_index(i, shape)))}]"


class LeafEditor:
    """Sliders (or checkboxes) for one observation leaf; calls ``on_change(value)`` on every edit.

    ``value`` is a numpy array owned by the editor (shape of the leaf, the space's dtype).
    """

    def __init__(self, path: tuple, space: gym.Space, value: Any, on_change: Callable[[np.ndarray], None],
                 max_sliders: int = 16) -> None:
        self.path, self.space, self._on_change = path, space, on_change
        self.value = np.array(value, dtype=space.dtype, copy=True)
        self._quiet = False
        self.label = path_label(path)
        self._lims = [self._limits(i) for i in range(self.value.size)]
        self.many = self.value.size > max_sliders
        if self.many:
            self.picker = W.IntSlider(value=0, min=0, max=self.value.size - 1, description="element",
                                      continuous_update=True, style={"description_width": "70px"})
            self.controls = [self._make(0)]
            self.picker.observe(self._on_pick, names="value")
            info = W.HTML(f"<span style='font-size:11px'>{self.label}: {self.value.size} values "
                          f"{tuple(self.value.shape)}, one at a time</span>")
            self.widget = W.VBox([info, self.picker, *self.controls])
        else:
            self.picker = None
            self.controls = [self._make(i) for i in range(self.value.size)]
            self.widget = W.VBox(self.controls)
        for i, c in enumerate(self.controls):
            c.observe(lambda ch, i=i: self._on_edit(i, ch["new"]), names="value")

    def _limits(self, i: int) -> tuple[float, float]:
        s = self.space
        x0 = float(self.value.reshape(-1)[i]) if self.value.size else 0.0
        if isinstance(s, gym.spaces.Discrete):
            return float(s.start), float(s.start + s.n - 1)
        if isinstance(s, gym.spaces.MultiDiscrete):
            return float(s.start.reshape(-1)[i]), float(s.start.reshape(-1)[i] + s.nvec.reshape(-1)[i] - 1)
        if isinstance(s, gym.spaces.MultiBinary):
            return 0.0, 1.0
        return slider_range(float(s.low.reshape(-1)[i]), float(s.high.reshape(-1)[i]), x0)

    def _is_int(self) -> bool:
        return not isinstance(self.space, gym.spaces.MultiBinary) and np.issubdtype(self.value.dtype, np.integer)

    def _make(self, i: int) -> W.Widget:
        x = self.value.reshape(-1)[i]
        desc = _element_label(self.label, tuple(self.value.shape), i)
        wide = self.many and len(desc) > 14  # e.g. "obs['img'][0, 0, 0]": room for the whole index
        style = {"description_width": "150px" if wide else "110px"}
        layout = W.Layout(width="400px" if wide else "360px")
        if isinstance(self.space, gym.spaces.MultiBinary):
            return W.Checkbox(value=bool(x), description=desc, indent=False, layout=W.Layout(width="360px"))
        lo, hi = self._lims[i]
        if self._is_int():
            return W.IntSlider(value=int(x), min=int(lo), max=int(hi), description=desc, continuous_update=True,
                               style=style, layout=layout)
        step = (hi - lo) / 200.0 or 0.01
        return W.FloatSlider(value=float(x), min=lo, max=hi, step=step, description=desc, readout_format=".3f",
                             continuous_update=True, style=style, layout=layout)

    def _current(self) -> int:
        return int(self.picker.value) if self.picker is not None else 0

    def _on_pick(self, change: dict) -> None:
        i = int(change["new"])
        c = self.controls[0]
        lo, hi = self._lims[i]
        self._quiet = True
        try:
            with c.hold_sync():
                c.description = _element_label(self.label, tuple(self.value.shape), i)
                if not isinstance(c, W.Checkbox):
                    c.min, c.max = min(c.min, lo), max(c.max, hi)  # widen first: min <= value <= max throughout
                    c.value = self.value.reshape(-1)[i].item()
                    c.min, c.max = lo, hi
                else:
                    c.value = bool(self.value.reshape(-1)[i])
        finally:
            self._quiet = False

    def _on_edit(self, control: int, new: Any) -> None:
        if self._quiet:
            return
        i = self._current() if self.many else control
        flat = self.value.reshape(-1)
        flat[i] = new
        self._on_change(self.value.copy())

    def set(self, value: Any) -> None:
        """Show ``value`` in the controls without calling ``on_change``."""
        self.value = np.array(value, dtype=self.space.dtype, copy=True)
        flat = self.value.reshape(-1)
        self._quiet = True
        try:
            indices = [self._current()] if self.many else range(len(self.controls))
            for c, i in zip(self.controls, indices):
                x = flat[i].item()
                if isinstance(c, W.Checkbox):
                    c.value = bool(x)
                    continue
                if x < c.min or x > c.max:  # outside the slider: widen it (unbounded dims)
                    lo, hi = slider_range(-np.inf, np.inf, x)
                    if isinstance(c, W.IntSlider):
                        lo, hi = math.floor(lo), math.ceil(hi)
                    c.min, c.max = min(c.min, lo), max(c.max, hi)
                c.value = x
        finally:
            self._quiet = False
