"""Default models: the model config, encoders and heads to compose, and the default actor-critic.

``RLModuleSpec(observation_space=..., action_space=...).build()`` (no ``module_class``)
builds :class:`DefaultActorCritic`; the same building blocks are public for custom modules.

Example:
    >>> import gymnasium as gym, torch
    >>> from rlkit.models import DefaultModelConfig, build_encoder
    >>> enc = build_encoder(gym.spaces.Discrete(5), DefaultModelConfig(fcnet_hiddens=[8]))
    >>> enc(torch.tensor([0, 4])).shape
    torch.Size([2, 8])
"""

from __future__ import annotations

from rlkit.models.catalog import (
    UnsupportedSpaceError,
    build_encoder,
    build_recurrent_encoder,
    build_space_encoder,
    check_action_space,
    check_observation_space,
)
from rlkit.models.config import DefaultModelConfig, ModelConfigError, resolve_model_config
from rlkit.models.default_actor_critic import ACTION_MASK_KEY, DefaultActorCritic
from rlkit.models.encoders import (
    CNNEncoder,
    CompositeEncoder,
    EncoderStack,
    FlattenEncoder,
    GRUEncoder,
    LSTMEncoder,
    MLPEncoder,
    OneHotEncoder,
    RecurrentEncoder,
    default_conv_filters,
)
from rlkit.models.heads import PolicyHead, QHead, ValueHead

__all__ = [
    # --- config ---
    "DefaultModelConfig",
    "ModelConfigError",
    "resolve_model_config",
    # --- the default module ---
    "DefaultActorCritic",
    "ACTION_MASK_KEY",
    # --- encoders ---
    "MLPEncoder",
    "CNNEncoder",
    "FlattenEncoder",
    "OneHotEncoder",
    "CompositeEncoder",
    "EncoderStack",
    "RecurrentEncoder",
    "LSTMEncoder",
    "GRUEncoder",
    "default_conv_filters",
    # --- heads ---
    "PolicyHead",
    "ValueHead",
    "QHead",
    # --- the catalog ---
    "build_encoder",
    "build_space_encoder",
    "build_recurrent_encoder",
    "check_observation_space",
    "check_action_space",
    "UnsupportedSpaceError",
]
