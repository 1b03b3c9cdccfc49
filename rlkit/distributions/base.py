"""`Distribution`: the interface every rlkit action distribution implements, and space binding.

A distribution class is either *unbound* (`Categorical`: works from the width of its
inputs) or *bound* to one action space (`Categorical.for_space(Discrete(3, start=1))`: a
dynamically created subclass that knows the space, checks input widths and returns
samples that lie inside the space). Bound classes are cached per space, so asking twice
for the same space gives the same class.

Example:
    >>> import torch
    >>> from gymnasium.spaces import Discrete
    >>> from rlkit.distributions import Categorical
    >>> cls = Categorical.for_space(Discrete(3, start=1))
    >>> cls.__name__, cls.required_input_dim(), cls is Categorical.for_space(Discrete(3, start=1))
    ('Categorical[Discrete(3, start=1)]', 3, True)
    >>> cls.from_logits(torch.tensor([[0.0, 9.0, 0.0]])).mode()
    tensor([2])
"""

from __future__ import annotations

import copyreg
import math
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
import torch

__all__ = ["Distribution"]

# Bound classes, keyed by (unbound class, structural key of the space). Gymnasium spaces
# define __eq__ without __hash__, so they cannot be dict keys themselves.
_BOUND_CLASSES: dict[tuple[type, Any], type[Distribution]] = {}

LOG_2PI = math.log(2.0 * math.pi)


class _DistributionType(type):
    """Metaclass of distributions; only here so that bound classes pickle (see `_reduce_class`)."""


def _reduce_class(cls: _DistributionType) -> Any:
    """Pickle a bound class as `for_space(space)` on its unbound class (it has no global name)."""
    if cls.space is not None and "_base" in cls.__dict__:  # type: ignore[attr-defined]
        return _rebind, (cls._base, cls.space)  # type: ignore[attr-defined]
    return cls.__qualname__  # an ordinary class: pickled by name


def _rebind(base: type[Distribution], space: gym.Space) -> type[Distribution]:
    return base.for_space(space)


copyreg.pickle(_DistributionType, _reduce_class)


class Distribution(metaclass=_DistributionType):
    """Base class of rlkit action distributions (same shape as RLlib's `TorchDistribution`).

    Subclasses implement `from_logits`, `sample`, `logp`, `entropy`, `kl`, `mode`,
    `summary` and `_bind` (what a bound subclass needs to know about its space).
    Everything returned per batch row has shape `(B,)`, where `B` may be several leading
    batch dimensions (e.g. `(B, T)` for sequences).
    """

    __slots__ = ()

    #: The action space a bound class is bound to; `None` on the unbound classes.
    space: ClassVar[gym.Space | None] = None
    #: Width of the inputs the bound class expects (`None` when unbound).
    _input_dim: ClassVar[int | None] = None

    # ---------------------------------------------------------------- binding to a space
    @classmethod
    def for_space(cls, space: gym.Space) -> type[Distribution]:
        """Return the subclass of `cls` bound to `space` (created once, then cached)."""
        base = cls._unbound()
        key = (base, space_key(space))
        bound = _BOUND_CLASSES.get(key)
        if bound is None:
            attrs = base._bind(space)  # validates the space; raises ValueError
            attrs.update(space=space, _base=base, __slots__=(), __module__=base.__module__)
            name = f"{base.__name__}[{space!r}]"
            bound = type(name, (base,), attrs)
            bound.__qualname__ = name
            _BOUND_CLASSES[key] = bound
        return bound

    @classmethod
    def _bind(cls, space: gym.Space) -> dict[str, Any]:
        """Validate `space` and return the class attributes of the bound subclass."""
        raise ValueError(f"{cls.__name__} cannot be bound to an action space.")

    @classmethod
    def _unbound(cls) -> type[Distribution]:
        return getattr(cls, "_base", cls) if cls.space is not None else cls

    @classmethod
    def required_input_dim(cls, space: gym.Space | None = None) -> int:
        """Width of the inputs (ACTION_DIST_INPUTS) this distribution needs for `space`.

        On a bound class `space` defaults to the bound space.
        """
        if space is None:
            if cls.space is None:
                raise ValueError(
                    f"{cls.__name__}.required_input_dim() needs an action space, e.g. "
                    f"{cls.__name__}.required_input_dim(space), or call it on a bound class "
                    f"({cls.__name__}.for_space(space))."
                )
            return int(cls._input_dim)  # type: ignore[arg-type]
        return int(cls._unbound().for_space(space)._input_dim)  # type: ignore[arg-type]

    @classmethod
    def _describe(cls) -> str:
        """'Categorical for Discrete(2)' on bound classes, 'Categorical' on unbound ones."""
        if cls.space is None:
            return cls.__name__
        return f"{cls._unbound().__name__} for {cls.space!r}"

    @classmethod
    def _check_inputs(cls, inputs: torch.Tensor) -> None:
        """Raise a ValueError unless `inputs` is a float tensor of shape (B, `_input_dim`)."""
        if not isinstance(inputs, torch.Tensor):
            raise TypeError(
                f"{cls._describe()} expects inputs as a torch.Tensor of shape "
                f"(B, {cls._input_dim}), got {type(inputs).__name__}."
            )
        if inputs.dim() < 2 or inputs.shape[-1] != cls._input_dim:
            raise ValueError(
                f"{cls._describe()} expects inputs of shape (B, {cls._input_dim}), "
                f"got {tuple(inputs.shape)}."
            )
        if not inputs.is_floating_point():
            raise ValueError(
                f"{cls._describe()} expects floating-point inputs, got dtype {inputs.dtype}."
            )

    # ---------------------------------------------------------------- the interface
    @classmethod
    def from_logits(cls, inputs: torch.Tensor, **kwargs: Any) -> Distribution:
        """Build the distribution from the raw network outputs `inputs` of shape (B, n)."""
        raise NotImplementedError

    def sample(self) -> Any:
        """Draw one action per batch row (no gradient); lies inside the bound space."""
        raise NotImplementedError

    def rsample(self) -> Any:
        """Draw a reparameterised sample (gradients flow to the inputs)."""
        raise NotImplementedError(
            f"{type(self)._describe()} is not reparameterisable: rsample() needs a continuous "
            f"distribution such as DiagGaussian. Use sample() (no gradient), or logp() with a "
            f"score-function estimator (as PPO does)."
        )

    def logp(self, actions: Any) -> torch.Tensor:
        """Log-probability (or density) of `actions`, shape (B,)."""
        raise NotImplementedError

    def entropy(self) -> torch.Tensor:
        """Entropy per batch row, shape (B,)."""
        raise NotImplementedError

    def kl(self, other: Distribution) -> torch.Tensor:
        """KL(self || other) per batch row, shape (B,)."""
        raise NotImplementedError

    def mode(self) -> Any:
        """The most likely (greedy) action per batch row."""
        raise NotImplementedError

    def to_deterministic(self) -> Distribution:
        """A `Deterministic` distribution whose `sample()` is this distribution's mode."""
        raise NotImplementedError

    def summary(self) -> dict[str, torch.Tensor]:
        """A readable, detached summary, e.g. {"probs": (B, n)} or {"mean": ..., "std": ...}."""
        raise NotImplementedError

    @property
    def batch_shape(self) -> tuple[int, ...]:
        """The leading batch dimensions (usually `(B,)`)."""
        raise NotImplementedError

    def _check_kl_other(self, other: Distribution) -> None:
        mine, theirs = type(self)._unbound(), type(other)._unbound()
        if mine is not theirs:
            raise TypeError(
                f"{mine.__name__}.kl() needs another {mine.__name__}, got {theirs.__name__}: "
                f"the KL divergence is only defined here between distributions of the same class."
            )

    def __repr__(self) -> str:
        return f"<{type(self)._describe()}: batch_shape={tuple(self.batch_shape)}>"


def space_key(space: gym.Space) -> Any:
    """A hashable key that is equal for structurally equal spaces (used to cache bound classes)."""
    if isinstance(space, gym.spaces.Discrete):
        return (type(space), int(space.n), int(space.start), str(space.dtype))
    if isinstance(space, gym.spaces.Box):
        return (
            type(space),
            space.shape,
            str(space.dtype),
            space.low.tobytes(),
            space.high.tobytes(),
        )
    if isinstance(space, gym.spaces.MultiDiscrete):
        return (
            type(space),
            space.nvec.shape,
            space.nvec.tobytes(),
            space.start.tobytes(),
            str(space.dtype),
        )
    if isinstance(space, gym.spaces.MultiBinary):
        return (type(space), tuple(np.atleast_1d(space.n).tolist()))
    if isinstance(space, gym.spaces.Tuple):
        return (type(space), tuple(space_key(s) for s in space.spaces))
    if isinstance(space, gym.spaces.Dict):
        return (type(space), tuple((k, space_key(s)) for k, s in space.spaces.items()))
    return (type(space), repr(space))


def event_dims(ndim: int) -> tuple[int, ...]:
    """The trailing dims to sum over for an event of `ndim` dims: 2 -> (-2, -1)."""
    return tuple(range(-ndim, 0))


def sum_event(x: torch.Tensor, dims: tuple[int, ...]) -> torch.Tensor:
    """Sum `x` over the event `dims` (no-op for scalar events; `sum(dim=())` would sum all)."""
    return x.sum(dim=dims) if dims else x


def torch_dtype(np_dtype: Any) -> torch.dtype:
    """The torch dtype equivalent to a numpy dtype: np.int64 -> torch.int64."""
    return torch.from_numpy(np.zeros(0, dtype=np_dtype)).dtype
