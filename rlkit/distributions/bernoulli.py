"""`Bernoulli`: the action distribution of a `MultiBinary(n)` space (independent coin flips).

The inputs are one logit per binary entry, width `prod(n)`; samples are int8 (B, *n), as
`MultiBinary.sample()` returns. The maths uses the logit `l` directly, written with
softplus / logsigmoid so that large |l| never produces log(0).

Example:
    >>> import torch
    >>> from gymnasium.spaces import MultiBinary
    >>> from rlkit.distributions import Bernoulli
    >>> cls = Bernoulli.for_space(MultiBinary([2, 2]))
    >>> dist = cls.from_logits(torch.tensor([[9.0, -9.0, 0.0, 1.0]]))
    >>> dist.mode()
    tensor([[[1, 0],
             [0, 1]]], dtype=torch.int8)
    >>> dist.summary()["probs"].round(decimals=3)
    tensor([[1.0000, 0.0000, 0.5000, 0.7310]])
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, cast

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F

from rlkit.distributions.base import Distribution, event_dims, sum_event

__all__ = ["Bernoulli"]


class Bernoulli(Distribution):
    """Independent Bernoulli(sigmoid(l_i)) per entry; logp / entropy / KL sum over entries.

    Unbound (`Bernoulli.from_logits(logits)`) the event is the last dim; bound to
    `MultiBinary(n)` the samples have shape (B, *n).
    """

    __slots__ = ("logits",)

    _shape: ClassVar[tuple[int, ...] | None] = None  # MultiBinary shape when bound
    _event_dims: ClassVar[tuple[int, ...]] = (-1,)

    def __init__(self, logits: torch.Tensor) -> None:
        self.logits = logits  # (B, *n)

    @classmethod
    def _bind(cls, space: gym.Space) -> dict[str, Any]:
        if not isinstance(space, gym.spaces.MultiBinary):
            raise ValueError(f"Bernoulli needs a MultiBinary action space, got {space!r}.")
        shape = tuple(int(d) for d in np.atleast_1d(space.n))
        return {
            "_shape": shape,
            "_event_dims": event_dims(len(shape)),
            "_input_dim": math.prod(shape),
        }

    @classmethod
    def from_logits(cls, inputs: torch.Tensor) -> Bernoulli:
        """Build from logits (B, prod(n))."""
        if cls._input_dim is not None:
            cls._check_inputs(inputs)
            if cls._shape is not None and len(cls._shape) != 1:
                inputs = inputs.reshape(*inputs.shape[:-1], *cls._shape)  # (B, prod n) -> (B, *n)
        elif inputs.dim() < 2:
            raise ValueError(
                f"Bernoulli expects inputs of shape (B, n), got {tuple(inputs.shape)}."
            )
        return cls(inputs)

    @property
    def probs(self) -> torch.Tensor:
        return torch.sigmoid(self.logits)  # p = sigmoid(l): (B, *n)

    @property
    def batch_shape(self) -> tuple[int, ...]:
        return tuple(self.logits.shape[: self.logits.dim() - len(type(self)._event_dims)])

    def sample(self) -> torch.Tensor:
        logits = self.logits.detach()
        # x = 1[U < p], U ~ Uniform[0, 1): (B, *n) -> (B, *n) int8
        return (torch.rand_like(logits) < torch.sigmoid(logits)).to(torch.int8)

    def mode(self) -> torch.Tensor:
        return (self.logits.detach() > 0).to(torch.int8)  # p > 1/2  <=>  l > 0

    def logp(self, actions: torch.Tensor) -> torch.Tensor:
        logits = self.logits
        x = torch.as_tensor(actions, device=logits.device)
        if x.shape != logits.shape:
            raise ValueError(
                f"{type(self)._describe()}.logp() expects actions of shape "
                f"{tuple(logits.shape)}, got {tuple(x.shape)}."
            )
        # log p(x) = x log p + (1 - x) log(1 - p) = x l - softplus(l): (B, *n) -> (B,)
        return sum_event(x.to(logits.dtype) * logits - F.softplus(logits), type(self)._event_dims)

    def entropy(self) -> torch.Tensor:
        logits = self.logits
        # H = -p log p - (1 - p) log(1 - p) = softplus(l) - p l: (B, *n) -> (B,)
        return sum_event(
            F.softplus(logits) - torch.sigmoid(logits) * logits, type(self)._event_dims
        )

    def kl(self, other: Distribution) -> torch.Tensor:
        self._check_kl_other(other)
        q = cast(Bernoulli, other)
        lp, lq = self.logits, q.logits
        if lq.shape != lp.shape:
            raise ValueError(
                f"Bernoulli.kl() needs logits of the same shape, got {tuple(lp.shape)} "
                f"and {tuple(lq.shape)}."
            )
        p = torch.sigmoid(lp)
        # KL = p (log p - log q) + (1 - p) (log(1 - p) - log(1 - q)),
        #      with log p = logsigmoid(l) and log(1 - p) = logsigmoid(-l): (B, *n) -> (B,)
        per_entry = p * (F.logsigmoid(lp) - F.logsigmoid(lq)) + (1 - p) * (
            F.logsigmoid(-lp) - F.logsigmoid(-lq)
        )
        return sum_event(per_entry, type(self)._event_dims)

    def to_deterministic(self) -> Distribution:
        from rlkit.distributions.deterministic import Deterministic

        return Deterministic(self.mode(), event_ndim=len(type(self)._event_dims))

    def summary(self) -> dict[str, torch.Tensor]:
        """{"probs": (B, prod(n))}: P(entry = 1), flattened as the inputs."""
        probs = self.probs.detach()
        return {"probs": probs.flatten(probs.dim() - len(type(self)._event_dims))}
