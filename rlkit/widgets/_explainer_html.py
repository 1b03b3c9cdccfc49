"""Pure HTML drawing for the forward explainer: layer activations, probabilities, Gaussians.

Everything here is data in, an HTML string out (no widgets, no matplotlib): bars and heat-map
cells are CSS boxes, which the browser draws far faster than a figure can be re-rendered, and
the kernel only formats a few thousand characters per update.
"""

from __future__ import annotations

import html
from typing import Any, Sequence

import numpy as np

__all__ = ["EXPLAINER_CSS", "layer_rows_html", "probs_html", "gaussian_html", "values_html", "color_levels"]

_e = html.escape

#: Styles of the explainer's panes (scoped by the widget's stable class).
EXPLAINER_CSS = """<style>
.rlkit-forward-explainer .rx-pane{font-family:var(--jp-ui-font-family,sans-serif);font-size:12px;color:var(--jp-content-font-color1,inherit)}
.rlkit-forward-explainer .rx-h{font-weight:600;font-size:13px;margin:4px 0 2px}
.rlkit-forward-explainer .rx-sub{color:var(--jp-content-font-color2,#57606a);font-size:11px}
.rlkit-forward-explainer table.rx-t{border-collapse:collapse}
.rlkit-forward-explainer table.rx-t td{padding:1px 8px 1px 0;vertical-align:middle;white-space:nowrap;text-align:left;border:none}
.rlkit-forward-explainer .rx-mono{font-family:var(--jp-code-font-family,monospace);font-size:11px}
.rlkit-forward-explainer .rx-bars{position:relative;height:34px;border-bottom:1px dashed rgba(127,127,127,.3);display:inline-block;vertical-align:middle}
.rlkit-forward-explainer .rx-bars i{position:absolute;width:5px}
.rlkit-forward-explainer .rx-heat{display:inline-flex;flex-wrap:wrap;max-width:384px;vertical-align:middle}
.rlkit-forward-explainer .rx-heat i{width:4px;height:10px;display:block}
.rlkit-forward-explainer .rx-p{display:inline-block;width:220px;height:12px;background:rgba(127,127,127,.15);vertical-align:middle;position:relative}
.rlkit-forward-explainer .rx-p i{position:absolute;left:0;top:0;bottom:0;background:#f58518}
.rlkit-forward-explainer .rx-p.rx-best i{background:#d9480f}
.rlkit-forward-explainer .rx-p.rx-masked{background:repeating-linear-gradient(45deg,rgba(127,127,127,.15) 0 4px,transparent 4px 8px)}
.rlkit-forward-explainer .rx-g{display:inline-block;width:240px;height:14px;background:rgba(127,127,127,.12);position:relative;vertical-align:middle}
.rlkit-forward-explainer .rx-g .rx-band{position:absolute;top:2px;bottom:2px;background:rgba(76,120,168,.35)}
.rlkit-forward-explainer .rx-g .rx-mean{position:absolute;top:0;bottom:0;width:2px;background:#4c78a8}
.rlkit-forward-explainer .rx-g .rx-smp{position:absolute;top:3px;width:8px;height:8px;border-radius:50%;background:#d9480f;margin-left:-4px}
.rlkit-forward-explainer .rx-msg{border-left:4px solid #d62728;padding:3px 8px;background:rgba(214,39,40,.07);white-space:pre-wrap;font-size:12px}
.rlkit-forward-explainer .rx-kv b{font-family:var(--jp-code-font-family,monospace)}
""" + "".join(
    f".rlkit-forward-explainer .rx-pane .p{k}{{background:rgba(230,85,13,{(k + 1) / 10:.1f})}}"
    f".rlkit-forward-explainer .rx-pane .n{k}{{background:rgba(49,130,189,{(k + 1) / 10:.1f})}}"
    for k in range(10)
) + "</style>"


_LEVELS = 10  # colour steps per sign: |v| / scale in [0, 1) -> 0..9


def color_levels(v: np.ndarray, scale: float) -> np.ndarray:
    """Signed colour level per value: 0..9 negative (blue, 9 = strongest), 10..19 positive (orange)."""
    a = np.minimum((np.abs(v) / (scale or 1.0) * _LEVELS).astype(np.int64), _LEVELS - 1)  # (n,) 0..9
    return np.where(v >= 0, _LEVELS + a, _LEVELS - 1 - a)  # (n,) 0..19


# one token per colour level: joining tokens is far cheaper than formatting a style per cell
_CLASSES = [f"n{k}" for k in reversed(range(_LEVELS))] + [f"p{k}" for k in range(_LEVELS)]
_HEAT_TOKENS = [f'<i class="{c}"></i>' for c in _CLASSES]


def _bars(v: np.ndarray) -> str:
    """Signed vertical bars around a middle zero line, one 5 px bar per value (n <= 64)."""
    scale = float(np.abs(v).max()) if v.size else 1.0
    half = 16
    heights = np.maximum(np.rint(np.abs(v) / (scale or 1.0) * half), 1).astype(np.int64)  # (n,) px from zero
    tops = np.where(v >= 0, half - heights, half)  # (n,) px: above the line when positive
    cells = [
        f'<i class="{_CLASSES[c]}" style="left:{6 * i}px;top:{t}px;height:{h}px" title="[{i}] {x:.4g}"></i>'
        for i, (x, t, h, c) in enumerate(zip(v.tolist(), tops.tolist(), heights.tolist(), color_levels(v, scale).tolist()))
    ]
    return f'<span class="rx-bars" style="width:{6 * len(v)}px">{"".join(cells)}</span>'


def _heat(v: np.ndarray, max_cells: int) -> tuple[str, str]:
    """A heat strip; longer vectors are averaged in equal chunks down to ``max_cells`` cells."""
    note = ""
    if v.size > max_cells:
        k = int(np.ceil(v.size / max_cells))
        pad = (-v.size) % k
        v = np.concatenate([v, np.full(pad, np.nan)]).reshape(-1, k)  # (cells, k)
        v = np.nanmean(v, axis=1)  # (cells,)
        note = f" (mean of {k} values per cell)"
    scale = float(np.abs(v).max()) if v.size else 1.0
    cells = "".join([_HEAT_TOKENS[c] for c in color_levels(v, scale).tolist()])
    return f'<span class="rx-heat">{cells}</span>', note


def values_html(v: np.ndarray, *, max_cells: int = 256, bars_up_to: int = 64) -> tuple[str, str]:
    """One vector drawn as bars (short) or a heat strip (long), and its range as text."""
    flat = np.asarray(v, dtype=np.float64).reshape(-1)
    if flat.size == 0:
        return '<span class="rx-sub">(empty)</span>', ""
    if flat.size <= bars_up_to:
        drawing, note = _bars(flat), ""
    else:
        drawing, note = _heat(flat, max_cells)
    if flat.size <= 4:  # a few numbers: show them
        stats = ", ".join(f"{x:.3g}" for x in flat.tolist())
    else:
        stats = f"{flat.min():.3g} … {flat.max():.3g}"
    return drawing, stats + note


def layer_rows_html(rows: Sequence[tuple[str, str, tuple[int, ...], np.ndarray]], max_cells: int = 256) -> str:
    """The layer table: name (type, shape), a drawing of the layer's output, its range."""
    out = []
    for name, kind, shape, v in rows:
        drawing, stats = values_html(v, max_cells=max_cells)
        out.append(f'<tr><td class="rx-mono">{_e(name)}<br><span class="rx-sub">{_e(kind)} '
                   f'{_e(str(tuple(shape)))}</span></td><td>{drawing}</td><td class="rx-sub">{_e(stats)}</td></tr>')
    return f'<table class="rx-t">{"".join(out)}</table>'


def probs_html(labels: Sequence[Any], logits: np.ndarray | None, probs: np.ndarray, greedy: int | None,
               sampled: int | None, title: str = "") -> str:
    """logits -> probabilities -> action for one categorical: a row per action, greedy marked."""
    best = int(np.argmax(probs)) if greedy is None else greedy
    rows = []
    for i, p in enumerate(probs.tolist()):
        logit = "" if logits is None else f"{logits[i]:.3f}"
        masked = logits is not None and (not np.isfinite(logits[i]) or logits[i] <= -1e30)
        cls = "rx-p" + (" rx-best" if i == best else "") + (" rx-masked" if masked else "")
        marks = ("★ greedy " if i == best else "") + ("● sampled" if i == sampled else "")
        rows.append(
            f'<tr><td class="rx-mono">{_e(str(labels[i]))}</td><td class="rx-mono">{_e(logit if not masked else "masked")}</td>'
            f'<td><span class="{cls}"><i style="width:{100 * p:.1f}%"></i></span></td>'
            f'<td class="rx-mono">{100 * p:.1f}%</td><td class="rx-sub">{marks}</td></tr>'
        )
    head = f'<div class="rx-sub">{_e(title)}</div>' if title else ""
    return (f'{head}<table class="rx-t"><tr><td class="rx-sub">action</td><td class="rx-sub">logit</td>'
            f'<td class="rx-sub">probability</td><td></td><td></td></tr>{"".join(rows)}</table>')


def gaussian_html(mean: np.ndarray, std: np.ndarray, sample: np.ndarray, low: np.ndarray, high: np.ndarray,
                  title: str = "") -> str:
    """mean, std -> sample for a diagonal Gaussian: per dimension a track with mean ± std and the sample."""
    rows = []
    for i, (m, s, x, lo, hi) in enumerate(zip(mean.tolist(), std.tolist(), sample.tolist(), low.tolist(), high.tolist())):
        if not (np.isfinite(lo) and np.isfinite(hi)) or hi - lo > 1e6:
            lo, hi = min(m - 3 * s, x), max(m + 3 * s, x)  # unbounded action: mean ± 3 std
        span = (hi - lo) or 1.0
        pos = lambda z: 100.0 * min(max((z - lo) / span, 0.0), 1.0)  # noqa: E731  value -> % of the track
        band = (f'<span class="rx-band" style="left:{pos(m - s):.1f}%;width:{pos(m + s) - pos(m - s):.1f}%"></span>'
                f'<span class="rx-mean" style="left:{pos(m):.1f}%"></span>'
                f'<span class="rx-smp" style="left:{pos(x):.1f}%"></span>')
        rows.append(
            f'<tr><td class="rx-mono">[{i}]</td><td class="rx-mono">{lo:.3g}</td><td><span class="rx-g">{band}</span></td>'
            f'<td class="rx-mono">{hi:.3g}</td><td class="rx-mono">mean {m:.3f} ± {s:.3f} → sample {x:.3f}</td></tr>'
        )
    head = f'<div class="rx-sub">{_e(title)}</div>' if title else ""
    return head + f'<table class="rx-t">{"".join(rows)}</table>'
