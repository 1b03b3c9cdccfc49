"""`CNNEncoder`: image observations (HWC or CHW, uint8 scaled to [0, 1]) through conv layers."""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from rlkit.models.config import ModelConfigError, get_activation
from rlkit.models.layers import init_layer, make_initializer

__all__ = ["CNNEncoder", "default_conv_filters", "image_layout", "is_image_space"]

#: Smallest image side the default filters handle.
MIN_IMAGE_SIDE = 3


def image_layout(shape: Sequence[int]) -> str:
    """``"HWC"``, ``"CHW"`` or ``"HW"`` (grayscale) for an image shape.

    The channel axis is an end axis of 1, 3 or 4 (the shorter one if both are); without
    one, the shorter end axis. Ties go to HWC, gymnasium's convention. So ``(84, 84, 3)``
    is HWC, ``(4, 84, 84)`` is CHW, ``(1, 3, 4)`` is CHW (a 3x4 grayscale image) and
    ``(84, 84, 12)`` (stacked RGB frames) is HWC.

    Example:
        >>> image_layout((84, 84, 3)), image_layout((3, 64, 64)), image_layout((1, 3, 4)), image_layout((84, 84))
        ('HWC', 'CHW', 'CHW', 'HW')
    """
    if len(shape) == 2:
        return "HW"
    if len(shape) != 3:
        raise ValueError(f"expected an image shape (H, W), (H, W, C) or (C, H, W), got {tuple(shape)}.")
    first, last = shape[0] in (1, 3, 4), shape[-1] in (1, 3, 4)
    if first != last:
        return "CHW" if first else "HWC"
    return "CHW" if shape[0] < shape[-1] else "HWC"


def default_conv_filters(height: int, width: int) -> list[list[int]]:
    """The conv layers rlkit picks for an image of ``height x width`` pixels.

    ``[out_channels, kernel, stride]`` per layer: the Nature-DQN stack from 64 pixels up,
    smaller kernels and strides for smaller images, so that every default fits its image.

    Example:
        >>> default_conv_filters(84, 84)
        [[32, 8, 4], [64, 4, 2], [64, 3, 1]]
        >>> default_conv_filters(7, 7)
        [[16, 2, 1], [32, 2, 1]]
    """
    side = min(height, width)
    if side >= 64:
        return [[32, 8, 4], [64, 4, 2], [64, 3, 1]]  # 84 -> 20 -> 9 -> 7
    if side >= 24:
        return [[16, 4, 2], [32, 4, 2], [64, 3, 1]]  # 24 -> 11 -> 4 -> 2
    if side >= 8:
        return [[16, 3, 1], [32, 3, 2]]  # 8 -> 6 -> 2
    if side >= MIN_IMAGE_SIDE:
        return [[16, 2, 1], [32, 2, 1]]  # 3 -> 2 -> 1
    raise ValueError(
        f"expected an image of at least {MIN_IMAGE_SIDE}x{MIN_IMAGE_SIDE} pixels for the "
        f"default conv filters, got {height}x{width}."
    )


def _pair(v: Any) -> tuple[int, int]:
    return (int(v), int(v)) if isinstance(v, (int, np.integer)) else (int(v[0]), int(v[1]))


def _fmt_filters(filters: Sequence[Sequence[Any]]) -> str:
    return "[" + ", ".join("[" + ", ".join(repr(list(x)) if isinstance(x, tuple) else repr(x) for x in f) + "]" for f in filters) + "]"


class CNNEncoder(nn.Module):
    """Conv layers, each followed by an activation, then flattened: ``(*B, *image) -> (*B, output_dim)``.

    Accepts HWC, CHW or grayscale HW images (layout from :func:`image_layout` unless
    ``layout`` is given); ``uint8`` images are scaled by 1/255. The feature-map size after
    every layer is checked when the encoder is built, so a too-small image fails with the
    layer and the sizes rather than a conv error at the first forward pass.

    Args:
        space: the image ``Box`` (``(H, W, C)``, ``(C, H, W)`` or ``(H, W)``).
        filters: ``[out_channels, kernel, stride(, padding)]`` per layer; ``None``:
            :func:`default_conv_filters` for the image size.
        activation: activation after each conv layer.
        layout: ``"HWC"``, ``"CHW"`` or ``"HW"`` to override the detected layout.
        kernel_initializer / bias_initializer: as for :class:`MLPEncoder`.

    Example:
        >>> import gymnasium as gym, numpy as np, torch
        >>> enc = CNNEncoder(gym.spaces.Box(0, 255, (16, 16, 3), np.uint8))
        >>> enc.layout, enc.output_dim
        ('HWC', 1152)
        >>> enc(torch.zeros(2, 16, 16, 3, dtype=torch.uint8)).shape
        torch.Size([2, 1152])
    """

    def __init__(
        self,
        space: gym.spaces.Box,
        filters: Sequence[Sequence[Any]] | None = None,
        activation: str | None = "relu",
        *,
        layout: str | None = None,
        kernel_initializer: str | Callable | None = None,
        kernel_initializer_kwargs: Mapping[str, Any] | None = None,
        bias_initializer: str | Callable | None = None,
        bias_initializer_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(space, gym.spaces.Box) or len(space.shape) not in (2, 3):
            raise TypeError(
                f"CNNEncoder expects an image Box of shape (H, W, C), (C, H, W) or (H, W), got {space!r}."
            )
        shape = tuple(int(s) for s in space.shape)
        self.space = space
        self.layout = layout or image_layout(shape)
        if self.layout not in ("HWC", "CHW", "HW") or len(self.layout) != len(shape):
            raise ValueError(f"expected layout 'HWC', 'CHW' or 'HW' matching the shape {shape}, got {layout!r}.")
        if self.layout == "HWC":
            height, width, channels = shape
        elif self.layout == "CHW":
            channels, height, width = shape
        else:
            (height, width), channels = shape, 1
        self.image_shape = shape
        self._ndim = len(shape)
        self._scale = 1.0 / 255.0 if space.dtype == np.uint8 else None
        if filters is None:
            if min(height, width) < MIN_IMAGE_SIDE:
                raise ValueError(
                    f"The image observation {space} ({self.layout}, {height}x{width} pixels) is too "
                    f"small for a CNN encoder: expected at least {MIN_IMAGE_SIDE}x{MIN_IMAGE_SIDE} "
                    f"pixels. Use larger frames, or, if it is not an image, flatten it "
                    f"(gymnasium.wrappers.FlattenObservation) so it is encoded by an MLP."
                )
            filters = default_conv_filters(height, width)
        self.filters = [list(f) for f in filters]
        self.activation = activation

        kernel_init = make_initializer(kernel_initializer, kernel_initializer_kwargs)
        bias_init = make_initializer(bias_initializer, bias_initializer_kwargs)
        layers: list[nn.Module] = []
        h, w, c = height, width, channels
        for i, layer in enumerate(self.filters):
            out_ch, kernel, stride = layer[0], _pair(layer[1]), _pair(layer[2])
            padding = layer[3] if len(layer) > 3 else 0
            if padding == "same":
                if stride != (1, 1):
                    raise ModelConfigError(
                        f"conv layer {i + 1} {layer} asks for padding 'same' with stride {list(stride)}; "
                        "torch supports 'same' only with stride 1. Use a number for the padding."
                    )
                new_h, new_w = h, w
            else:
                pad = (0, 0) if padding == "valid" else _pair(padding)
                # Conv output side: floor((side + 2 * pad - kernel) / stride) + 1
                new_h = (h + 2 * pad[0] - kernel[0]) // stride[0] + 1
                new_w = (w + 2 * pad[1] - kernel[1]) // stride[1] + 1
            if new_h < 1 or new_w < 1:
                raise ValueError(
                    f"The image observation {space} ({self.layout}, {height}x{width} pixels) is too "
                    f"small for the conv filters {_fmt_filters(self.filters)}: layer {i + 1} (kernel "
                    f"{kernel[0]}x{kernel[1]}, stride {stride[0]}x{stride[1]}) gets a {h}x{w} feature "
                    f"map and would output {new_h}x{new_w}. Pass smaller conv_filters in model_config "
                    f"(e.g. {default_conv_filters(height, width) if min(height, width) >= MIN_IMAGE_SIDE else [[16, 1, 1]]}), "
                    f"or conv_filters=None to have them chosen from the image size."
                )
            conv = nn.Conv2d(c, out_ch, kernel, stride, padding if isinstance(padding, str) else _pair(padding))
            layers.append(init_layer(conv, kernel_init, bias_init))  # (N, c, h, w) -> (N, out_ch, h', w')
            act = get_activation(activation)
            if act is not None:
                layers.append(act)
            h, w, c = new_h, new_w, out_ch
        layers.append(nn.Flatten())  # (N, c, h, w) -> (N, c*h*w)
        self.net = nn.Sequential(*layers)
        #: Width of the encoding: channels x height x width of the last feature map.
        self.output_dim = c * h * w
        self.feature_map_shape = (c, h, w)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        lead = x.shape[: x.dim() - self._ndim]  # batch dims, e.g. (B,) or (B, T)
        x = x.reshape(-1, *self.image_shape)  # (*B, *image) -> (N, *image)
        x = x.float() * self._scale if self._scale is not None else x.float()  # uint8 [0, 255] -> [0, 1]
        if self.layout == "HWC":
            x = x.permute(0, 3, 1, 2)  # (N, H, W, C) -> (N, C, H, W)
        elif self.layout == "HW":
            x = x.unsqueeze(1)  # (N, H, W) -> (N, 1, H, W)
        return self.net(x).reshape(*lead, self.output_dim)  # (N, d) -> (*B, d)

    def extra_repr(self) -> str:
        shape = "x".join(map(str, self.image_shape))
        scale = ", scaled 1/255" if self._scale is not None else ""
        return f"image={shape} {self.layout}{scale}, filters={_fmt_filters(self.filters)}, output_dim={self.output_dim}"


def is_image_space(space: gym.Space) -> bool:
    """Boxes rlkit encodes with a CNN: ``uint8`` Boxes of 2 or 3 dims (pixels, however small;
    too-small ones then fail with a clear error), and other 3-D Boxes whose image (per
    :func:`image_layout`) is at least 3x3 pixels. Smaller 3-D float Boxes are flattened.

    Example:
        >>> import gymnasium as gym, numpy as np
        >>> is_image_space(gym.spaces.Box(0, 255, (84, 84), np.uint8)), is_image_space(gym.spaces.Box(0, 1, (2, 2, 2)))
        (True, False)
    """
    if not isinstance(space, gym.spaces.Box):
        return False
    shape = space.shape
    if space.dtype == np.uint8:
        return len(shape) in (2, 3)
    if len(shape) != 3:
        return False
    spatial = shape[:2] if image_layout(shape) == "HWC" else shape[1:]
    return min(spatial) >= MIN_IMAGE_SIDE
