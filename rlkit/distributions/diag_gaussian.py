"""`DiagGaussian`: the action distribution of a float `Box` space (diagonal Gaussian).

The inputs are the mean and the log standard deviation concatenated: (B, 2 * prod(shape)).
The maths is written out (no `torch.distributions.Normal` objects): cheaper at small
batches, and each line says what it computes. Bound to a Box with finite bounds, samples
and the mode are clipped to [low, high] so they always lie inside the space; `logp` of a
clipped action is the Gaussian density at the clipped point (as in RLlib).

Example:
    >>> import torch
    >>> from gymnasium.spaces import Box
    >>> from rlkit.distributions import DiagGaussian
    >>> cls = DiagGaussian.for_space(Box(-1.0, 1.0, shape=(2,)))
    >>> cls.required_input_dim()
    4
    >>> dist = cls.from_logits(torch.tensor([[0.5, 3.0, 0.0, 0.0]]))  # mean (0.5, 3), log_std 0
    >>> dist.mode()  # 3.0 is clipped to the bound 1.0
    tensor([[0.5000, 1.0000]])
    >>> dist.entropy()  # 2 * (0.5 + 0.5 * log(2 pi) + log_std)
    tensor([2.8379])
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, cast

import gymnasium as gym
import numpy as np
import torch

from rlkit.distributions.base import LOG_2PI, Distribution, event_dims, sum_event, torch_dtype

__all__ = ["DiagGaussian"]


class DiagGaussian(Distribution):
    """Gaussian with a diagonal covariance: independent N(mean_i, std_i^2) per action dim.

    Unbound (`DiagGaussian.from_logits(inputs)`) the event is the last dim of width
    `inputs.shape[-1] // 2`; bound to `Box(low, high, shape)` the event has `shape`,
    samples have shape (B, *shape) and the Box's dtype, and are clipped to [low, high].
    """

    __slots__ = ("mean", "log_std", "_std")

    _shape: ClassVar[tuple[int, ...] | None] = None  # event shape when bound
    _event_dims: ClassVar[tuple[int, ...]] = (-1,)  # dims that logp / entropy sum over
    _dtype: ClassVar[torch.dtype | None] = None  # sample dtype when bound
    _low: ClassVar[torch.Tensor | float | None] = None  # clip bounds (None: unbounded)
    _high: ClassVar[torch.Tensor | float | None] = None
    _bounds_on: ClassVar[dict[torch.device, tuple[Any, Any]]] = {}

    def __init__(self, mean: torch.Tensor, log_std: torch.Tensor) -> None:
        self.mean = mean  # (B, *shape)
        self.log_std = log_std  # (B, *shape)
        self._std: torch.Tensor | None = None

    @classmethod
    def _bind(cls, space: gym.Space) -> dict[str, Any]:
        attrs = box_attrs(cls, space)
        attrs["_input_dim"] = 2 * math.prod(attrs["_shape"])  # mean and log_std per entry
        return attrs

    @classmethod
    def from_logits(cls, inputs: torch.Tensor) -> DiagGaussian:
        """Build from inputs (B, 2 * prod(shape)): the mean, then the log std."""
        if cls._input_dim is not None:
            cls._check_inputs(inputs)
        elif inputs.dim() < 2 or inputs.shape[-1] % 2:
            raise ValueError(
                f"DiagGaussian expects inputs of shape (B, 2 * d) (mean then log_std), "
                f"got {tuple(inputs.shape)}."
            )
        mean, log_std = inputs.chunk(2, dim=-1)  # (B, 2d) -> 2 x (B, d)
        shape = cls._shape
        if shape is not None and len(shape) != 1:
            batch = inputs.shape[:-1]
            mean, log_std = mean.reshape(*batch, *shape), log_std.reshape(*batch, *shape)
        return cls(mean, log_std)

    # ---------------------------------------------------------------- helpers
    @property
    def std(self) -> torch.Tensor:
        """Standard deviation exp(log_std), (B, *shape), computed once."""
        if self._std is None:
            self._std = self.log_std.exp()
        return self._std

    @property
    def batch_shape(self) -> tuple[int, ...]:
        return tuple(self.mean.shape[: self.mean.dim() - len(type(self)._event_dims)])

    def _into_space(self, x: torch.Tensor) -> torch.Tensor:
        return into_box(type(self), x)

    # ---------------------------------------------------------------- the interface
    def rsample(self) -> torch.Tensor:
        """mean + std * eps, eps ~ N(0, I): differentiable in mean and log_std."""
        eps = torch.randn_like(self.mean)  # (B, *shape)
        return self._into_space(torch.addcmul(self.mean, self.std, eps))  # (B, *shape)

    def sample(self) -> torch.Tensor:
        mean, std = self.mean.detach(), self.std.detach()
        return self._into_space(torch.addcmul(mean, std, torch.randn_like(mean)))

    def mode(self) -> torch.Tensor:
        return self._into_space(self.mean.detach())  # (B, *shape)

    def logp(self, actions: torch.Tensor) -> torch.Tensor:
        x = torch.as_tensor(actions, dtype=self.mean.dtype, device=self.mean.device)
        if x.shape != self.mean.shape:
            raise ValueError(
                f"{type(self)._describe()}.logp() expects actions of shape "
                f"{tuple(self.mean.shape)}, got {tuple(x.shape)}."
            )
        z = (x - self.mean) / self.std  # (B, *shape), standardised action
        # log N(x; mu, std) = -z^2 / 2 - log std - log(2 pi) / 2, summed: (B, *shape) -> (B,)
        return sum_event(-0.5 * z.square() - self.log_std - 0.5 * LOG_2PI, type(self)._event_dims)

    def entropy(self) -> torch.Tensor:
        # H = sum_i (1/2 + log(2 pi) / 2 + log std_i): (B, *shape) -> (B,)
        return sum_event(self.log_std + (0.5 + 0.5 * LOG_2PI), type(self)._event_dims)

    def kl(self, other: Distribution) -> torch.Tensor:
        self._check_kl_other(other)
        q = cast(DiagGaussian, other)
        if q.mean.shape != self.mean.shape:
            raise ValueError(
                f"DiagGaussian.kl() needs means of the same shape, got {tuple(self.mean.shape)} "
                f"and {tuple(q.mean.shape)}."
            )
        var_ratio = (self.std / q.std).square()  # (sigma_p / sigma_q)^2: (B, *shape)
        mahalanobis = ((self.mean - q.mean) / q.std).square()  # (mu_p - mu_q)^2 / sigma_q^2
        # KL = log(sigma_q / sigma_p) + (sigma_p^2 + (mu_p - mu_q)^2) / (2 sigma_q^2) - 1/2
        #    = (var_ratio + mahalanobis - 1 - log var_ratio) / 2, summed: (B, *shape) -> (B,)
        per_dim = 0.5 * (var_ratio + mahalanobis - 1.0) - (self.log_std - q.log_std)
        return sum_event(per_dim, type(self)._event_dims)

    def to_deterministic(self) -> Distribution:
        from rlkit.distributions.deterministic import Deterministic

        return Deterministic(self.mode(), event_ndim=len(type(self)._event_dims))

    def summary(self) -> dict[str, torch.Tensor]:
        return {"mean": self.mean.detach(), "std": self.std.detach()}


def box_attrs(cls: type[Distribution], space: gym.Space) -> dict[str, Any]:
    """Class attributes of a distribution bound to a float Box: shape, dtype, clip bounds."""
    if not isinstance(space, gym.spaces.Box) or not np.issubdtype(space.dtype, np.floating):
        raise ValueError(
            f"{cls.__name__} needs a Box action space with a floating-point dtype, got {space!r}."
        )
    shape = tuple(int(d) for d in space.shape)
    attrs: dict[str, Any] = {
        "_shape": shape,
        "_event_dims": event_dims(len(shape)),
        "_dtype": torch_dtype(space.dtype),
        "_low": None,
        "_high": None,
        "_bounds_on": {},
    }
    low, high = space.low, space.high
    if np.isfinite(low).any() or np.isfinite(high).any():
        # uniform bounds clip with Python floats (cheapest), others with (*shape) tensors
        uniform = low.size > 0 and (low == low.flat[0]).all() and (high == high.flat[0]).all()
        if uniform:
            attrs["_low"], attrs["_high"] = float(low.flat[0]), float(high.flat[0])
        else:
            attrs["_low"], attrs["_high"] = torch.from_numpy(low), torch.from_numpy(high)
    return attrs


def into_box(cls: Any, x: torch.Tensor) -> torch.Tensor:
    """Cast `x` (B, *shape) to the bound Box's dtype, then clip it to [low, high].

    The clip comes after the cast so that rounding in the cast can't step outside the
    bounds. `cls` is a class made by `box_attrs`; unbound classes pass `x` through.
    """
    if cls._dtype is not None and x.dtype is not cls._dtype:
        x = x.to(cls._dtype)
    low = cls._low
    if low is None:
        return x
    if isinstance(low, float):
        return x.clamp(low, cls._high)  # (B, *shape), scalar bounds
    bounds = cls._bounds_on.get(x.device)
    if bounds is None:
        bounds = cls._bounds_on[x.device] = (low.to(x.device), cls._high.to(x.device))
    return torch.clamp(x, *bounds)  # (B, *shape) clipped elementwise to (*shape) bounds
