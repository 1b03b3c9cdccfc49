"""Capture and restore the state of (vector, wrapped, PettingZoo) envs that is plain data.

An algorithm checkpoint resumes training exactly where it stopped only if the envs
resume mid-episode in the same state with the same random generator. Envs have no
``get_state`` API, so this walks the env object graph (vector env -> sub-envs ->
wrappers -> the unwrapped env) and records every attribute whose value is plain data:
numbers, strings, numpy arrays, numpy random generators, and lists / tuples / dicts of
those. Restoring sets those attributes back. Classic-control and toy-text envs (and
rlkit's own) keep all their state that way; an env with other state (a physics engine
object, an open window) is restored as far as its plain data goes, and
:func:`capture_env_state` reports which attributes it skipped.

Example:
    >>> import gymnasium as gym
    >>> env = gym.make("CartPole-v1"); _ = env.reset(seed=0)
    >>> saved = capture_env_state(env)
    >>> first = env.step(0)[0]
    >>> restore_env_state(env, saved)
    >>> bool((env.step(0)[0] == first).all())
    True
"""

from __future__ import annotations

import enum
from typing import Any

import numpy as np
import torch

__all__ = ["capture_env_state", "restore_env_state"]

_CHILD_ATTRS = ("env", "envs", "aec_env", "_env", "par_env")  # how wrappers and vector envs hold envs
_CONFIG_ATTRS = ("spec", "_cached_spec", "metadata", "env_fns")  # set at construction, not state
_MAX_DEPTH = 12


def _is_env(x: Any) -> bool:
    return hasattr(x, "__dict__") and callable(getattr(x, "reset", None)) and callable(getattr(x, "step", None))


def _plain(x: Any, depth: int = 0) -> tuple[bool, Any]:
    """``(True, value as data)`` when ``x`` is plain data, else ``(False, None)``."""
    if x is None or isinstance(x, (bool, int, float, str, np.generic)):
        return True, x
    if isinstance(x, np.ndarray):
        return (x.dtype != object), (x.copy() if x.dtype != object else None)
    if isinstance(x, np.random.Generator):
        return True, {"__generator__": x.bit_generator.state}
    if isinstance(x, torch.Tensor):
        return True, x.detach().clone()
    if depth > 4:
        return False, None
    if isinstance(x, (list, tuple)):
        items = [_plain(v, depth + 1) for v in x]
        if all(ok for ok, _ in items):
            values = [v for _, v in items]
            return True, (tuple(values) if isinstance(x, tuple) else values)
        return False, None
    if isinstance(x, dict) and all(isinstance(k, (str, int)) and not isinstance(k, bool) for k in x):
        items = {k: _plain(v, depth + 1) for k, v in x.items()}
        if all(ok for ok, _ in items.values()):
            return True, {"__plain_dict__": {k: v for k, (_, v) in items.items()}}
        return False, None
    return False, None


def capture_env_state(env: Any) -> dict[str, Any]:
    """``{"objects": [{attr: value}], "skipped": [...]}``: the plain state of every env object
    reachable from ``env``, in a fixed walk order."""
    objects: list[dict[str, Any]] = []
    skipped: list[str] = []
    seen: set[int] = set()

    def walk(obj: Any, path: str, depth: int) -> None:
        if id(obj) in seen or depth > _MAX_DEPTH:
            return
        seen.add(id(obj))
        state: dict[str, Any] = {}
        children: list[tuple[str, Any]] = []
        for name, value in vars(obj).items():
            if name in _CHILD_ATTRS:
                if isinstance(value, (list, tuple)) and all(_is_env(v) for v in value):
                    children += [(f"{name}[{i}]", v) for i, v in enumerate(value)]
                    continue
                if _is_env(value):
                    children.append((name, value))
                    continue
            ok, data = _plain(value)
            if ok:
                state[name] = data
            elif not (callable(value) or _is_space(value) or isinstance(value, enum.Enum) or name in _CONFIG_ATTRS):
                entry = f"{type(obj).__name__}.{name} ({type(value).__name__})"
                if entry not in skipped:  # once, not once per sub-env
                    skipped.append(entry)
        objects.append({"type": type(obj).__qualname__, "path": path, "attrs": state})
        for name, child in children:
            walk(child, f"{path}.{name}", depth + 1)

    walk(env, type(env).__name__, 0)
    return {"objects": objects, "skipped": skipped}


def restore_env_state(env: Any, saved: dict[str, Any]) -> None:
    """Set back what :func:`capture_env_state` captured. Raises ``ValueError`` when the env's
    structure (its objects' types, in walk order) differs from the saved one."""
    current = capture_env_state(env)["objects"]
    targets = _objects_in_walk_order(env)
    saved_objects = saved["objects"]
    types_now = [o["type"] for o in current]
    types_saved = [o["type"] for o in saved_objects]
    if types_now != types_saved:
        raise ValueError(
            f"The env's structure differs from the saved one: expected objects {types_saved}, "
            f"got {types_now}. Build the algorithm from the same env (and num_envs_per_env_runner) "
            "as the checkpoint."
        )
    for obj, entry in zip(targets, saved_objects):
        for name, value in entry["attrs"].items():
            _set(obj, name, value)


def _objects_in_walk_order(env: Any) -> list[Any]:
    found: list[Any] = []
    seen: set[int] = set()

    def walk(obj: Any, depth: int) -> None:
        if id(obj) in seen or depth > _MAX_DEPTH:
            return
        seen.add(id(obj))
        found.append(obj)
        for name, value in vars(obj).items():
            if name in _CHILD_ATTRS:
                if isinstance(value, (list, tuple)) and all(_is_env(v) for v in value):
                    for v in value:
                        walk(v, depth + 1)
                elif _is_env(value):
                    walk(value, depth + 1)

    walk(env, 0)
    return found


def _set(obj: Any, name: str, value: Any) -> None:
    current = vars(obj).get(name)
    if isinstance(value, dict) and "__generator__" in value:
        if isinstance(current, np.random.Generator):
            current.bit_generator.state = value["__generator__"]
            return
        bitgen = getattr(np.random, value["__generator__"]["bit_generator"])()
        bitgen.state = value["__generator__"]
        vars(obj)[name] = np.random.Generator(bitgen)
        return
    vars(obj)[name] = _unwrap(value)


def _unwrap(value: Any) -> Any:
    if isinstance(value, dict) and "__plain_dict__" in value:
        return {k: _unwrap(v) for k, v in value["__plain_dict__"].items()}
    if isinstance(value, dict) and "__generator__" in value:
        bitgen = getattr(np.random, value["__generator__"]["bit_generator"])()
        bitgen.state = value["__generator__"]
        return np.random.Generator(bitgen)
    if isinstance(value, list):
        return [_unwrap(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_unwrap(v) for v in value)
    if isinstance(value, (np.ndarray, torch.Tensor)):
        return value.copy() if isinstance(value, np.ndarray) else value.clone()
    return value


def _is_space(x: Any) -> bool:
    try:
        import gymnasium as gym

        return isinstance(x, gym.Space)
    except ImportError:  # pragma: no cover
        return False
