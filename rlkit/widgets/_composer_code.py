"""Export as code: the Python source that rebuilds a composed module (spaces, spec, build).

The generated code is plain and readable, and exact: spaces are written with their bounds and
dtypes (``np.inf`` and float32 extremes round-trip), Dict key order is kept, and the model
config is written out in full, so ``exec`` of the code builds the same architecture.
"""

from __future__ import annotations

import json
from typing import Any

import gymnasium as gym
import numpy as np

__all__ = ["space_to_code", "spec_to_code", "value_to_code"]


def _num(x: Any) -> str:
    """One number as source: ``np.inf``, ``-np.inf``, an int, or a float that round-trips."""
    x = x.item() if hasattr(x, "item") else x
    if isinstance(x, float):
        if np.isinf(x):
            return "np.inf" if x > 0 else "-np.inf"
        if np.isnan(x):
            return "np.nan"
        return repr(x)
    return repr(int(x))


def _array(a: np.ndarray, dtype: str | None = None) -> str:
    """An array as ``np.array([...], dtype=np.float32)`` (nested lists for n-D)."""

    def nest(v: Any) -> str:
        if isinstance(v, np.ndarray) and v.ndim:
            return "[" + ", ".join(nest(u) for u in v) + "]"
        return _num(v)

    body = nest(np.asarray(a))
    return f"np.array({body}, dtype=np.{dtype})" if dtype else f"np.array({body})"


def space_to_code(space: gym.Space, indent: int = 0) -> str:
    """Python source that rebuilds ``space`` (``eval`` with ``gym`` and ``np`` in scope gives an equal space).

    Example:
        >>> space_to_code(gym.spaces.Box(-1.0, 1.0, (3,)))
        'gym.spaces.Box(-1.0, 1.0, shape=(3,), dtype=np.float32)'
        >>> eval(space_to_code(gym.spaces.Discrete(3, start=1))) == gym.spaces.Discrete(3, start=1)
        True
    """
    pad = " " * (indent + 4)
    if isinstance(space, gym.spaces.Box):
        dtype = np.dtype(space.dtype).name
        low, high = np.unique(space.low), np.unique(space.high)
        if low.size == 1 and high.size == 1:
            return f"gym.spaces.Box({_num(low[0])}, {_num(high[0])}, shape={tuple(space.shape)!r}, dtype=np.{dtype})"
        return (f"gym.spaces.Box(low={_array(space.low, dtype)}, high={_array(space.high, dtype)}, "
                f"dtype=np.{dtype})")
    if isinstance(space, gym.spaces.Discrete):
        start = f", start={int(space.start)}" if int(space.start) else ""
        return f"gym.spaces.Discrete({int(space.n)}{start})"
    if isinstance(space, gym.spaces.MultiDiscrete):
        start = f", start={_array(space.start)}" if np.any(space.start) else ""
        dtype = np.dtype(space.dtype).name
        dt = "" if dtype == "int64" else f", dtype=np.{dtype}"
        return f"gym.spaces.MultiDiscrete({_array(space.nvec)}{start}{dt})"
    if isinstance(space, gym.spaces.MultiBinary):
        n = space.n
        return f"gym.spaces.MultiBinary({list(n) if isinstance(n, (tuple, list, np.ndarray)) else int(n)!r})"
    if isinstance(space, gym.spaces.Dict):
        items = list(space.spaces.items())
        inner = ",\n".join(f"{pad}({_key(k)}, {space_to_code(s, indent + 4)})" for k, s in items)
        return f"gym.spaces.Dict([\n{inner},\n{' ' * indent}])"  # pairs keep the key order
    if isinstance(space, gym.spaces.Tuple):
        inner = ",\n".join(f"{pad}{space_to_code(s, indent + 4)}" for s in space.spaces)
        return f"gym.spaces.Tuple((\n{inner},\n{' ' * indent}))"
    raise ValueError(
        f"Cannot write {space!r} as code: expected a Box, Discrete, MultiDiscrete, MultiBinary, Dict or "
        f"Tuple space (the spaces rlkit's default modules support)."
    )


def value_to_code(value: Any, indent: int = 0) -> str:
    """A plain JSON-like value (dicts, lists, numbers, strings, None) as readable source."""
    pad = " " * (indent + 4)
    if isinstance(value, dict):
        if not value:
            return "{}"
        inner = ",\n".join(f"{pad}{_key(k)}: {value_to_code(v, indent + 4)}" for k, v in value.items())
        return "{\n" + inner + ",\n" + " " * indent + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(value_to_code(v, indent) for v in value) + "]"
    if isinstance(value, float):
        return _num(value)
    return _key(value)


def _key(value: Any) -> str:
    """Strings in double quotes (as black writes them); other values as ``repr``."""
    return json.dumps(value) if isinstance(value, str) else repr(value)


def spec_to_code(observation_space: gym.Space, action_space: gym.Space, model_config: dict[str, Any],
                 inference_only: bool = False, env_id: str | None = None) -> str:
    """The script that rebuilds the composed module: spaces, ``RLModuleSpec``, ``build()``.

    With ``env_id`` (and spaces equal to that env's), the spaces are taken from
    ``gym.make(env_id)`` instead of being spelled out.
    """
    lines = [
        "# Rebuilds the module designed in rlkit.widgets.ModuleComposer.",
        "import gymnasium as gym",
        "import numpy as np",
        "",
        "from rlkit import RLModuleSpec",
        "",
    ]
    if env_id is not None:
        lines += [f"env = gym.make({_key(env_id)})",
                  "observation_space = env.observation_space",
                  "action_space = env.action_space"]
    else:
        lines += [f"observation_space = {space_to_code(observation_space)}",
                  f"action_space = {space_to_code(action_space)}"]
    lines += [
        "",
        "spec = RLModuleSpec(",
        "    observation_space=observation_space,",
        "    action_space=action_space,",
        f"    inference_only={bool(inference_only)!r},",
        f"    model_config={value_to_code(model_config, 4)},",
        ")",
        "module = spec.build()",
        "",
    ]
    return "\n".join(lines)
