"""`Categorical`: the action distribution of a `Discrete(n, start)` space, with action masks.

Built for speed at small batches (one env step): it stores the raw logits, computes
`log_softmax` only when asked (then caches it), samples with the Gumbel-max trick and does
no argument validation beyond Python-level shape checks. `bench/distribution_sampling.py`
compares it with `torch.distributions.Categorical`.

Example:
    >>> import torch
    >>> from gymnasium.spaces import Discrete
    >>> from rlkit.distributions import Categorical
    >>> cls = Categorical.for_space(Discrete(3, start=-1))
    >>> dist = cls.from_logits(torch.zeros(2, 3), mask=torch.tensor([[1, 0, 1], [0, 0, 1]]))
    >>> dist.summary()["probs"]
    tensor([[0.5000, 0.0000, 0.5000],
            [0.0000, 0.0000, 1.0000]])
    >>> dist.sample()[1], dist.mode()
    (tensor(1), tensor([-1,  1]))
    >>> dist.logp(torch.tensor([1, 1])).exp()
    tensor([0.5000, 1.0000])
"""

from __future__ import annotations

from typing import Any, ClassVar, cast

import gymnasium as gym
import numpy as np
import torch

from rlkit.distributions.base import Distribution, torch_dtype

__all__ = ["Categorical"]


class Categorical(Distribution):
    """Categorical distribution over `n` actions, parameterised by unnormalised logits.

    `from_logits(logits, mask=mask)` sets the logits of disallowed actions (mask False / 0)
    to `torch.finfo(dtype).min`: they get probability exactly 0, are never sampled, and
    entropy / KL stay finite (with `-inf` logits they would be `0 * -inf = nan`).

    Unbound (`Categorical.from_logits(logits)`) it takes `n` from the logits' width and
    samples in `0..n-1`; bound to `Discrete(n, start)` it checks the width and samples in
    `start..start+n-1`.
    """

    __slots__ = ("logits", "_log_probs")

    _start: ClassVar[int] = 0
    _dtype: ClassVar[torch.dtype] = torch.int64

    def __init__(self, logits: torch.Tensor) -> None:
        self.logits = logits  # (B, n), raw; normalised lazily in `log_probs`
        self._log_probs: torch.Tensor | None = None

    @classmethod
    def _bind(cls, space: gym.Space) -> dict[str, Any]:
        if not isinstance(space, gym.spaces.Discrete):
            raise ValueError(f"Categorical needs a Discrete action space, got {space!r}.")
        return {
            "_input_dim": int(space.n),
            "_start": int(space.start),
            "_dtype": torch_dtype(space.dtype),
        }

    @classmethod
    def from_logits(
        cls, inputs: torch.Tensor, mask: torch.Tensor | np.ndarray | None = None
    ) -> Categorical:
        """Build from logits of shape (B, n); `mask` (B, n), bool or 0/1, True = allowed."""
        if cls._input_dim is not None:
            cls._check_inputs(inputs)
        elif inputs.dim() < 2:
            raise ValueError(
                f"Categorical expects inputs of shape (B, n), got {tuple(inputs.shape)}."
            )
        if mask is not None:
            allowed = bool_mask(cls, inputs, mask)  # (B, n) bool
            check_some_allowed(cls, allowed)
            inputs = inputs.masked_fill(~allowed, torch.finfo(inputs.dtype).min)  # (B, n)
        return cls(inputs)

    # ---------------------------------------------------------------- derived quantities
    @property
    def log_probs(self) -> torch.Tensor:
        """Normalised log-probabilities (B, n), computed once."""
        if self._log_probs is None:
            # (B, n) -> (B, n); the clamp keeps user-supplied -inf logits finite so that
            # p * log p is 0 * finite = 0 rather than 0 * -inf = nan.
            logits = self.logits
            self._log_probs = logits.log_softmax(-1).clamp_min(torch.finfo(logits.dtype).min)
        return self._log_probs

    @property
    def probs(self) -> torch.Tensor:
        """Probabilities (B, n); masked actions are exactly 0."""
        return self.log_probs.exp()  # exp(finfo.min - lse) underflows to exactly 0

    @property
    def batch_shape(self) -> tuple[int, ...]:
        return tuple(self.logits.shape[:-1])

    # ---------------------------------------------------------------- the interface
    def sample(self) -> torch.Tensor:
        """Gumbel-max: argmax(logits + G), G = -log(-log U) ~ Gumbel(0, 1); (B, n) -> (B,)."""
        return self._shift(gumbel_argmax(self.logits.detach()))

    def mode(self) -> torch.Tensor:
        return self._shift(self.logits.detach().argmax(-1))  # (B, n) -> (B,)

    def _shift(self, idx: torch.Tensor) -> torch.Tensor:
        """Index 0..n-1 (B,) -> action start..start+n-1 in the space's dtype."""
        cls = type(self)
        if cls._start:
            idx = idx + cls._start
        return idx if cls._dtype is torch.int64 else idx.to(cls._dtype)

    def logp(self, actions: torch.Tensor) -> torch.Tensor:
        actions = torch.as_tensor(actions, device=self.logits.device)
        if actions.shape != self.logits.shape[:-1]:
            raise ValueError(
                f"{type(self)._describe()}.logp() expects actions of shape "
                f"{tuple(self.logits.shape[:-1])}, got {tuple(actions.shape)}."
            )
        idx = actions.long() - type(self)._start  # (B,) action -> index 0..n-1
        return self.log_probs.gather(-1, idx.unsqueeze(-1)).squeeze(-1)  # (B, n)[idx] -> (B,)

    def entropy(self) -> torch.Tensor:
        log_p = self.log_probs
        return -(log_p.exp() * log_p).sum(-1)  # H = -sum_a p log p: (B, n) -> (B,)

    def kl(self, other: Distribution) -> torch.Tensor:
        self._check_kl_other(other)
        q = cast(Categorical, other)
        if q.logits.shape != self.logits.shape:
            raise ValueError(
                f"Categorical.kl() needs logits of the same shape, got {tuple(self.logits.shape)} "
                f"and {tuple(q.logits.shape)}."
            )
        log_p, log_q = self.log_probs, q.log_probs
        return (log_p.exp() * (log_p - log_q)).sum(-1)  # KL = sum_a p (log p - log q): (B,)

    def to_deterministic(self) -> Distribution:
        from rlkit.distributions.deterministic import Deterministic

        return Deterministic(self.mode(), event_ndim=0)

    def summary(self) -> dict[str, torch.Tensor]:
        return {"probs": self.probs.detach()}


def gumbel_argmax(logits: torch.Tensor) -> torch.Tensor:
    """Sample indices from softmax(logits) along the last dim: (..., n) -> (...,).

    argmax(logits - log E) with E ~ Exponential(1), i.e. -log E is Gumbel(0, 1) noise (one op
    fewer than -log(-log U)). E is kept off 0 so the noise is finite (<= -log tiny ~ 87): an
    allowed logit plus noise always beats a masked logit at finfo.min (finfo.min + noise
    rounds back to finfo.min), so masked actions are never drawn, even on ties.
    """
    tiny = _TINY.get(logits.dtype) or torch.finfo(logits.dtype).tiny
    e = torch.empty_like(logits).exponential_().clamp_min_(tiny)  # (..., n) E ~ Exp(1), > 0
    return (logits - e.log_()).argmax(-1)  # (..., n) + Gumbel -> (...,)


_TINY = {torch.float32: torch.finfo(torch.float32).tiny, torch.float64: torch.finfo(torch.float64).tiny}


def bool_mask(
    cls: type[Distribution], inputs: torch.Tensor, mask: torch.Tensor | np.ndarray
) -> torch.Tensor:
    """Check a bool or 0/1 mask against the inputs and return it as bool (B, n), True = allowed."""
    mask = torch.as_tensor(mask, device=inputs.device)
    if mask.dtype is not torch.bool:
        mask = mask != 0
    if mask.shape != inputs.shape:
        raise ValueError(
            f"{cls._describe()} expects a mask of the same shape as its inputs "
            f"{tuple(inputs.shape)} (True = allowed), got {tuple(mask.shape)}."
        )
    return mask


def check_some_allowed(cls: type[Distribution], allowed: torch.Tensor) -> None:
    """Raise unless every row allows an action; `allowed` (..., n) bool -> check over n."""
    ok = allowed.any(-1)  # (..., n) -> (...,)
    if not bool(ok.all()):
        rows = (~ok).nonzero().tolist()[:5]
        raise ValueError(
            f"{cls._describe()}: the mask allows no action at all in row(s) {rows} "
            f"(index into the batch{' and component' if ok.dim() > 1 else ''}); every row "
            f"needs at least one True. Most likely the environment returned an all-False "
            f"action mask."
        )
