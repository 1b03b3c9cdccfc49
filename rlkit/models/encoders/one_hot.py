"""`OneHotEncoder`: ``Discrete`` / ``MultiDiscrete`` observations as (concatenated) one-hot vectors."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["OneHotEncoder"]


class OneHotEncoder(nn.Module):
    """One-hot encode integer observations; values are shifted by the space's ``start``.

    ``Discrete(n)``: ``(*B,) -> (*B, n)``. ``MultiDiscrete(nvec)`` (any rank): each entry
    one-hot over its own ``nvec[i]`` values, concatenated: ``(*B, *nvec.shape) -> (*B, sum(nvec))``.
    A value outside the space raises a ``ValueError`` naming it (rather than torch's index error).

    Example:
        >>> import gymnasium as gym, torch
        >>> enc = OneHotEncoder(gym.spaces.MultiDiscrete([2, 3]))
        >>> enc
        OneHotEncoder(space=MultiDiscrete([2 3]), output_dim=5)
        >>> enc(torch.tensor([[1, 0]]))
        tensor([[0., 1., 1., 0., 0.]])
    """

    def __init__(self, space: gym.spaces.Discrete | gym.spaces.MultiDiscrete) -> None:
        super().__init__()
        self.space = space
        if isinstance(space, gym.spaces.Discrete):
            self._discrete = True
            self._n = int(space.n)
            self._start = int(space.start)
            self._ndim = 0
            self.output_dim = self._n
        elif isinstance(space, gym.spaces.MultiDiscrete):
            nvec = np.asarray(space.nvec, dtype=np.int64)
            self._discrete = False
            self._ndim = nvec.ndim
            self.output_dim = int(nvec.sum())
            # Entry i's one-hot block starts at offsets[i] in the concatenated vector.
            offsets = np.concatenate([[0], np.cumsum(nvec.reshape(-1))[:-1]])
            self.register_buffer("_offsets", torch.as_tensor(offsets, dtype=torch.int64), persistent=False)
            self.register_buffer("_starts", torch.tensor(np.broadcast_to(space.start, nvec.shape).reshape(-1), dtype=torch.int64), persistent=False)
            self.register_buffer("_nvec", torch.as_tensor(nvec.reshape(-1)), persistent=False)
        else:
            raise TypeError(
                f"OneHotEncoder expects a Discrete or MultiDiscrete space, got {space!r}. "
                "Use FlattenEncoder for Box / MultiBinary and CompositeEncoder for Dict / Tuple."
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.long()
        if self._discrete:
            index = x - self._start if self._start else x  # (*B,) values in [0, n)
            self._check_range(index, self._n)
            return F.one_hot(index, self._n).float()  # (*B,) -> (*B, n)
        lead = x.shape[: x.dim() - self._ndim]
        index = x.reshape(*lead, -1) - self._starts  # (*B, k) values in [0, nvec_i)
        self._check_range(index, self._nvec)
        out = torch.zeros(*lead, self.output_dim, device=x.device)  # (*B, sum(nvec))
        return out.scatter_(-1, index + self._offsets, 1.0)  # a 1 at offset_i + value_i per entry

    def _check_range(self, index: torch.Tensor, n) -> None:
        outside = (index < 0) | (index >= n)  # same shape as index
        if index.numel() and bool(outside.any()):
            values = index + (self._start if self._discrete else self._starts)
            raise ValueError(
                f"OneHotEncoder: observation values {values[outside].unique().tolist()[:10]} are "
                f"outside {self.space}; expected integers in the space (check the env's observations "
                f"or the observation_space it declares)."
            )

    def extra_repr(self) -> str:
        return f"space={self.space}, output_dim={self.output_dim}"
