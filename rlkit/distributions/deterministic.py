"""`Deterministic`: a point mass on one action per batch row (greedy / inference actions).

`dist.to_deterministic()` on any distribution returns one whose `sample()` is the mode.
Bound to a float Box (`Deterministic.for_space(box)`), `from_logits` reads the action
itself from inputs of width `prod(shape)` (as in DDPG-style actors) and clips it to the
bounds.

Example:
    >>> import torch
    >>> from rlkit.distributions import Categorical
    >>> greedy = Categorical.from_logits(torch.tensor([[1.0, 3.0, 2.0]])).to_deterministic()
    >>> greedy.sample(), greedy.logp(torch.tensor([1])), greedy.entropy()
    (tensor([1]), tensor([0.]), tensor([0.]))
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, cast

import gymnasium as gym
import torch

from rlkit.distributions.base import Distribution, event_dims
from rlkit.distributions.diag_gaussian import box_attrs, into_box

__all__ = ["Deterministic"]


class Deterministic(Distribution):
    """All probability on `value` (B, *event). `event_ndim` says how many trailing dims of
    `value` form one action (0 for Discrete, len(shape) for Box / MultiDiscrete).

    It is a point mass, so `logp` is 0 at the value and -inf elsewhere, `entropy` is 0
    (RLlib's convention, also for continuous actions) and `kl` between two point masses is 0
    where they agree and +inf elsewhere. `rsample()` returns the value itself, with its
    gradient.
    """

    __slots__ = ("value", "_event_ndim")

    _shape: ClassVar[tuple[int, ...] | None] = None
    _event_dims: ClassVar[tuple[int, ...]] = (-1,)
    _dtype: ClassVar[torch.dtype | None] = None
    _low: ClassVar[Any] = None
    _high: ClassVar[Any] = None
    _bounds_on: ClassVar[dict[torch.device, tuple[Any, Any]]] = {}

    def __init__(self, value: torch.Tensor, event_ndim: int | None = None) -> None:
        self.value = value  # (B, *event)
        self._event_ndim = len(type(self)._event_dims) if event_ndim is None else event_ndim

    @classmethod
    def _bind(cls, space: gym.Space) -> dict[str, Any]:
        attrs = box_attrs(cls, space)
        attrs["_input_dim"] = math.prod(attrs["_shape"])  # the action itself
        return attrs

    @classmethod
    def from_logits(cls, inputs: torch.Tensor) -> Deterministic:
        """Build from the actions themselves, (B, prod(shape)); clipped to a bound Box."""
        if cls._input_dim is None:
            if inputs.dim() < 2:
                raise ValueError(
                    f"Deterministic expects inputs of shape (B, d), got {tuple(inputs.shape)}."
                )
            return cls(inputs)
        cls._check_inputs(inputs)
        shape = cast(tuple, cls._shape)
        value = inputs.reshape(*inputs.shape[:-1], *shape)  # (B, prod shape) -> (B, *shape)
        return cls(into_box(cls, value))

    @property
    def batch_shape(self) -> tuple[int, ...]:
        return tuple(self.value.shape[: self.value.dim() - self._event_ndim])

    def _all_equal(self, actions: torch.Tensor) -> torch.Tensor:
        """(B, *event) == value, all over the event dims -> (B,) bool."""
        same = torch.as_tensor(actions, device=self.value.device) == self.value
        return same.all(dim=event_dims(self._event_ndim)) if self._event_ndim else same

    def sample(self) -> torch.Tensor:
        return self.value.detach()

    def rsample(self) -> torch.Tensor:
        return self.value

    def mode(self) -> torch.Tensor:
        return self.value.detach()

    def logp(self, actions: torch.Tensor) -> torch.Tensor:
        actions = torch.as_tensor(actions, device=self.value.device)
        if actions.shape != self.value.shape:
            raise ValueError(
                f"{type(self)._describe()}.logp() expects actions of shape "
                f"{tuple(self.value.shape)}, got {tuple(actions.shape)}."
            )
        zero = torch.zeros((), device=self.value.device)
        return torch.where(self._all_equal(actions), zero, -torch.inf)  # log 1 or log 0: (B,)

    def entropy(self) -> torch.Tensor:
        return torch.zeros(self.batch_shape, device=self.value.device)  # (B,)

    def kl(self, other: Distribution) -> torch.Tensor:
        self._check_kl_other(other)
        q = cast(Deterministic, other)
        if q.value.shape != self.value.shape:
            raise ValueError(
                f"Deterministic.kl() needs values of the same shape, got "
                f"{tuple(self.value.shape)} and {tuple(q.value.shape)}."
            )
        zero = torch.zeros((), device=self.value.device)
        return torch.where(self._all_equal(q.value), zero, torch.inf)  # 0 or +inf: (B,)

    def to_deterministic(self) -> Deterministic:
        return self

    def summary(self) -> dict[str, torch.Tensor]:
        return {"action": self.value.detach()}
