"""`CompositeEncoder`: encode each part of a ``Dict`` / ``Tuple`` observation, then concatenate."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import torch
from torch import nn

__all__ = ["CompositeEncoder"]


def _module_name(key: str, taken: set[str]) -> str:
    """A valid, unique submodule name for a Dict key (torch forbids '.' and '')."""
    name = str(key).replace(".", "_") or "_"
    while name in taken:
        name += "_"
    taken.add(name)
    return name


class CompositeEncoder(nn.Module):
    """One encoder per part of a ``Dict`` (by key) or ``Tuple`` (by position); outputs concatenated.

    Each part encoder maps ``(*B, *part_shape) -> (*B, d_i)`` and exposes ``output_dim``;
    the composite gives ``(*B, sum d_i)`` in the parts' order. Nesting is allowed (a part
    can be another ``CompositeEncoder``). Keys the encoder does not know are ignored, so a
    Dict observation may carry extra entries such as ``"action_mask"``.

    Args:
        parts: ``{key: encoder}`` for Dict observations, or a sequence of encoders for Tuple
            observations.

    Example:
        >>> import gymnasium as gym, torch
        >>> from rlkit.models import FlattenEncoder, OneHotEncoder
        >>> enc = CompositeEncoder({"pos": FlattenEncoder(gym.spaces.Box(-1, 1, (2,))),
        ...                         "room": OneHotEncoder(gym.spaces.Discrete(3))})
        >>> enc.output_dim
        5
        >>> enc({"pos": torch.zeros(4, 2), "room": torch.tensor([0, 1, 2, 0])}).shape
        torch.Size([4, 5])
    """

    def __init__(self, parts: Mapping[str, nn.Module] | Sequence[nn.Module]) -> None:
        super().__init__()
        if isinstance(parts, Mapping):
            items = list(parts.items())
            self.keys: tuple[Any, ...] = tuple(k for k, _ in items)
            self.is_dict = True
        elif isinstance(parts, Sequence) and not isinstance(parts, (str, bytes)):
            items = list(enumerate(parts))
            self.keys = tuple(range(len(items)))
            self.is_dict = False
        else:
            raise TypeError(
                f"CompositeEncoder expects a dict of encoders (Dict observations) or a list of "
                f"encoders (Tuple observations), got {type(parts).__name__}."
            )
        if not items:
            raise ValueError("CompositeEncoder needs at least one part; got an empty Dict / Tuple.")
        taken: set[str] = set()
        self.parts = nn.ModuleDict()
        for key, enc in items:
            if not isinstance(enc, nn.Module) or not isinstance(getattr(enc, "output_dim", None), int):
                raise TypeError(
                    f"CompositeEncoder part {key!r} must be an nn.Module with an int output_dim "
                    f"(e.g. an rlkit encoder), got {type(enc).__name__}."
                )
            self.parts[_module_name(key, taken) if self.is_dict else str(key)] = enc
        #: Width of the encoding: the parts' widths added up.
        self.output_dim = sum(enc.output_dim for enc in self.parts.values())

    def forward(self, obs: Mapping[str, Any] | Sequence[Any]) -> torch.Tensor:
        # each part (*B, *shape_i) -> (*B, d_i); concatenated: (*B, sum d_i)
        return torch.cat([enc(obs[key]) for key, enc in zip(self.keys, self.parts.values())], dim=-1)

    def extra_repr(self) -> str:
        kind = "Dict" if self.is_dict else "Tuple"
        return f"{kind} of {len(self.keys)} parts, output_dim={self.output_dim}"
