"""`FlattenEncoder`: an n-D ``Box`` or ``MultiBinary`` observation as one flat float vector."""

from __future__ import annotations

import math

import gymnasium as gym
import torch
from torch import nn

__all__ = ["FlattenEncoder"]


class FlattenEncoder(nn.Module):
    """Flatten the space's own dimensions and cast to float: ``(*B, *shape) -> (*B, prod(shape))``.

    For ``Box`` (any dtype and rank, including 1-D integer boxes) and ``MultiBinary``
    observations. It has no weights; the MLP that follows learns from the flat vector.

    Example:
        >>> import gymnasium as gym, torch
        >>> enc = FlattenEncoder(gym.spaces.Box(-1, 1, (2, 3)))
        >>> enc
        FlattenEncoder(shape=(2, 3), output_dim=6)
        >>> enc(torch.zeros(5, 2, 3)).shape
        torch.Size([5, 6])
    """

    def __init__(self, space: gym.spaces.Box | gym.spaces.MultiBinary) -> None:
        super().__init__()
        if not isinstance(space, (gym.spaces.Box, gym.spaces.MultiBinary)):
            raise TypeError(
                f"FlattenEncoder expects a Box or MultiBinary space, got {space!r}. "
                "Use OneHotEncoder for Discrete / MultiDiscrete and CompositeEncoder for Dict / Tuple."
            )
        self.space = space
        self.shape = tuple(int(s) for s in space.shape)
        self._ndim = len(self.shape)
        #: Width of the encoding: the number of entries in one observation.
        self.output_dim = math.prod(self.shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        lead = x.shape[: x.dim() - self._ndim]  # the batch dims, e.g. (B,) or (B, T)
        return x.reshape(*lead, self.output_dim).float()  # (*B, *shape) -> (*B, prod(shape))

    def extra_repr(self) -> str:
        return f"shape={self.shape}, output_dim={self.output_dim}"
