"""Images for the viewer: a fast PNG writer, frames encoded once, observations that are images."""

from __future__ import annotations

import io
import struct
import zlib
from typing import Any

import numpy as np

__all__ = ["encode_png", "encode_image", "FrameStore", "as_rgb", "image_like"]

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


def encode_png(rgb: np.ndarray, level: int = 1) -> bytes:
    """An RGB(A) uint8 image ``(H, W, 3|4)`` as PNG bytes, written directly with zlib.

    No PNG filters and zlib level 1: for flat-coloured plots and renders this is about twice
    as fast as PIL's encoder at a few per cent more bytes, which is what a per-step pane
    needs. Lossless: decoding gives back exactly ``rgb``.

    Example:
        >>> import numpy as np, io
        >>> from PIL import Image
        >>> img = np.zeros((2, 3, 3), np.uint8); img[0, 1] = (255, 0, 0)
        >>> png = encode_png(img)
        >>> (np.asarray(Image.open(io.BytesIO(png))) == img).all()
        np.True_
    """
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] not in (3, 4):
        raise ValueError(f"expected a uint8 image of shape (H, W, 3 or 4), got {rgb.dtype} {rgb.shape}.")
    h, w, c = rgb.shape
    raw = np.empty((h, w * c + 1), np.uint8)  # (H, 1 + W*C): filter byte 0 ("none") + the row
    raw[:, 0] = 0
    raw[:, 1:].reshape(h, w, c)[...] = rgb  # one copy, also from a strided view such as rgba[..., :3]
    header = struct.pack(">IIBBBBB", w, h, 8, 2 if c == 3 else 6, 0, 0, 0)  # 8 bit, RGB / RGBA
    return _PNG_SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(raw.data, level)) + _chunk(b"IEND", b"")


def encode_image(rgb: np.ndarray, fmt: str, quality: int = 90) -> bytes:
    """``rgb`` as ``"png"`` (lossless) or ``"jpeg"`` (PIL, ``quality``) bytes."""
    if fmt == "png":
        return encode_png(np.ascontiguousarray(rgb))
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb[..., :3])).save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def as_rgb(frame: Any) -> np.ndarray:
    """An image ``(H, W)``, ``(H, W, 1|3|4)`` or channels-first ``(1|3|4, H, W)`` as uint8 ``(H, W, 3|4)``."""
    a = np.asarray(frame)
    if a.ndim == 3 and a.shape[0] in (1, 3, 4) and a.shape[2] not in (1, 3, 4):
        a = np.moveaxis(a, 0, -1)  # (C, H, W) -> (H, W, C)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if a.dtype != np.uint8:
        hi = float(np.nanmax(a)) if a.size else 1.0
        a = np.clip(a * (255.0 if hi <= 1.0 else 1.0), 0, 255).astype(np.uint8)  # [0, 1] floats -> [0, 255]
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=2)  # grey -> RGB
    if a.ndim != 3 or a.shape[2] not in (3, 4):
        raise ValueError(f"expected an image (H, W), (H, W, C) or (C, H, W) with C in 1, 3, 4, got shape {np.shape(frame)}.")
    return a


def image_like(obs_shape: tuple[int, ...], dtype: Any) -> bool:
    """True for observations that are pictures: uint8 ``(H, W, C)`` / ``(C, H, W)``, C in 1, 3, 4, H, W >= 8."""
    if np.dtype(dtype) != np.uint8 or len(obs_shape) != 3:
        return False
    h, w, c = obs_shape
    if c in (1, 3, 4) and min(h, w) >= 8:
        return True
    c, h, w = obs_shape
    return c in (1, 3, 4) and min(h, w) >= 8


class FrameStore:
    """Every frame encoded once (on first use, or all up front with :meth:`encode`), then served as bytes.

    ``fmt="auto"`` picks lossless PNG for small frames (pixel art stays sharp, and it is
    cheap) and JPEG for large renders (about 4x faster to encode than PNG for a 600x400
    CartPole frame, so 500 frames take well under a second).
    """

    AUTO_PNG_MAX_PIXELS = 160 * 160

    def __init__(self, frames: Any, fmt: str = "auto", quality: int = 90) -> None:
        self._frames = frames  # (F, H, W, C) array or a sequence of images
        first = as_rgb(frames[0])
        self.height, self.width = int(first.shape[0]), int(first.shape[1])
        if fmt == "auto":
            fmt = "png" if self.height * self.width <= self.AUTO_PNG_MAX_PIXELS else "jpeg"
        if fmt not in ("png", "jpeg"):
            raise ValueError(f"expected frame_format 'auto', 'png' or 'jpeg', got {fmt!r}.")
        self.format = fmt
        self.quality = int(quality)
        self._encoded: list[bytes | None] = [None] * len(frames)

    def __len__(self) -> int:
        return len(self._encoded)

    def __getitem__(self, i: int) -> bytes:
        data = self._encoded[i]
        if data is None:
            data = self._encoded[i] = encode_image(as_rgb(self._frames[i]), self.format, self.quality)
        return data

    def encode(self, indices: Any = None) -> None:
        """Encode the frames ``indices`` (all by default) now rather than on first view."""
        for i in range(len(self)) if indices is None else indices:
            self[int(i)]

    @property
    def mime(self) -> str:
        return "image/png" if self.format == "png" else "image/jpeg"

    def nbytes(self) -> int:
        return sum(len(b) for b in self._encoded if b is not None)
