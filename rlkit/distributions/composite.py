"""`Composite`: the action distribution of a `Tuple` or `Dict` action space (nested).

The inputs are the children's inputs concatenated in the space's order (a `Dict` in its
key order). A sample is a tuple / dict of the children's samples; `logp`, `entropy` and
`kl` add up the children's (the components are independent).

Example:
    >>> import torch
    >>> from gymnasium.spaces import Box, Dict, Discrete
    >>> from rlkit.distributions import get_action_dist_cls
    >>> space = Dict({"move": Box(-1.0, 1.0, shape=(2,)), "fire": Discrete(2)})
    >>> cls = get_action_dist_cls(space)
    >>> list(space.spaces), cls.required_input_dim()  # Dict sorts its keys: fire (2) + move (4)
    (['fire', 'move'], 6)
    >>> dist = cls.from_logits(torch.zeros(1, 6))
    >>> sorted(dist.summary())
    ['fire/probs', 'move/mean', 'move/std']
    >>> {k: v.shape for k, v in dist.sample().items()}
    {'fire': torch.Size([1]), 'move': torch.Size([1, 2])}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, cast

import gymnasium as gym
import torch

from rlkit.distributions.base import Distribution

__all__ = ["Composite"]


class Composite(Distribution):
    """Independent children, one per component of a Tuple / Dict space.

    `Composite(children)` takes a tuple (or list) or a dict of built distributions;
    `from_logits` needs a bound class (`get_action_dist_cls(space)`), which knows each
    child's class and input width.
    """

    __slots__ = ("children", "_keys")

    _child_classes: ClassVar[tuple[type[Distribution], ...]] = ()
    _child_keys: ClassVar[tuple[str, ...] | None] = None  # Dict keys; None for Tuple
    _widths: ClassVar[tuple[int, ...]] = ()

    def __init__(
        self, children: tuple[Distribution, ...] | list[Distribution] | Mapping[str, Distribution]
    ) -> None:
        if isinstance(children, Mapping):
            self._keys: tuple[str, ...] | None = tuple(children)
            self.children: tuple[Distribution, ...] = tuple(children.values())
        else:
            self._keys = None
            self.children = tuple(children)

    @classmethod
    def _bind(cls, space: gym.Space) -> dict[str, Any]:
        from rlkit.distributions.for_space import get_action_dist_cls

        if isinstance(space, gym.spaces.Tuple):
            keys, subspaces = None, tuple(space.spaces)
        elif isinstance(space, gym.spaces.Dict):
            keys, subspaces = tuple(space.spaces), tuple(space.spaces.values())
        else:
            raise ValueError(f"Composite needs a Tuple or Dict action space, got {space!r}.")
        if not subspaces:
            raise ValueError(f"Composite needs at least one component, got the empty {space!r}.")
        classes = tuple(get_action_dist_cls(s) for s in subspaces)
        widths = tuple(c.required_input_dim() for c in classes)
        return {
            "_child_classes": classes,
            "_child_keys": keys,
            "_widths": widths,
            "_input_dim": sum(widths),
        }

    @classmethod
    def from_logits(cls, inputs: torch.Tensor) -> Composite:
        """Split inputs (B, sum of children's widths) in space order and build each child."""
        if cls.space is None:
            raise ValueError(
                "Composite.from_logits() needs to know its action space: use "
                "get_action_dist_cls(space).from_logits(inputs) or "
                "Composite.for_space(space).from_logits(inputs)."
            )
        cls._check_inputs(inputs)
        parts = inputs.split(cls._widths, dim=-1)  # (B, sum w) -> [(B, w_i)]
        children = tuple(c.from_logits(x) for c, x in zip(cls._child_classes, parts, strict=True))
        return cls(
            children
            if cls._child_keys is None
            else dict(zip(cls._child_keys, children, strict=True))
        )

    # ---------------------------------------------------------------- helpers
    def _pack(self, values: list[Any]) -> Any:
        """Children's results in order -> tuple, or dict keyed like the space."""
        return tuple(values) if self._keys is None else dict(zip(self._keys, values, strict=True))

    def _unpack(self, actions: Any) -> list[Any]:
        """A tuple / dict action -> the children's actions in order."""
        if self._keys is None:
            if not isinstance(actions, (tuple, list)) or len(actions) != len(self.children):
                raise ValueError(
                    f"{type(self)._describe()}.logp() expects a tuple of {len(self.children)} "
                    f"action tensors, got {_describe_action(actions)}."
                )
            return list(actions)
        if not isinstance(actions, Mapping) or set(actions) != set(self._keys):
            raise ValueError(
                f"{type(self)._describe()}.logp() expects a dict of action tensors with keys "
                f"{list(self._keys)}, got {_describe_action(actions)}."
            )
        return [actions[k] for k in self._keys]

    def _names(self) -> list[str]:
        return (
            [str(i) for i in range(len(self.children))] if self._keys is None else list(self._keys)
        )

    @property
    def batch_shape(self) -> tuple[int, ...]:
        return self.children[0].batch_shape

    # ---------------------------------------------------------------- the interface
    def sample(self) -> Any:
        return self._pack([c.sample() for c in self.children])

    def rsample(self) -> Any:
        values = []
        for name, child in zip(self._names(), self.children, strict=True):
            try:
                values.append(child.rsample())
            except NotImplementedError as err:
                raise NotImplementedError(f"Component {name!r}: {err}") from None
        return self._pack(values)

    def mode(self) -> Any:
        return self._pack([c.mode() for c in self.children])

    def logp(self, actions: Any) -> torch.Tensor:
        # log p(a) = sum_i log p_i(a_i), each (B,) -> (B,)
        return _sum([c.logp(a) for c, a in zip(self.children, self._unpack(actions), strict=True)])

    def entropy(self) -> torch.Tensor:
        return _sum([c.entropy() for c in self.children])  # H = sum_i H_i: (B,)

    def kl(self, other: Distribution) -> torch.Tensor:
        self._check_kl_other(other)
        q = cast(Composite, other)
        if q._keys != self._keys or len(q.children) != len(self.children):
            raise ValueError(
                f"Composite.kl() needs the same components, got {self._names()} and {q._names()}."
            )
        return _sum(
            [p.kl(c) for p, c in zip(self.children, q.children, strict=True)]
        )  # sum_i KL_i: (B,)

    def to_deterministic(self) -> Composite:
        return Composite(self._pack([c.to_deterministic() for c in self.children]))

    def summary(self) -> dict[str, torch.Tensor]:
        """Children's summaries with keys prefixed by the component: "0/probs", "move/mean"."""
        return {
            f"{name}/{key}": value
            for name, child in zip(self._names(), self.children, strict=True)
            for key, value in child.summary().items()
        }


def _sum(values: list[torch.Tensor]) -> torch.Tensor:
    total = values[0]
    for v in values[1:]:
        total = total + v
    return total


def _describe_action(actions: Any) -> str:
    if isinstance(actions, Mapping):
        return f"a dict with keys {list(actions)}"
    if isinstance(actions, (tuple, list)):
        return f"a {type(actions).__name__} of length {len(actions)}"
    return type(actions).__name__
