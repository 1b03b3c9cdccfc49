"""`MultiCategorical`: the action distribution of a `MultiDiscrete(nvec, start)` space.

One independent categorical per component. The inputs are the components' logits
concatenated, width `sum(nvec)` (an n-D `nvec` is flattened in C order). Internally the
logits are padded to a `(B, k, max_n)` block (padding at `finfo.min`, so it has
probability exactly 0), which makes every operation a single batched tensor op: no Python
loop over the components.

Example:
    >>> import torch
    >>> from gymnasium.spaces import MultiDiscrete
    >>> from rlkit.distributions import MultiCategorical
    >>> cls = MultiCategorical.for_space(MultiDiscrete([2, 3], start=[1, 0]))
    >>> cls.required_input_dim()
    5
    >>> dist = cls.from_logits(torch.tensor([[0.0, 5.0, 0.0, 0.0, 9.0]]))
    >>> dist.mode()
    tensor([[2, 2]])
    >>> dist.summary()["probs"].round(decimals=3)
    tensor([[0.0070, 0.9930, 0.0000, 0.0000, 1.0000]])
"""

from __future__ import annotations

from typing import Any, ClassVar, cast

import gymnasium as gym
import numpy as np
import torch

from rlkit.distributions.base import Distribution, torch_dtype
from rlkit.distributions.categorical import bool_mask, check_some_allowed, gumbel_argmax

__all__ = ["MultiCategorical"]


class MultiCategorical(Distribution):
    """Independent categoricals, one per `MultiDiscrete` component; logp / entropy / KL sum them.

    Always bound to a space: `MultiCategorical.for_space(MultiDiscrete(nvec))`, or
    `MultiCategorical.from_logits(inputs, nvec=[3, 2])` which binds for you.
    `mask=` (B, sum(nvec)), True = allowed, works as for `Categorical`.
    """

    __slots__ = ("logits", "_log_probs")

    _nvec: ClassVar[tuple[int, ...]] = ()  # flattened counts (k,)
    _shape: ClassVar[tuple[int, ...]] = ()  # nvec.shape: samples are (B, *shape)
    _max_n: ClassVar[int] = 0
    _start: ClassVar[torch.Tensor | None] = None  # (k,) int64, None when all 0
    _pad_index: ClassVar[torch.Tensor | None] = None  # (sum nvec,) slots in k * max_n
    _dtype: ClassVar[torch.dtype] = torch.int64
    _on_device: ClassVar[dict[torch.device, tuple[Any, Any]]] = {}

    def __init__(self, logits: torch.Tensor) -> None:
        self.logits = logits  # (B, k, max_n), padding at finfo.min
        self._log_probs: torch.Tensor | None = None

    @classmethod
    def _bind(cls, space: gym.Space) -> dict[str, Any]:
        if not isinstance(space, gym.spaces.MultiDiscrete):
            raise ValueError(f"MultiCategorical needs a MultiDiscrete action space, got {space!r}.")
        nvec = tuple(int(n) for n in space.nvec.reshape(-1))
        max_n = max(nvec, default=1)
        start = torch.as_tensor(space.start.reshape(-1), dtype=torch.int64)
        pad_index = None
        if any(n != max_n for n in nvec):
            # column j of component i goes to slot i * max_n + j of the padded block
            pad_index = torch.tensor(
                [i * max_n + j for i, n in enumerate(nvec) for j in range(n)], dtype=torch.int64
            )
        return {
            "_nvec": nvec,
            "_shape": tuple(int(d) for d in space.nvec.shape),
            "_max_n": max_n,
            "_input_dim": sum(nvec),
            "_start": start if bool(start.any()) else None,
            "_pad_index": pad_index,
            "_dtype": torch_dtype(space.dtype),
            "_on_device": {},
        }

    @classmethod
    def _device_consts(cls, device: torch.device) -> tuple[Any, Any]:
        """(`_pad_index`, `_start`) on `device`, moved once and cached."""
        consts = cls._on_device.get(device)
        if consts is None:
            consts = cls._on_device[device] = tuple(
                None if t is None else t.to(device) for t in (cls._pad_index, cls._start)
            )
        return consts

    @classmethod
    def from_logits(
        cls,
        inputs: torch.Tensor,
        mask: torch.Tensor | np.ndarray | None = None,
        nvec: Any = None,
    ) -> MultiCategorical:
        """Build from logits (B, sum(nvec)); `mask` (B, sum(nvec)), True = allowed."""
        if cls.space is None:
            if nvec is None:
                raise ValueError(
                    "MultiCategorical.from_logits() needs the component sizes: pass nvec=[...], "
                    "or bind it first with MultiCategorical.for_space(MultiDiscrete(nvec))."
                )
            bound = cast(type[MultiCategorical], cls.for_space(gym.spaces.MultiDiscrete(nvec)))
            return bound.from_logits(inputs, mask=mask)
        cls._check_inputs(inputs)
        batch, k, max_n = inputs.shape[:-1], len(cls._nvec), cls._max_n
        pad_index, _ = cls._device_consts(inputs.device)
        if mask is not None:
            allowed = bool_mask(cls, inputs, mask)  # (B, sum n) bool
            padded_allowed = allowed  # (B, sum n) -> (B, k * max_n), padding not allowed
            if pad_index is not None:
                padded_allowed = allowed.new_zeros(*batch, k * max_n).index_copy(
                    -1, pad_index, allowed
                )
            check_some_allowed(cls, padded_allowed.unflatten(-1, (k, max_n)))  # per component
            inputs = inputs.masked_fill(~allowed, torch.finfo(inputs.dtype).min)  # (B, sum n)
        if pad_index is not None:
            # (B, sum n) -> (B, k * max_n): scatter the columns, padding stays at finfo.min
            padded = inputs.new_full((*batch, k * max_n), torch.finfo(inputs.dtype).min)
            inputs = padded.index_copy(-1, pad_index, inputs)
        return cls(inputs.unflatten(-1, (k, max_n)))  # (B, k * max_n) -> (B, k, max_n)

    # ---------------------------------------------------------------- derived quantities
    @property
    def log_probs(self) -> torch.Tensor:
        """Per-component log-probabilities (B, k, max_n), computed once; padding ~ finfo.min."""
        if self._log_probs is None:
            logits = self.logits  # clamp: -inf logits would make p log p = nan
            self._log_probs = logits.log_softmax(-1).clamp_min(torch.finfo(logits.dtype).min)
        return self._log_probs

    @property
    def batch_shape(self) -> tuple[int, ...]:
        return tuple(self.logits.shape[:-2])

    def _to_action(self, idx: torch.Tensor) -> torch.Tensor:
        """Indices (B, k) -> actions (B, *nvec.shape) with `start` added, in the space dtype."""
        cls = type(self)
        _, start = cls._device_consts(idx.device)
        if start is not None:
            idx = idx + start  # (B, k) + (k,)
        idx = idx.reshape(*idx.shape[:-1], *cls._shape)
        return idx if cls._dtype is torch.int64 else idx.to(cls._dtype)

    # ---------------------------------------------------------------- the interface
    def sample(self) -> torch.Tensor:
        return self._to_action(gumbel_argmax(self.logits.detach()))  # (B, k, max_n) -> (B, k)

    def mode(self) -> torch.Tensor:
        return self._to_action(self.logits.detach().argmax(-1))  # (B, k, max_n) -> (B, k)

    def logp(self, actions: torch.Tensor) -> torch.Tensor:
        cls = type(self)
        actions = torch.as_tensor(actions, device=self.logits.device)
        batch = self.logits.shape[:-2]
        if actions.shape != (*batch, *cls._shape):
            raise ValueError(
                f"{cls._describe()}.logp() expects actions of shape {(*batch, *cls._shape)}, "
                f"got {tuple(actions.shape)}."
            )
        idx = actions.reshape(*batch, len(cls._nvec)).long()  # (B, *shape) -> (B, k)
        _, start = cls._device_consts(idx.device)
        if start is not None:
            idx = idx - start
        # (B, k, max_n)[idx] -> (B, k) -> sum over components -> (B,)
        return self.log_probs.gather(-1, idx.unsqueeze(-1)).squeeze(-1).sum(-1)

    def entropy(self) -> torch.Tensor:
        log_p = self.log_probs
        return -(log_p.exp() * log_p).sum((-2, -1))  # sum_i H_i = -sum_i sum_a p log p: (B,)

    def kl(self, other: Distribution) -> torch.Tensor:
        self._check_kl_other(other)
        q = cast(MultiCategorical, other)
        if q.logits.shape != self.logits.shape:
            raise ValueError(
                f"MultiCategorical.kl() needs the same components, got {type(self)._describe()} "
                f"and {type(q)._describe()}."
            )
        log_p, log_q = self.log_probs, q.log_probs
        # sum_i KL_i = sum_i sum_a p (log p - log q): (B, k, max_n) -> (B,)
        return (log_p.exp() * (log_p - log_q)).sum((-2, -1))

    def to_deterministic(self) -> Distribution:
        from rlkit.distributions.deterministic import Deterministic

        return Deterministic(self.mode(), event_ndim=len(type(self)._shape))

    def summary(self) -> dict[str, torch.Tensor]:
        """{"probs": (B, sum(nvec))}: the components' probabilities concatenated, as the inputs."""
        probs = self.log_probs.detach().exp().flatten(-2)  # (B, k, max_n) -> (B, k * max_n)
        pad_index, _ = type(self)._device_consts(probs.device)
        return {"probs": probs if pad_index is None else probs.index_select(-1, pad_index)}
