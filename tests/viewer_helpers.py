"""Shared helpers of the viewer tests: read back what each pane shows (numbers, pixels, CSS)."""

from __future__ import annotations

import ast
import html
import io
import re

import numpy as np

from rlkit import Columns

TAKEN = (0xF5, 0x85, 0x18)  # the taken action's bar colour (rlkit.plots.action_distribution)
PROB = (0x4C, 0x78, 0xA8)  # the other bars
MASK = (0xBB, 0xBB, 0xBB)  # hatching of masked actions


def decode(png: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def readouts(markup: str) -> dict[str, object]:
    """{key: exact value} from the readouts table's data-key / data-raw attributes."""
    out = {}
    for key, raw in re.findall(r'data-key="(\w+)" data-raw="([^"]*)"', markup):
        text = html.unescape(raw)
        out[key] = None if text == "None" else ast.literal_eval(text.replace("nan", "None"))
    return out


def episode_rows(rollout, eid) -> np.ndarray:
    rows = np.flatnonzero(rollout[Columns.EPS_ID] == eid)
    return rows[np.argsort(rollout[Columns.T][rows], kind="stable")]


def bar_heights_from_pixels(png: bytes, ax, xs) -> tuple[list[float], list[tuple[int, int, int]]]:
    """Measure each bar of a distribution pane in its PNG: height in data units and colour.

    For each bar centre ``x`` the pixel column is scanned upward from y = 0 while it keeps the
    colour it has just above the axis; the top is mapped back through the axes transform.
    """
    img = decode(png)
    h = img.shape[0]
    heights, colors = [], []
    for x in xs:
        px, py0 = ax.transData.transform((x, 0.0))
        col, row0 = int(round(px)), int(round(h - py0)) - 2  # image rows grow downward
        color = tuple(int(c) for c in img[row0, col])
        row = row0
        while row > 0 and tuple(int(c) for c in img[row - 1, col]) == color:
            row -= 1
        top = ax.transData.inverted().transform((px, h - row))[1]
        colors.append(color)
        heights.append(float(top) if color in (TAKEN, PROB) else 0.0)
    return heights, colors


def margin_left(layout_margin: str) -> int:
    """The left margin in px of a CSS margin 'T R B L' like '12px 0px 0px 301px'."""
    return int(layout_margin.split()[3].removesuffix("px"))
