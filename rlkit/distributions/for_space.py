"""Pick the action distribution for an action space: `get_action_dist_cls`, `required_input_dim`.

Example:
    >>> from gymnasium.spaces import Box, Discrete, MultiBinary, MultiDiscrete, Tuple
    >>> from rlkit.distributions import get_action_dist_cls, required_input_dim
    >>> get_action_dist_cls(Discrete(4)).__name__
    'Categorical[Discrete(4)]'
    >>> [required_input_dim(s) for s in (Discrete(4), Box(-1, 1, (2, 3)), MultiDiscrete([2, 3]),
    ...                                  MultiBinary(5), Tuple((Discrete(4), MultiBinary(5))))]
    [4, 12, 5, 5, 9]
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from rlkit.distributions.base import Distribution
from rlkit.distributions.bernoulli import Bernoulli
from rlkit.distributions.categorical import Categorical
from rlkit.distributions.composite import Composite
from rlkit.distributions.diag_gaussian import DiagGaussian
from rlkit.distributions.multi_categorical import MultiCategorical
from rlkit.spaces import SUPPORTED_ACTION_SPACES

__all__ = ["get_action_dist_cls", "required_input_dim"]

_LEAF_CLASSES: tuple[tuple[type[gym.Space], type[Distribution]], ...] = (
    (gym.spaces.Discrete, Categorical),
    (gym.spaces.Box, DiagGaussian),
    (gym.spaces.MultiDiscrete, MultiCategorical),
    (gym.spaces.MultiBinary, Bernoulli),
)


def get_action_dist_cls(space: gym.Space) -> type[Distribution]:
    """The distribution class bound to `space`: `cls.from_logits(inputs)` needs nothing else.

    Raises:
        ValueError: naming the unsupported (sub)space and listing the supported ones.
    """
    _check_supported(space, space, path="")
    if isinstance(space, (gym.spaces.Tuple, gym.spaces.Dict)):
        return Composite.for_space(space)
    for space_type, dist_cls in _LEAF_CLASSES:
        if isinstance(space, space_type):
            return dist_cls.for_space(space)
    raise AssertionError("unreachable: _check_supported accepted the space")  # pragma: no cover


def required_input_dim(space: gym.Space) -> int:
    """Width of ACTION_DIST_INPUTS for `space`: the columns `get_action_dist_cls(space)` reads."""
    return get_action_dist_cls(space).required_input_dim()


def _check_supported(space: gym.Space, root: gym.Space, path: str) -> None:
    """Raise a ValueError naming the first unsupported (sub)space, with its path in `root`."""
    if isinstance(space, gym.spaces.Tuple):
        items = [(str(i), s) for i, s in enumerate(space.spaces)]
    elif isinstance(space, gym.spaces.Dict):
        items = [(str(k), s) for k, s in space.spaces.items()]
    else:
        items = None
    if items:
        for name, sub in items:
            _check_supported(sub, root, f"{path}/{name}" if path else name)
        return
    if items is not None:
        reason = "it has no components"
    elif isinstance(space, gym.spaces.Box) and not np.issubdtype(space.dtype, np.floating):
        reason = (
            f"its dtype {space.dtype} is not floating-point (use Discrete or MultiDiscrete "
            f"for integer actions)"
        )
    elif isinstance(space, tuple(t for t, _ in _LEAF_CLASSES)):
        return
    else:
        reason = f"{type(space).__name__} is not a supported action space"
    where = f" (component {path!r} of {root!r})" if path else ""
    raise ValueError(
        f"No action distribution for {space!r}{where}: {reason}. Supported action spaces: "
        f"{', '.join(SUPPORTED_ACTION_SPACES)} (Box with a floating-point dtype; Dict and "
        f"Tuple may nest the others)."
    )
