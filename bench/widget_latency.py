"""Kernel-side latency of the composer and the forward explainer, as ratios from one run.

1. ``ModuleComposer``: a control change (the MLP sizes of a 3-layer MLP actor-critic on
   CartPole) until the summary is rebuilt (build, sample forward pass, diagram + layer table).
   Budget 200 ms; baseline: ``spec.build()`` alone, the part no composer can skip.
2. ``ForwardExplainer``: a what-if slider move until every pane is updated (forward pass with
   hooks, probabilities, every layer's bars). Budget 30 ms; baselines: the bare
   ``forward_inference`` call, and drawing the same panes with matplotlib (a figure with one
   bar chart per layer, rendered to PNG) -- once re-created per move (the usual notebook
   pattern), once with the artists created once and only their heights moved.
   Also a Dict observation with a 42x42x3 image (CNN) to show how it scales.

The widgets run headless (no front end); each update also serialises the changed widgets'
state to JSON, as the kernel does before sending it. Run: ``python bench/widget_latency.py``
"""

from __future__ import annotations

import io
import json
import statistics
import time

import gymnasium as gym
import numpy as np
import torch

from rlkit import Columns, RLModuleSpec
from rlkit.widgets import ForwardExplainer, ModuleComposer

torch.set_num_threads(1)
CARTPOLE = gym.make("CartPole-v1")


def median_ms(fn, n: int = 40, warmup: int = 3) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times)


def serialise(*widgets) -> int:
    """What the kernel does before sending a state update: the widgets' state as JSON."""
    return sum(len(json.dumps(w.get_state())) for w in widgets)


def bench_composer() -> dict[str, float]:
    composer = ModuleComposer.from_env(CARTPOLE, model_config={"fcnet_hiddens": [64, 64, 64]})
    values = iter(["64, 64, 32", "64, 64, 64"] * 1000)

    def change() -> None:
        composer.w_fc.value = next(values)  # -> validate, build, anatomy, HTML summary
        serialise(composer._summary, composer._stats)
        assert composer.error == "", composer.error

    toggles = iter([False, True] * 1000)

    def toggle_share() -> None:
        composer.w_share.value = next(toggles)
        serialise(composer._summary, composer._stats)

    spec = composer.spec
    return {
        "update": median_ms(change),
        "update_share_toggle": median_ms(toggle_share),
        "build_only": median_ms(spec.build),
    }


def mpl_panes(layer_values: list[np.ndarray], probs: np.ndarray):
    """The same panes drawn with matplotlib: one bar chart per layer plus the probabilities."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 1.0 * (len(layer_values) + 1)), dpi=72)
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(layer_values) + 1, 1)
    bars = [ax.bar(range(v.size), v) for ax, v in zip(axes, layer_values)]
    bars.append(axes[-1].barh(range(probs.size), probs))
    return fig, bars


def png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def bench_explainer(module, obs, slider_index: int) -> dict[str, float]:
    ex = ForwardExplainer(module, obs)
    slider = ex.sliders[slider_index]
    values = iter(np.tile(np.linspace(slider.min, slider.max, 11), 1000).tolist())

    def move() -> None:
        slider.value = next(values)  # -> forward with hooks, distribution, every pane's HTML
        serialise(ex._dist_pane, ex._layer_pane)
        assert ex.error == "", ex.error

    batch = {Columns.OBS: {k: np.asarray(v)[None] for k, v in obs.items()} if isinstance(obs, dict) else obs[None]}
    layer_values = [r.values.reshape(-1)[:256] for r in ex.result.layers]
    probs = next(iter(ex.result.summary.values())).reshape(-1)

    def mpl_fresh() -> None:  # what a notebook usually does per slider move
        fig, _ = mpl_panes(layer_values, probs)
        png(fig)

    fig, bars = mpl_panes(layer_values, probs)

    def mpl_reuse() -> None:  # artists created once, heights moved, one redraw
        for container, v in zip(bars[:-1], layer_values):
            for rect, h in zip(container, v):
                rect.set_height(h)
        for rect, p in zip(bars[-1], probs):
            rect.set_width(p)
        png(fig)

    return {
        "update": median_ms(move),
        "forward_only": median_ms(lambda: module.forward_inference(batch), n=200),
        "mpl_fresh": median_ms(mpl_fresh, n=10, warmup=1),
        "mpl_reuse": median_ms(mpl_reuse, n=10, warmup=1),
    }


def main() -> None:
    print(f"torch {torch.__version__}, 1 thread; medians of repeated updates, kernel side\n")
    c = bench_composer()
    print("ModuleComposer: control change -> summary updated (CartPole, 3x64 MLP actor-critic)")
    print(f"  update {c['update']:.1f} ms (share toggle {c['update_share_toggle']:.1f} ms); "
          f"spec.build() alone {c['build_only']:.1f} ms")
    print(f"  budget ratio  update / 200 ms           = {c['update'] / 200:.3f}x  (target <= 1)")
    print(f"  overhead      update / build()           = {c['update'] / c['build_only']:.1f}x\n")

    module = RLModuleSpec(observation_space=CARTPOLE.observation_space, action_space=CARTPOLE.action_space,
                          model_config={"fcnet_hiddens": [64, 64, 64]}).build()
    e = bench_explainer(module, CARTPOLE.reset(seed=0)[0], slider_index=2)
    print("ForwardExplainer: what-if slider move -> all panes updated (CartPole, 3x64 MLP)")
    print(f"  update {e['update']:.2f} ms; bare forward_inference {e['forward_only']:.3f} ms; "
          f"matplotlib panes: re-created {e['mpl_fresh']:.0f} ms, artists reused {e['mpl_reuse']:.0f} ms")
    print(f"  budget ratio  update / 30 ms             = {e['update'] / 30:.3f}x  (target <= 1)")
    print(f"  speed-up vs matplotlib re-created        = {e['mpl_fresh'] / e['update']:.0f}x")
    print(f"  speed-up vs matplotlib artists reused    = {e['mpl_reuse'] / e['update']:.0f}x")
    print(f"  cost vs the bare forward pass            = {e['update'] / e['forward_only']:.0f}x\n")

    space = gym.spaces.Dict({"img": gym.spaces.Box(0, 255, (42, 42, 3), np.uint8), "pos": gym.spaces.Box(-1, 1, (2,))})
    image_module = RLModuleSpec(observation_space=space, action_space=gym.spaces.Discrete(4),
                                model_config={"fcnet_hiddens": [64]}).build()
    obs = {"img": np.full((42, 42, 3), 128, np.uint8), "pos": np.zeros(2, np.float32)}
    i = bench_explainer(image_module, obs, slider_index=-1)
    print("ForwardExplainer on a Dict observation with a 42x42x3 image (CNN encoder)")
    print(f"  update {i['update']:.2f} ms; budget ratio update / 30 ms = {i['update'] / 30:.3f}x; "
          f"vs matplotlib re-created {i['mpl_fresh'] / i['update']:.0f}x faster")


if __name__ == "__main__":
    main()
