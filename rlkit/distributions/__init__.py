"""Action distributions: pick one for an action space, build it from the module's outputs.

Example:
    >>> import torch
    >>> from gymnasium.spaces import Discrete
    >>> from rlkit.distributions import get_action_dist_cls, required_input_dim
    >>> space = Discrete(3)
    >>> dist = get_action_dist_cls(space).from_logits(torch.zeros(4, required_input_dim(space)))
    >>> dist.sample().shape, dist.entropy().shape
    (torch.Size([4]), torch.Size([4]))
"""

from __future__ import annotations

from rlkit.distributions.base import Distribution
from rlkit.distributions.bernoulli import Bernoulli
from rlkit.distributions.categorical import Categorical
from rlkit.distributions.composite import Composite
from rlkit.distributions.deterministic import Deterministic
from rlkit.distributions.diag_gaussian import DiagGaussian
from rlkit.distributions.for_space import get_action_dist_cls, required_input_dim
from rlkit.distributions.multi_categorical import MultiCategorical

__all__ = [
    # the interface
    "Distribution",
    # one class per kind of action space
    "Categorical",
    "DiagGaussian",
    "MultiCategorical",
    "Bernoulli",
    "Deterministic",
    "Composite",
    # choosing by action space
    "get_action_dist_cls",
    "required_input_dim",
]
