"""The viewer's figure panes: matplotlib Agg figures drawn once, then per step only the moving
artists are blitted onto the saved background and the result is PNG-encoded.

A full matplotlib redraw costs 20-450 ms; restoring a background, drawing a few bars or a
cursor line and encoding the pixels costs a few ms. Text never changes per step here (numbers
go to the HTML readouts), because laying out text is the slowest thing matplotlib draws.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from matplotlib.ticker import MaxNLocator

from rlkit.plots.action_distribution import DistributionArtists, gaussian_ylim
from rlkit.plots.timeline import TimelineArtists
from rlkit.widgets._frames import encode_png

__all__ = ["BlitPane", "CursorMap", "DistributionPane", "TimelinePane", "CompareTimelinePane", "ObservationPane"]

DPI = 100
TIMELINE_MARGINS = {"left": 0.12, "right": 0.92}  # shared, so both timelines' x axes line up


class BlitPane:
    """A small Agg figure: :meth:`snapshot` saves everything but the animated artists once,
    :meth:`blit` draws the given artists over that and returns PNG bytes."""

    def __init__(self, figsize: tuple[float, float], layout: str | None = "constrained") -> None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        self.fig = Figure(figsize=figsize, dpi=DPI, layout=layout)
        self.canvas = FigureCanvasAgg(self.fig)
        self._background = None

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        w, h = self.canvas.get_width_height()
        return int(w), int(h)

    def snapshot(self) -> None:
        self.canvas.draw()  # lays out and draws the static parts (animated artists are skipped)
        self._background = self.canvas.copy_from_bbox(self.fig.bbox)
        if self.fig.get_layout_engine() is not None:
            self.fig.set_layout_engine("none")  # keep that layout: blitting relies on fixed axes

    def blit(self, artists: Sequence[Any]) -> bytes:
        if self._background is None:
            self.snapshot()
        self.canvas.restore_region(self._background)
        for artist in artists:
            self.fig.draw_artist(artist)
        # RGBA as it is: dropping alpha would be a strided copy slower than zlib on 4/3 the bytes.
        return encode_png(np.asarray(self.canvas.buffer_rgba()))  # (H, W, 4) view of the Agg buffer

    def static_png(self) -> bytes:
        """The background alone (what the HTML export shows under its own cursor)."""
        if self._background is None:
            self.snapshot()
        self.canvas.restore_region(self._background)
        return encode_png(np.asarray(self.canvas.buffer_rgba()))


class DistributionPane(BlitPane):
    """The action distribution at a step, one panel per action part (Tuple / Dict: several)."""

    def __init__(self, parts: list[tuple[Any, dict]], title: str = "") -> None:
        k = len(parts)
        super().__init__((min(2.2 + 2.4 * k, 10.0), 2.5))
        axes = self.fig.subplots(1, k, squeeze=False)[0]
        self.artists = []
        for ax, (part, arrays) in zip(axes, parts):
            ylim = gaussian_ylim(arrays, part) if part.kind in ("gaussian", "deterministic") else None
            name = f"{title} · {part.name}" if (title and part.name) else (title or part.name)
            self.artists.append(DistributionArtists(ax, part, arrays, animated=True, ylim=ylim, title=name))
        self.snapshot()

    def render(self, row: int) -> bytes:
        changed = [a for d in self.artists for a in d.update(row)]
        return self.blit(changed)

    def bar_heights(self) -> list[np.ndarray]:
        return [d.bar_heights() for d in self.artists]


class CursorMap:
    """Where the cursor goes on a timeline PNG: data x -> pixel column, and the rows it spans."""

    def __init__(self, x: np.ndarray, axes: Sequence[Any], height_px: int) -> None:
        first, last = axes[0], axes[-1]
        self.x = np.asarray(x, dtype=np.float64)
        self.x0, self.x1 = first.get_xlim()
        box_top, box_bottom = first.get_window_extent(), last.get_window_extent()
        self.left, self.right = float(box_top.x0), float(box_top.x1)
        self.top = float(height_px - box_top.y1)  # Agg's origin is bottom-left, CSS's top-left
        self.bottom = float(height_px - box_bottom.y0)

    def pixel(self, i: int) -> int:
        """The pixel column of row ``i``'s x on the image."""
        frac = (self.x[i] - self.x0) / (self.x1 - self.x0)  # position within the x-limits, 0..1
        return int(round(self.left + frac * (self.right - self.left)))

    def pixels(self) -> list[int]:
        return [self.pixel(i) for i in range(len(self.x))]


class TimelinePane(BlitPane):
    """Value, return-to-go, reward and advantage of one episode, drawn once per episode.

    The step cursor is not drawn into the image: the viewer lays a 2-pixel line over it
    and moves that with CSS (``cursor.pixel(i)``), so a step sends no pixels at all.
    ``render(i)`` (a blitted cursor) remains for a single PNG of one step.
    """

    def __init__(self) -> None:
        super().__init__((8.8, 2.3), layout=None)  # fixed margins: see TIMELINE_MARGINS
        self.timeline: TimelineArtists | None = None
        self.cursor: CursorMap | None = None
        self.png = b""

    def set_episode(self, arrays: dict[str, Any], title: str = "") -> bytes:
        series = tuple(k for k in ("value", "return", "reward", "advantage") if arrays[k] is not None)
        if self.timeline is not None and self.timeline.series() == series:
            self.timeline.set_arrays(arrays)  # same axes and lines, new data: no figure rebuilt
            ax = self.timeline.ax
        else:
            self.fig.clear()
            self.fig.subplots_adjust(**TIMELINE_MARGINS, top=0.86, bottom=0.25)
            ax = self.fig.add_subplot()
            self.timeline = TimelineArtists(ax, arrays, animated_cursor=True)
        ax.set_title(title, fontsize=8, loc="right", color="#555")
        self.snapshot()
        self.cursor = CursorMap(arrays["x"], [ax], self.size[1])
        self.png = self.static_png()
        return self.png

    def render(self, i: int) -> bytes:
        return self.blit(self.timeline.set_cursor(i))


class CompareTimelinePane(BlitPane):
    """Per step: KL(this || other), whether the greedy actions agree, and the value gap.

    The axes and lines are built for the first episode and reused (new data, rescaled) for
    the next ones, as long as the same rows are shown; only the agreement bands are redrawn.
    """

    LABELS = {"kl": "KL", "agree": "greedy\nagree", "gap": "value\ngap"}

    def __init__(self) -> None:
        super().__init__((8.8, 2.4), layout=None)
        self.cursor: CursorMap | None = None
        self.png = b""
        self._rows: tuple[str, ...] | None = None
        self._artists: dict[str, Any] = {}

    def _build(self, rows: tuple[str, ...], other: str) -> None:
        self.fig.clear()
        self.fig.subplots_adjust(**TIMELINE_MARGINS, top=0.88, bottom=0.2, hspace=0.3)
        self.axes = self.fig.subplots(len(rows) or 1, 1, sharex=True, squeeze=False)[:, 0]
        self.fig.suptitle(f"this module vs. {other}: KL(this‖{other}), do the greedy actions agree "
                          f"(green) or not (red), value gap V({other}) − V", fontsize=8, x=0.12, ha="left")
        self._artists = {}
        for ax, name in zip(self.axes, rows):
            if name == "agree":
                ax.set_ylim(0, 1)
                ax.set_yticks([])
            else:
                (self._artists[name],) = ax.plot([], [], color="#4c78a8" if name == "kl" else "#b279a2", lw=1.2)
                ax.axhline(0, color="#ccc", lw=0.6)
            ax.set_ylabel(self.LABELS[name], fontsize=7, rotation=0, ha="right", va="center")
            ax.tick_params(labelsize=7)
        self.axes[-1].set_xlabel("t (step in episode)", fontsize=8)
        self.axes[-1].xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
        if not rows:
            self.axes[0].text(0.5, 0.5, "nothing to compare", ha="center", va="center", transform=self.axes[0].transAxes)
        self._rows = rows

    def set_episode(self, x: np.ndarray, kl: np.ndarray | None, agree: np.ndarray | None, gap: np.ndarray | None,
                    other: str = "other") -> bytes:
        data = {name: y for name, y in (("kl", kl), ("agree", agree), ("gap", gap)) if y is not None}
        if self._rows != tuple(data):
            self._build(tuple(data), other)
        x = np.asarray(x, dtype=np.float64)
        for ax, (name, y) in zip(self.axes, data.items()):
            y = np.asarray(y, dtype=np.float64)
            if name == "agree":
                for band in self._artists.pop("agree", []):
                    band.remove()
                self._artists["agree"] = [
                    ax.fill_between(x, 0, y, step="mid", color="#54a24b", alpha=0.5, lw=0),  # agree: green
                    ax.fill_between(x, 0, 1 - y, step="mid", color="#e45756", alpha=0.35, lw=0),  # differ: red
                ]
            else:
                self._artists[name].set_data(x, y)
                self._artists[name].set_marker("o" if len(x) <= 3 else "None")
                self._artists[name].set_markersize(3)
                ax.relim()
                ax.autoscale_view(scalex=False)
        if len(x):
            self.axes[0].set_xlim(x[0] - 0.5, x[-1] + 0.5 if x[-1] > x[0] else x[0] + 0.5)
        self.snapshot()
        self.cursor = CursorMap(x, list(self.axes), self.size[1])
        self.png = self.static_png()
        return self.png


class ObservationPane(BlitPane):
    """The observation when there are no frames: bars for a vector, a heat-map for a 2-D array."""

    MAX_BARS = 48

    def __init__(self, obs: np.ndarray, labels: list[str] | None = None) -> None:
        """``obs``: every row's observation, ``(T, n)`` (bars) or ``(T, H, W)`` (heat-map)."""
        obs = np.asarray(obs, dtype=np.float64)
        self.obs = obs
        finite = obs[np.isfinite(obs)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        if hi - lo < 1e-9:
            lo, hi = lo - 1.0, hi + 1.0
        if obs.ndim == 2 and obs.shape[1] > self.MAX_BARS:  # long vectors: a near-square heat-map
            n = obs.shape[1]
            w = int(np.ceil(np.sqrt(n)))
            padded = np.full((obs.shape[0], w * int(np.ceil(n / w))), np.nan)
            padded[:, :n] = obs
            obs = self.obs = padded.reshape(obs.shape[0], -1, w)
        self.kind = "bars" if obs.ndim == 2 else "heatmap"
        super().__init__((4.4, 2.5))
        ax = self.fig.add_subplot()
        ax.set_title("observation", fontsize=9, loc="left")
        ax.tick_params(labelsize=7)
        if self.kind == "bars":
            n = obs.shape[1]
            self.bars = ax.bar(np.arange(n), np.zeros(n), color="#4c78a8", animated=True)
            pad = 0.05 * (hi - lo)
            ax.set_ylim(min(lo, 0.0) - pad, max(hi, 0.0) + pad)
            ax.axhline(0, color="#999", lw=0.6)
            labels = labels or [f"{i}" for i in range(n)]
            every = max(1, int(np.ceil(n / 12)))
            ax.set_xticks(np.arange(n)[::every], labels[::every], rotation=0 if n <= 8 else 45)
            ax.spines[["top", "right"]].set_visible(False)
        else:
            self.image = ax.imshow(obs[0], cmap="viridis", vmin=lo, vmax=hi, animated=True, interpolation="nearest")
            self.fig.colorbar(self.image, ax=ax, shrink=0.8).ax.tick_params(labelsize=7)
        self.snapshot()

    def render(self, row: int) -> bytes:
        if self.kind == "bars":
            for rect, v in zip(self.bars, self.obs[row]):
                rect.set_height(float(v) if np.isfinite(v) else 0.0)
            return self.blit(list(self.bars))
        self.image.set_data(self.obs[row])
        return self.blit([self.image])
