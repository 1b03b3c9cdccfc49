"""Benchmark (issue 7): the kernel-side cost of moving the RolloutViewer one step.

A 500-step CartPole-v1 rollout with frames (the default module, untrained). Measured in one run:

* **viewer step**: ``viewer.step = s`` with every pane updated (frame, distribution, readouts,
  timeline cursor; and in compare mode the second distribution and the comparison cursor),
  first visit of each step (nothing cached), every step of every episode; episode switches
  (which draw the episode's timeline once) are timed apart. Revisits (cached) are shown too.
* **baselines** on the same data, what notebook animations usually do per step:
  (a) *full redraw*: one figure with the frame, the bars and the timeline, artists updated
  with ``set_data`` / ``set_height``, then a full ``savefig`` to PNG;
  (b) *new figure*: build the figure from scratch and ``savefig`` (clear_output + display).
* **build**: ``RolloutViewer(rollout)`` (warm imports; the first, cold build is printed too;
  frames are encoded on first view, so each step's time includes its frame's JPEG encoding)
  and the **HTML export** of a fresh viewer: time and size.

Targets: median step <= 15 ms, build <= 2 s, export <= 20 MB. Run::

    .venv/bin/python bench/viewer_step.py [--steps 500] [--repeats 3]
"""

from __future__ import annotations

import argparse
import io
import statistics
import tempfile
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:7.2f} ms"


def step_times(viewer, episodes: list) -> tuple[list[float], list[float], list[float]]:
    """(first visits, episode switches, revisits) in seconds, stepping through every episode."""
    first, switch, again = [], [], []
    for eid in episodes:
        t0 = time.perf_counter()
        viewer.episode = eid
        switch.append(time.perf_counter() - t0)
        n = viewer.slider.max + 1
        for s in range(1, n):
            t0 = time.perf_counter()
            viewer.step = s
            first.append(time.perf_counter() - t0)
        for s in range(n - 2, -1, -1):
            t0 = time.perf_counter()
            viewer.step = s
            again.append(time.perf_counter() - t0)
    return first, switch, again


def baseline_full_redraw(run, rows: np.ndarray, probs: np.ndarray, values: np.ndarray) -> list[float]:
    """(a) One figure, artists moved with set_data / set_height, then a full savefig per step."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(13, 6.5), dpi=100)
    FigureCanvasAgg(fig)
    ax_frame, ax_bars = fig.add_subplot(2, 2, 1), fig.add_subplot(2, 2, 2)
    ax_tl = fig.add_subplot(2, 1, 2)
    image = ax_frame.imshow(run.frames[rows[0]])
    bars = ax_bars.bar([0, 1], probs[rows[0]])
    ax_bars.set_ylim(0, 1)
    ax_tl.plot(values[rows])
    cursor = ax_tl.axvline(0, color="k")
    times = []
    for i, row in enumerate(rows):
        t0 = time.perf_counter()
        image.set_data(run.frames[row])
        for b, p in zip(bars, probs[row]):
            b.set_height(p)
        cursor.set_xdata([i, i])
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        times.append(time.perf_counter() - t0)
    return times


def baseline_new_figure(run, rows: np.ndarray, probs: np.ndarray, values: np.ndarray) -> list[float]:
    """(b) A new figure per step (the clear_output + display pattern)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    times = []
    for i, row in enumerate(rows):
        t0 = time.perf_counter()
        fig = Figure(figsize=(13, 6.5), dpi=100)
        FigureCanvasAgg(fig)
        fig.add_subplot(2, 2, 1).imshow(run.frames[row])
        ax = fig.add_subplot(2, 2, 2)
        ax.bar([0, 1], probs[row])
        ax.set_ylim(0, 1)
        ax = fig.add_subplot(2, 1, 2)
        ax.plot(values[rows])
        ax.axvline(i, color="k")
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        times.append(time.perf_counter() - t0)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3, help="viewer builds timed (median)")
    parser.add_argument("--baseline-steps", type=int, default=40)
    args = parser.parse_args()

    from rlkit import Columns, RLModuleSpec
    from rlkit.rollouts import rollout

    torch.manual_seed(0)
    env = gym.make("CartPole-v1", render_mode="rgb_array")
    spec = RLModuleSpec(observation_space=env.observation_space, action_space=env.action_space)
    module, other = spec.build(), spec.build()
    t0 = time.perf_counter()
    run = rollout(module, env, num_steps=args.steps, seed=0, record_frames=True)
    print(f"rollout: {len(run)} steps, {run.num_episodes} episodes, frames {run.frames.shape}, "
          f"recorded in {time.perf_counter() - t0:.2f} s")

    t0 = time.perf_counter()
    from rlkit.widgets import RolloutViewer

    RolloutViewer  # noqa: B018  (loads ipywidgets + matplotlib)
    imports = time.perf_counter() - t0
    t0 = time.perf_counter()
    RolloutViewer(run)
    cold = time.perf_counter() - t0
    builds = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        viewer = RolloutViewer(run)
        builds.append(time.perf_counter() - t0)
    build = statistics.median(builds)

    episodes = [int(e) for e in run.episode_ids]
    first, switch, again = step_times(viewer, episodes)
    cviewer = RolloutViewer(run, compare=other)
    cfirst, cswitch, _ = step_times(cviewer, episodes)

    longest = max(episodes, key=lambda e: int((run[Columns.EPS_ID] == e).sum()))
    rows = np.flatnonzero(run[Columns.EPS_ID] == longest)[: args.baseline_steps]
    probs, values = run["action_dist_probs"], run[Columns.VF_PREDS]
    full = baseline_full_redraw(run, rows, probs, values)
    fresh = baseline_new_figure(run, rows, probs, values)

    with tempfile.TemporaryDirectory() as tmp:  # fresh viewers: every frame and pane drawn for the page
        fresh_plain, fresh_compare = RolloutViewer(run), RolloutViewer(run, compare=other)
        t0 = time.perf_counter()
        path = fresh_compare.to_html(Path(tmp) / "view.html")
        export_s = time.perf_counter() - t0
        export_mb = path.stat().st_size / 2**20
        t0 = time.perf_counter()
        plain_mb = fresh_plain.to_html(Path(tmp) / "plain.html").stat().st_size / 2**20
        plain_s = time.perf_counter() - t0

    med, cmed = statistics.median(first), statistics.median(cfirst)
    p90 = float(np.percentile(first, 90))
    b_full, b_fresh = statistics.median(full), statistics.median(fresh)
    print()
    print(f"{'':38s}{'median':>11s}")
    print(f"{'viewer step, first visit':38s}{_ms(med)}   (p90 {_ms(p90).strip()}, n={len(first)})")
    print(f"{'viewer step, compare mode':38s}{_ms(cmed)}   (n={len(cfirst)})")
    print(f"{'viewer step, revisit (cached)':38s}{_ms(statistics.median(again))}")
    print(f"{'episode switch (timeline drawn)':38s}{_ms(statistics.median(switch))}   compare mode {_ms(statistics.median(cswitch)).strip()}")
    print(f"{'baseline (a) full redraw + savefig':38s}{_ms(b_full)}")
    print(f"{'baseline (b) new figure + savefig':38s}{_ms(b_fresh)}")
    print()
    print(f"ratio viewer step / (a) full redraw:   {med / b_full:.3f}  ({b_full / med:.0f}x faster)")
    print(f"ratio viewer step / (b) new figure:    {med / b_fresh:.3f}  ({b_fresh / med:.0f}x faster)")
    print(f"ratio compare step / (a) full redraw:  {cmed / b_full:.3f}")
    print(f"median step {med * 1e3:.2f} ms vs target 15 ms: {'OK' if med <= 0.015 else 'MISSED'} "
          f"(compare mode {cmed * 1e3:.2f} ms: {'OK' if cmed <= 0.015 else 'MISSED'})")
    print(f"build {build:.2f} s (median of {args.repeats}; first build {cold:.2f} s, imports {imports:.2f} s before it) "
          f"vs target 2 s: {'OK' if build <= 2.0 else 'MISSED'}")
    print(f"HTML export {plain_mb:.1f} MB in {plain_s:.1f} s; with compare {export_mb:.1f} MB in {export_s:.1f} s; "
          f"target 20 MB: {'OK' if max(export_mb, plain_mb) <= 20 else 'MISSED'}")


if __name__ == "__main__":
    main()
