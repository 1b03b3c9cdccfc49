"""The catalog: which default encoder each gymnasium observation space gets (decided once, at build).

=================================  ===============================================
observation space                  default encoder (before the ``fcnet_hiddens`` MLP)
=================================  ===============================================
``Box`` 1-D float                  none: the MLP reads it directly
``Box`` image                      :class:`CNNEncoder` (``uint8`` scaled to [0, 1])
``Box`` other (n-D, integer)       :class:`FlattenEncoder`
``MultiBinary``                    :class:`FlattenEncoder`
``Discrete`` / ``MultiDiscrete``   :class:`OneHotEncoder`
``Dict`` / ``Tuple`` (nested)      :class:`CompositeEncoder` of the parts' defaults
=================================  ===============================================

An image (:func:`~rlkit.models.encoders.is_image_space`) is a ``uint8`` Box of 2 or 3 dims
(HW, HWC or CHW; see :func:`~rlkit.models.encoders.image_layout`), or another 3-D Box whose
image is at least 3x3 pixels. Smaller 3-D float Boxes are flattened.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from torch import nn

from rlkit.models.config import DefaultModelConfig, ModelConfigError, resolve_model_config
from rlkit.models.encoders import (
    CNNEncoder,
    CompositeEncoder,
    EncoderStack,
    FlattenEncoder,
    GRUEncoder,
    LSTMEncoder,
    MLPEncoder,
    OneHotEncoder,
)
from rlkit.models.encoders.cnn import is_image_space
from rlkit.spaces import SUPPORTED_ACTION_SPACES, SUPPORTED_OBSERVATION_SPACES

__all__ = [
    "UnsupportedSpaceError",
    "build_space_encoder",
    "build_encoder",
    "build_recurrent_encoder",
    "check_observation_space",
    "check_action_space",
]

_LEAVES = (gym.spaces.Box, gym.spaces.Discrete, gym.spaces.MultiDiscrete, gym.spaces.MultiBinary)


class UnsupportedSpaceError(ValueError, TypeError):
    """A space the default models cannot handle (the message names it and lists the supported)."""


def _find_unsupported(space: gym.Space, path: str, leaves: tuple[type, ...]) -> tuple[str, gym.Space, str] | None:
    """(path, subspace, why) of the first part of ``space`` that is not supported, else None."""
    if isinstance(space, gym.spaces.Dict):
        if not space.spaces:
            return path, space, "it is empty"
        for key, sub in space.spaces.items():
            found = _find_unsupported(sub, f"{path}[{key!r}]", leaves)
            if found:
                return found
        return None
    if isinstance(space, gym.spaces.Tuple):
        if not space.spaces:
            return path, space, "it is empty"
        for i, sub in enumerate(space.spaces):
            found = _find_unsupported(sub, f"{path}[{i}]", leaves)
            if found:
                return found
        return None
    if isinstance(space, leaves):
        return None
    return path, space, f"{type(space).__name__} is not supported"


def check_observation_space(space: gym.Space, owner: str = "DefaultActorCritic") -> None:
    """Raise :class:`UnsupportedSpaceError` naming the part of ``space`` the default encoders cannot encode.

    Example:
        >>> import gymnasium as gym
        >>> check_observation_space(gym.spaces.Text(5))
        Traceback (most recent call last):
        ...
        rlkit.models.catalog.UnsupportedSpaceError: DefaultActorCritic cannot encode the observation space Text(1, 5, charset=...
    """
    if not isinstance(space, gym.Space):
        raise UnsupportedSpaceError(f"{owner} expects a gymnasium observation space, got {type(space).__name__} ({space!r}).")
    found = _find_unsupported(space, "obs", _LEAVES)
    if found is None:
        return
    path, sub, why = found
    where = "" if sub is space else f" at {path} of {space}"
    raise UnsupportedSpaceError(
        f"{owner} cannot encode the observation space {sub}{where}: {why}. Supported observation "
        f"spaces: {', '.join(SUPPORTED_OBSERVATION_SPACES)} (Dict and Tuple may nest the others). "
        f"Convert the observation with a gymnasium wrapper, or write your own RLModule "
        f"(RLModuleSpec(module_class=...))."
    )


def check_action_space(space: gym.Space, owner: str = "DefaultActorCritic") -> None:
    """Raise :class:`UnsupportedSpaceError` naming the part of ``space`` the default heads cannot act in."""
    if not isinstance(space, gym.Space):
        raise UnsupportedSpaceError(f"{owner} expects a gymnasium action space, got {type(space).__name__} ({space!r}).")
    found = _find_unsupported(space, "action", _LEAVES)
    if found is None:
        for path, sub in _leaves_of(space, "action"):
            if isinstance(sub, gym.spaces.Box) and not np.issubdtype(sub.dtype, np.floating):
                found = (path, sub, f"a Box action space needs a float dtype, not {sub.dtype} (use Discrete or MultiDiscrete for integer actions)")
                break
    if found is None:
        return
    path, sub, why = found
    where = "" if sub is space else f" at {path} of {space}"
    raise UnsupportedSpaceError(
        f"{owner} cannot act in the action space {sub}{where}: {why}. Supported action spaces: "
        f"{', '.join(SUPPORTED_ACTION_SPACES)} (Box with a float dtype; Dict and Tuple may nest "
        f"the others)."
    )


def _leaves_of(space: gym.Space, path: str):
    if isinstance(space, gym.spaces.Dict):
        for key, sub in space.spaces.items():
            yield from _leaves_of(sub, f"{path}[{key!r}]")
    elif isinstance(space, gym.spaces.Tuple):
        for i, sub in enumerate(space.spaces):
            yield from _leaves_of(sub, f"{path}[{i}]")
    else:
        yield path, space


def _group_kwargs(config: DefaultModelConfig, group: str) -> dict[str, Any]:
    return {
        f"{part}_initializer{suffix}": getattr(config, f"{group}_{part}_initializer{suffix}")
        for part in ("kernel", "bias")
        for suffix in ("", "_kwargs")
    }


def build_space_encoder(space: gym.Space, model_config: Any = None) -> nn.Module | None:
    """The per-space part of the default encoder (no MLP): one-hot, flatten, CNN or composite.

    Returns ``None`` for a 1-D float ``Box``, which the MLP reads as it is. Each returned
    encoder maps ``(*B, *obs_shape) -> (*B, output_dim)``.

    Example:
        >>> import gymnasium as gym
        >>> build_space_encoder(gym.spaces.Tuple((gym.spaces.Discrete(3), gym.spaces.Box(-1, 1, (2, 2)))))
        CompositeEncoder(
          Tuple of 2 parts, output_dim=7
          (parts): ModuleDict(
            (0): OneHotEncoder(space=Discrete(3), output_dim=3)
            (1): FlattenEncoder(shape=(2, 2), output_dim=4)
          )
        )
    """
    config = resolve_model_config(model_config)
    check_observation_space(space)
    if config.part_encoders:
        known = _part_paths(space) if isinstance(space, (gym.spaces.Dict, gym.spaces.Tuple)) else []
        unknown = [k for k in config.part_encoders if k not in known]
        if unknown:
            raise ModelConfigError(
                f"The 'part_encoders' entry of model_config names parts {unknown} that the observation space "
                f"{space} does not have. Parts: {known or 'none (only Dict / Tuple observations have parts)'}."
            )
    return _space_encoder(space, config, top=True)


def _space_encoder(space: gym.Space, config: DefaultModelConfig, top: bool, path: str = "") -> nn.Module | None:
    if isinstance(space, gym.spaces.Dict):
        return CompositeEncoder({k: _space_encoder(s, config, False, _join(path, k)) for k, s in space.spaces.items()})
    if isinstance(space, gym.spaces.Tuple):
        return CompositeEncoder([_space_encoder(s, config, False, _join(path, i)) for i, s in enumerate(space.spaces)])
    part = (config.part_encoders or {}).get(path) if not top else None
    if part:
        return _chosen_part_encoder(space, config, path, part)
    if isinstance(space, (gym.spaces.Discrete, gym.spaces.MultiDiscrete)):
        return OneHotEncoder(space)
    if is_image_space(space):
        return CNNEncoder(space, config.conv_filters, config.conv_activation, **_group_kwargs(config, "conv"))
    is_flat_float = isinstance(space, gym.spaces.Box) and len(space.shape) == 1 and np.issubdtype(space.dtype, np.floating)
    if top and is_flat_float:
        return None  # the MLP reads (B, d) float observations directly
    return FlattenEncoder(space)  # n-D / integer Box, MultiBinary; inside a composite also 1-D Box


def _join(path: str, key: Any) -> str:
    return f"{path}/{key}" if path else str(key)


def _part_paths(space: gym.Space, path: str = "") -> list[str]:
    if isinstance(space, gym.spaces.Dict):
        return [p for k, s in space.spaces.items() for p in _part_paths(s, _join(path, k))]
    if isinstance(space, gym.spaces.Tuple):
        return [p for i, s in enumerate(space.spaces) for p in _part_paths(s, _join(path, i))]
    return [path]


def _chosen_part_encoder(space: gym.Space, config: DefaultModelConfig, path: str, part: dict) -> nn.Module:
    """The encoder ``config.part_encoders[path]`` asks for, then that part's own MLP if it has one."""
    kind = part.get("encoder", "auto")
    if kind == "auto":
        kind = ("one_hot" if isinstance(space, (gym.spaces.Discrete, gym.spaces.MultiDiscrete))
                else "cnn" if is_image_space(space) else "flatten")
    fits = {"one_hot": isinstance(space, (gym.spaces.Discrete, gym.spaces.MultiDiscrete)), "cnn": is_image_space(space),
            "flatten": isinstance(space, (gym.spaces.Box, gym.spaces.MultiBinary))}
    if not fits[kind]:
        ok = [k for k, v in fits.items() if v]
        raise ModelConfigError(
            f"The 'part_encoders' entry of model_config asks for a {kind!r} encoder for obs part {path!r}, "
            f"but that part is {space}. Use one of {ok} for it (or 'auto')."
        )
    if kind == "one_hot":
        enc = OneHotEncoder(space)
    elif kind == "cnn":
        enc = CNNEncoder(space, part.get("conv_filters", config.conv_filters),
                         part.get("conv_activation", config.conv_activation), **_group_kwargs(config, "conv"))
    else:
        enc = FlattenEncoder(space)
    if part.get("fcnet_hiddens"):
        mlp = MLPEncoder(enc.output_dim, part["fcnet_hiddens"], part.get("fcnet_activation", config.fcnet_activation),
                         **_group_kwargs(config, "fcnet"))
        enc = EncoderStack(enc, mlp)
    return enc


def build_encoder(space: gym.Space, model_config: Any = None) -> nn.Module:
    """The default encoder for ``space``: :func:`build_space_encoder`, then an ``fcnet_hiddens`` MLP.

    ``(*B, *obs_shape) -> (*B, output_dim)``; Dict / Tuple observations are dicts / tuples of
    such tensors. Raises :class:`UnsupportedSpaceError` for spaces it cannot encode.

    Example:
        >>> import gymnasium as gym
        >>> enc = build_encoder(gym.spaces.Discrete(16), {"fcnet_hiddens": [32]})
        >>> [type(e).__name__ for e in enc], enc.output_dim
        (['OneHotEncoder', 'MLPEncoder'], 32)
    """
    config = resolve_model_config(model_config)
    first = build_space_encoder(space, config)
    input_dim = int(space.shape[0]) if first is None else first.output_dim
    mlp = MLPEncoder(input_dim, config.fcnet_hiddens, config.fcnet_activation, **_group_kwargs(config, "fcnet"))
    return mlp if first is None else EncoderStack(first, mlp)


def build_recurrent_encoder(input_dim: int, model_config: Any = None) -> LSTMEncoder | GRUEncoder | None:
    """The LSTM / GRU that follows the encoder when ``use_lstm`` / ``use_gru`` is set, else None."""
    config = resolve_model_config(model_config)
    if config.use_lstm:
        return LSTMEncoder(input_dim, config.lstm_cell_size)
    if config.use_gru:
        return GRUEncoder(input_dim, config.lstm_cell_size)
    return None
