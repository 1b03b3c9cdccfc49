"""Gymnasium spaces in rlkit: JSON round trips, observation batching and observation checks."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from gymnasium import spaces

__all__ = [
    "SUPPORTED_OBSERVATION_SPACES",
    "SUPPORTED_ACTION_SPACES",
    "ObservationError",
    "space_to_dict",
    "space_from_dict",
    "obs_to_tensor",
    "make_obs_converter",
    "is_batched_obs",
    "stack_obs",
    "add_batch_dim",
    "sample_obs_batch",
]

#: Observation spaces the default modules encode (nesting allowed for Dict / Tuple).
SUPPORTED_OBSERVATION_SPACES = ("Box", "Discrete", "MultiDiscrete", "MultiBinary", "Dict", "Tuple")
#: Action spaces rlkit has a distribution for (nesting allowed for Dict / Tuple).
SUPPORTED_ACTION_SPACES = ("Discrete", "Box", "MultiDiscrete", "MultiBinary", "Dict", "Tuple")


class ObservationError(ValueError):
    """An observation does not fit the module's observation space."""


# --------------------------------------------------------------------------------------
# JSON round trip
# --------------------------------------------------------------------------------------


def _bound_to_json(values: np.ndarray) -> Any:
    """Box bounds as JSON: one number when all equal, else nested lists; +-inf as strings."""
    flat = np.unique(values)
    if flat.size == 1:
        return _scalar_to_json(flat[0])
    return [_bound_to_json(v) if isinstance(v, np.ndarray) else _scalar_to_json(v) for v in values]


def _scalar_to_json(x: Any) -> float | int | str:
    if isinstance(x, (np.floating, float)):
        if np.isinf(x):
            return "inf" if x > 0 else "-inf"
        return float(x)
    return int(x)


def _bound_from_json(value: Any, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    def conv(v: Any) -> Any:
        if isinstance(v, list):
            return [conv(u) for u in v]
        return float(v) if isinstance(v, str) else v

    arr = np.asarray(conv(value), dtype=np.float64)
    return np.broadcast_to(arr, shape).astype(dtype)


def space_to_dict(space: spaces.Space) -> dict[str, Any]:
    """Describe a gymnasium space as plain JSON-able data (see :func:`space_from_dict`).

    Example:
        >>> import gymnasium as gym
        >>> space_to_dict(gym.spaces.Discrete(3))
        {'type': 'Discrete', 'n': 3, 'start': 0}
    """
    if isinstance(space, spaces.Box):
        return {
            "type": "Box",
            "shape": list(space.shape),
            "dtype": np.dtype(space.dtype).name,
            "low": _bound_to_json(space.low),
            "high": _bound_to_json(space.high),
        }
    if isinstance(space, spaces.Discrete):
        return {"type": "Discrete", "n": int(space.n), "start": int(space.start)}
    if isinstance(space, spaces.MultiDiscrete):
        return {
            "type": "MultiDiscrete",
            "nvec": np.asarray(space.nvec).tolist(),
            "start": np.asarray(space.start).tolist(),
        }
    if isinstance(space, spaces.MultiBinary):
        n = space.n
        return {"type": "MultiBinary", "n": list(n) if isinstance(n, (tuple, list, np.ndarray)) else int(n)}
    if isinstance(space, spaces.Tuple):
        return {"type": "Tuple", "spaces": [space_to_dict(s) for s in space.spaces]}
    if isinstance(space, spaces.Dict):
        # A list of pairs keeps the key order through any JSON tool.
        return {"type": "Dict", "spaces": [[k, space_to_dict(s)] for k, s in space.spaces.items()]}
    raise ValueError(
        f"Cannot describe {space!r} as JSON: rlkit supports the spaces "
        f"{', '.join(sorted(set(SUPPORTED_OBSERVATION_SPACES + SUPPORTED_ACTION_SPACES)))}."
    )


def space_from_dict(data: dict[str, Any]) -> spaces.Space:
    """Rebuild a gymnasium space from :func:`space_to_dict` output."""
    kind = data.get("type") if isinstance(data, dict) else None
    if kind == "Box":
        shape = tuple(data["shape"])
        dtype = np.dtype(data["dtype"])
        low = _bound_from_json(data["low"], shape, dtype)
        high = _bound_from_json(data["high"], shape, dtype)
        return spaces.Box(low=low, high=high, shape=shape, dtype=dtype)
    if kind == "Discrete":
        return spaces.Discrete(int(data["n"]), start=int(data.get("start", 0)))
    if kind == "MultiDiscrete":
        return spaces.MultiDiscrete(np.asarray(data["nvec"]), start=np.asarray(data.get("start", 0)))
    if kind == "MultiBinary":
        return spaces.MultiBinary(data["n"])
    if kind == "Tuple":
        return spaces.Tuple([space_from_dict(s) for s in data["spaces"]])
    if kind == "Dict":
        items = data["spaces"]
        pairs = items.items() if isinstance(items, dict) else items
        return spaces.Dict({k: space_from_dict(s) for k, s in pairs})
    raise ValueError(
        f"Cannot rebuild a space from {data!r}: expected a dict with 'type' one of "
        "Box, Discrete, MultiDiscrete, MultiBinary, Tuple, Dict (as written by space_to_dict)."
    )


# --------------------------------------------------------------------------------------
# Observations -> tensors (the cheap check on every forward pass)
# --------------------------------------------------------------------------------------

_INT_SPACES = (spaces.Discrete, spaces.MultiDiscrete)


def _torch_dtype_for(space: spaces.Space) -> torch.dtype:
    if isinstance(space, _INT_SPACES):
        return torch.int64
    if isinstance(space, spaces.MultiBinary):
        return torch.float32
    # Box: integer images stay integer (CNN encoders scale them); floats become float32.
    if np.issubdtype(space.dtype, np.integer):
        return torch.uint8 if space.dtype == np.uint8 else torch.int64
    return torch.float32


def _leaf_shape(space: spaces.Space) -> tuple[int, ...]:
    return () if isinstance(space, spaces.Discrete) else tuple(space.shape)


def _fmt_shape(shape: tuple[int, ...], lead: str = "B") -> str:
    return "(" + ", ".join([lead, *map(str, shape)]) + ("" if shape else ",") + ")"


def obs_to_tensor(
    obs: Any, space: spaces.Space, *, max_batch_dims: int = 1, where: str = "obs"
) -> Any:
    """Convert a batch of observations to tensors shaped for ``space`` and check its shape.

    Leaves become tensors of the space's dtype (float32 for float Box, MultiBinary; int64 for
    Discrete / MultiDiscrete; uint8 kept for images). Dict / Tuple spaces give dict / tuple.
    ``max_batch_dims`` is 1 for ``(B, ...)`` batches and 2 when a ``(B, T, ...)`` batch is allowed.

    Raises:
        ObservationError: the observation does not fit ``space``, naming expected and found.

    Example:
        >>> import gymnasium as gym
        >>> obs_to_tensor(np.zeros((2, 4)), gym.spaces.Box(-1, 1, (4,))).dtype
        torch.float32
    """
    if isinstance(space, spaces.Dict):
        if not isinstance(obs, dict):
            raise ObservationError(
                f"expected {where} to be a dict with keys {list(space.spaces)} for {space}, "
                f"got {type(obs).__name__}."
            )
        missing = [k for k in space.spaces if k not in obs]
        if missing:
            raise ObservationError(
                f"expected {where} to have keys {list(space.spaces)} for {space}, "
                f"missing {missing} (found {list(obs)})."
            )
        return {
            k: obs_to_tensor(obs[k], s, max_batch_dims=max_batch_dims, where=f"{where}[{k!r}]")
            for k, s in space.spaces.items()
        }
    if isinstance(space, spaces.Tuple):
        if not isinstance(obs, (tuple, list)) or len(obs) != len(space.spaces):
            found = f"{type(obs).__name__} of length {len(obs)}" if isinstance(obs, (tuple, list)) else type(obs).__name__
            raise ObservationError(
                f"expected {where} to be a tuple of {len(space.spaces)} parts for {space}, got {found}."
            )
        return tuple(
            obs_to_tensor(o, s, max_batch_dims=max_batch_dims, where=f"{where}[{i}]")
            for i, (o, s) in enumerate(zip(obs, space.spaces))
        )
    if not isinstance(space, (spaces.Box, spaces.Discrete, spaces.MultiDiscrete, spaces.MultiBinary)):
        raise ObservationError(
            f"{where}: the observation space {space} is not supported; "
            f"supported: {', '.join(SUPPORTED_OBSERVATION_SPACES)}."
        )
    dtype = _torch_dtype_for(space)
    if isinstance(obs, torch.Tensor):
        tensor = obs if obs.dtype == dtype else obs.to(dtype)
    else:
        try:
            tensor = torch.as_tensor(np.asarray(obs), dtype=dtype)
        except (TypeError, ValueError) as err:
            raise ObservationError(
                f"expected {where} to be an array for {space}, got {type(obs).__name__}: {err}"
            ) from None
    shape = _leaf_shape(space)
    n_lead = tensor.dim() - len(shape)
    if not (1 <= n_lead <= max_batch_dims) or tuple(tensor.shape[n_lead:]) != shape:
        lead = "B" if max_batch_dims == 1 else "B[, T]"
        hint = ""
        if tuple(tensor.shape) == shape:
            hint = " Add a batch dimension (obs[None]) or call module.act(obs) for a single observation."
        raise ObservationError(
            f"expected {where} of shape {_fmt_shape(shape, lead)} for {space}, "
            f"got {tuple(tensor.shape)}.{hint}"
        )
    return tensor


def make_obs_converter(space: spaces.Space, *, max_batch_dims: int = 1):
    """A function ``obs -> tensor`` equal to :func:`obs_to_tensor` for ``space``, with a fast
    path for the common case (a numpy or torch ``(B, *shape)`` batch of a Box space).

    Built once per module: the per-forward cost is a dtype and a shape comparison.
    """
    if not isinstance(space, spaces.Box):
        return lambda obs: obs_to_tensor(obs, space, max_batch_dims=max_batch_dims)
    np_dtype = np.dtype(np.float32) if np.issubdtype(space.dtype, np.floating) else np.dtype(space.dtype)
    torch_dtype = _torch_dtype_for(space)
    shape = tuple(space.shape)
    ndim = len(shape) + 1

    def convert(obs: Any) -> Any:
        if type(obs) is np.ndarray:
            if obs.ndim == ndim and obs.shape[1:] == shape and obs.flags.writeable:
                return torch.from_numpy(obs if obs.dtype == np_dtype else obs.astype(np_dtype))
        elif isinstance(obs, torch.Tensor):
            if obs.dim() == ndim and obs.shape[1:] == shape and obs.dtype == torch_dtype:
                return obs
        return obs_to_tensor(obs, space, max_batch_dims=max_batch_dims)

    return convert


def is_batched_obs(obs: Any, space: spaces.Space) -> bool:
    """True when ``obs`` carries a leading batch dimension beyond ``space``'s own shape."""
    while isinstance(space, (spaces.Dict, spaces.Tuple)):
        if isinstance(space, spaces.Dict):
            key = next(iter(space.spaces))
            space, obs = space.spaces[key], obs[key]
        else:
            space, obs = space.spaces[0], obs[0]
    ndim = obs.dim() if isinstance(obs, torch.Tensor) else np.ndim(obs)
    return ndim > len(_leaf_shape(space))


def add_batch_dim(obs: Any, space: spaces.Space) -> Any:
    """Wrap one observation into a batch of one (numpy leaves)."""
    if isinstance(space, spaces.Dict):
        return {k: add_batch_dim(obs[k], s) for k, s in space.spaces.items()}
    if isinstance(space, spaces.Tuple):
        return tuple(add_batch_dim(o, s) for o, s in zip(obs, space.spaces))
    if isinstance(obs, torch.Tensor):
        return obs.unsqueeze(0)
    return np.asarray(obs)[None]


def stack_obs(observations: list[Any], space: spaces.Space) -> Any:
    """Stack a list of single observations into one batch (numpy leaves, dict / tuple kept)."""
    if isinstance(space, spaces.Dict):
        return {k: stack_obs([o[k] for o in observations], s) for k, s in space.spaces.items()}
    if isinstance(space, spaces.Tuple):
        return tuple(stack_obs([o[i] for o in observations], s) for i, s in enumerate(space.spaces))
    return np.stack([np.asarray(o) for o in observations])


def sample_obs_batch(space: spaces.Space, batch_size: int, seed: int | None = 0) -> Any:
    """A batch of ``batch_size`` observations sampled from ``space`` (numpy leaves)."""
    space = _seeded_copy(space, seed)
    return stack_obs([space.sample() for _ in range(batch_size)], space)


def _seeded_copy(space: spaces.Space, seed: int | None) -> spaces.Space:
    copy = space_from_dict(space_to_dict(space))
    copy.seed(seed)
    return copy
