"""The composer's controls: parsing what users type, and the encoder controls of one observation part."""

from __future__ import annotations

import ast
import dataclasses
import html
from typing import Any

import gymnasium as gym
import ipywidgets as W

from rlkit.widgets._obs_controls import leaf_paths

__all__ = ["STYLE", "PartControls", "parse_sizes", "parse_filters", "sizes_text", "has_box", "supports_part_encoders", "wide"]

_e = html.escape
STYLE = {"description_width": "130px"}


def wide() -> W.Layout:
    return W.Layout(width="400px")  # one Layout per widget: hiding one must not hide the others


def parse_sizes(text: str, what: str = "hidden sizes") -> list[int]:
    """``"64, 64"`` (or ``"[64, 64]"``, or ``""`` for none) -> ``[64, 64]``; anything else is a ValueError.

    Example:
        >>> parse_sizes("64, 32"), parse_sizes("")
        ([64, 32], [])
    """
    body = text.strip().strip("[]()").strip()
    if not body:
        return []
    try:
        return [int(tok) for tok in body.replace(",", " ").split()]
    except ValueError:
        raise ValueError(
            f"The {what} must be whole numbers separated by commas, e.g. 64, 64. Got {text!r}."
        ) from None


def parse_filters(text: str) -> list | None:
    """``"[[16, 8, 4], [32, 4, 2]]"`` -> that list; ``""`` or ``"auto"`` -> None (from the image size)."""
    body = text.strip()
    if body.lower() in ("", "auto", "none"):
        return None
    try:
        value = ast.literal_eval(body)
    except (ValueError, SyntaxError):
        raise ValueError(
            f"The CNN filters must be a list of [out_channels, kernel, stride] layers, e.g. "
            f"[[16, 8, 4], [32, 4, 2]], or 'auto'. Got {text!r}."
        ) from None
    return [list(layer) if isinstance(layer, tuple) else layer for layer in value] if isinstance(value, (list, tuple)) else value


def sizes_text(sizes: Any) -> str:
    return ", ".join(str(int(s)) for s in sizes)


def has_box(space: gym.Space) -> bool:
    return any(isinstance(s, gym.spaces.Box) for _, s in leaf_paths(space))


def _part_key(path: tuple) -> str:
    return "/".join(str(k) for k in path)


def _encoder_choices(space: gym.Space) -> list[tuple[str, str]]:
    """(label, value) encoder options for one observation part."""
    from rlkit.models.encoders.cnn import is_image_space

    if isinstance(space, (gym.spaces.Discrete, gym.spaces.MultiDiscrete)):
        return [("one-hot", "one_hot")]
    if is_image_space(space):
        return [("CNN", "cnn"), ("flatten", "flatten")]
    return [("flatten", "flatten")]


def supports_part_encoders() -> bool:
    from rlkit.models import DefaultModelConfig

    return "part_encoders" in {f.name for f in dataclasses.fields(DefaultModelConfig)}


class PartControls:
    """Encoder controls of one part of a Dict / Tuple observation: kind, CNN filters, an MLP after it."""

    def __init__(self, path: tuple, space: gym.Space, on_change) -> None:
        from rlkit.models.config import ACTIVATIONS

        self.key = _part_key(path)
        self.space = space
        choices = _encoder_choices(space)
        self.kind = W.Dropdown(options=choices, value=choices[0][1], description="encoder", style=STYLE, layout=wide())
        self.filters = W.Text(value="auto", description="CNN filters", style=STYLE, layout=wide(),
                              continuous_update=False)
        self.mlp = W.Text(value="", placeholder="none, e.g. 64, 64", description="then MLP", style=STYLE,
                          layout=wide(), continuous_update=False)
        self.act = W.Dropdown(options=sorted(ACTIVATIONS), value="relu", description="MLP activation", style=STYLE,
                              layout=wide())
        title = W.HTML(f"<div class='rc-sub'><b>obs[{_e(', '.join(repr(k) for k in path))}]</b> {_e(repr(space))}</div>")
        self.widget = W.VBox([title, self.kind, self.filters, self.mlp, self.act])
        for w in (self.kind, self.filters, self.mlp, self.act):
            w.observe(on_change, names="value")

    def config(self) -> dict[str, Any]:
        cfg: dict[str, Any] = {"encoder": self.kind.value}
        if self.kind.value == "cnn":
            cfg["conv_filters"] = parse_filters(self.filters.value)
        sizes = parse_sizes(self.mlp.value, f"MLP sizes of obs part {self.key!r}")
        if sizes:
            cfg["fcnet_hiddens"] = sizes
            cfg["fcnet_activation"] = self.act.value
        return cfg

    def show(self, cfg: dict[str, Any]) -> None:
        self.kind.value = cfg.get("encoder", self.kind.options[0][1])
        filters = cfg.get("conv_filters")
        self.filters.value = "auto" if filters is None else repr([list(f) for f in filters])
        self.mlp.value = sizes_text(cfg.get("fcnet_hiddens", []))
        self.act.value = cfg.get("fcnet_activation") or "relu"
        self.sync_visibility()

    def sync_visibility(self) -> None:
        self.filters.layout.display = "" if self.kind.value == "cnn" else "none"
        self.act.layout.display = "" if self.mlp.value.strip() else "none"
