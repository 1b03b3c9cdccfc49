"""Recording helpers shared by the samplers: space trees, growable buffers, env checks, and the
batched distribution pass that turns recorded ``ACTION_DIST_INPUTS`` into logp, entropy, ...
"""

from __future__ import annotations

import inspect
from typing import Any, Callable

import gymnasium as gym
import numpy as np
import torch

from rlkit.columns import Columns
from rlkit.spaces import ObservationError, stack_obs

# ------------------------------------------------------------------ space trees


def leaf_specs(space: gym.Space, name: str) -> tuple[Any, list[tuple[str, tuple[int, ...], np.dtype]]]:
    """A space's column template (see ``Rollout``) and its leaves ``(key, shape, dtype)``.

    Box / Discrete / MultiDiscrete / MultiBinary are one leaf named ``name``; Dict and Tuple
    spaces give leaves ``name/key`` and ``name/0``... and a matching dict / tuple template.
    """
    if isinstance(space, gym.spaces.Dict):
        template, leaves = {}, []
        for k, s in space.spaces.items():
            template[k], sub = leaf_specs(s, f"{name}/{k}")
            leaves += sub
        return template, leaves
    if isinstance(space, gym.spaces.Tuple):
        parts, leaves = [], []
        for i, s in enumerate(space.spaces):
            t, sub = leaf_specs(s, f"{name}/{i}")
            parts.append(t)
            leaves += sub
        return tuple(parts), leaves
    shape = () if isinstance(space, gym.spaces.Discrete) else tuple(space.shape or ())
    return name, [(name, shape, np.dtype(space.dtype))]


def leaf_getter(space: gym.Space) -> Callable[[Any], list[Any]]:
    """A function from a (batched) structured value to its list of leaves, in leaf order."""
    if not isinstance(space, (gym.spaces.Dict, gym.spaces.Tuple)):
        return lambda x: [x]
    items = list(space.spaces.items()) if isinstance(space, gym.spaces.Dict) else list(enumerate(space.spaces))
    getters = [(k, leaf_getter(s)) for k, s in items]
    return lambda x: [leaf for k, g in getters for leaf in g(x[k])]


def tree_map(fn: Callable[[Any], Any], x: Any) -> Any:
    if isinstance(x, dict):
        return {k: tree_map(fn, v) for k, v in x.items()}
    if isinstance(x, (tuple, list)):
        return tuple(tree_map(fn, v) for v in x)
    return fn(x)


def build_tree(template: Any, leaves: dict[str, Any]) -> Any:
    if isinstance(template, str):
        return leaves[template]
    if isinstance(template, dict):
        return {k: build_tree(t, leaves) for k, t in template.items()}
    return tuple(build_tree(t, leaves) for t in template)


def is_structured(space: gym.Space) -> bool:
    return isinstance(space, (gym.spaces.Dict, gym.spaces.Tuple))


# ------------------------------------------------------------------ buffers


class GrowingArrays:
    """Named numpy arrays sharing a first axis that grows by doubling (no per-step objects)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = max(int(capacity), 1)
        self.arrays: dict[str, np.ndarray] = {}
        self._fill: dict[str, Any] = {}

    def add(self, key: str, inner_shape: tuple[int, ...], dtype: Any, fill: Any = 0) -> np.ndarray:
        arr = np.full((self.capacity, *inner_shape), fill, dtype=dtype)
        self.arrays[key] = arr
        self._fill[key] = fill
        return arr

    def grow(self, needed: int) -> None:
        """Make room for ``needed`` rows (doubling), keeping what is there."""
        if needed <= self.capacity:
            return
        new_cap = self.capacity
        while new_cap < needed:
            new_cap *= 2
        for key, arr in self.arrays.items():
            bigger = np.full((new_cap, *arr.shape[1:]), self._fill[key], dtype=arr.dtype)
            bigger[: self.capacity] = arr
            self.arrays[key] = bigger
        self.capacity = new_cap


# ------------------------------------------------------------------ checks


class EnvAPIError(TypeError, ValueError):
    """The env does not follow the gymnasium API (e.g. the old gym 4-tuple ``step``)."""


class RolloutLengthError(ValueError, TypeError):
    """Neither ``num_steps`` nor ``num_episodes`` given (or not a positive int)."""


def space_mismatch(expected: gym.Space, got: gym.Space, where: str = "") -> list[str]:
    """Structural differences (type, shape, n, keys) between two spaces, as readable lines."""
    w = where or "the space"
    if type(expected) is not type(got) and not (
        isinstance(expected, gym.spaces.Box) and isinstance(got, gym.spaces.Box)
    ):
        return [f"{w} is {type(got).__name__} in the env but {type(expected).__name__} in the module"]
    if isinstance(expected, gym.spaces.Dict):
        missing = [k for k in expected.spaces if k not in got.spaces]
        out = [f"{w} lacks keys {missing}"] if missing else []
        for k in expected.spaces:
            if k in got.spaces:
                out += space_mismatch(expected[k], got[k], f"{w}[{k!r}]")
        return out
    if isinstance(expected, gym.spaces.Tuple):
        if len(expected.spaces) != len(got.spaces):
            return [f"{w} has {len(got.spaces)} parts in the env but {len(expected.spaces)} in the module"]
        out: list[str] = []
        for i, (a, b) in enumerate(zip(expected.spaces, got.spaces)):
            out += space_mismatch(a, b, f"{w}[{i}]")
        return out
    if isinstance(expected, gym.spaces.Discrete):
        if expected.n != got.n or expected.start != got.start:
            return [f"{w} is {got} in the env but {expected} in the module"]
        return []
    if isinstance(expected, gym.spaces.MultiDiscrete):
        if not np.array_equal(expected.nvec, got.nvec):
            return [f"{w} has nvec {got.nvec.tolist()} in the env but {expected.nvec.tolist()} in the module"]
        return []
    if getattr(expected, "shape", None) != getattr(got, "shape", None):
        return [f"{w} has shape {got.shape} in the env but {expected.shape} in the module"]
    return []


def check_spaces(module: Any, obs_space: gym.Space, act_space: gym.Space, env_name: str, who: str = "") -> None:
    """Raise when the env's spaces do not fit the module's, saying which part and how."""
    module_name = type(module).__name__ + (f" {who!r}" if who else "")
    if module.observation_space is not None and obs_space is not None:
        problems = space_mismatch(module.observation_space, obs_space, "the observation")
        if problems:
            raise ObservationError(
                f"The observations of {env_name} do not fit {module_name}: expected "
                f"{module.observation_space}, got {obs_space} ({'; '.join(problems)}). Build the "
                f"module for this env: RLModuleSpec(observation_space=env.observation_space, "
                f"action_space=env.action_space).build()."
            )
    if module.action_space is not None and act_space is not None:
        problems = space_mismatch(module.action_space, act_space, "the action space")
        if problems:
            raise ValueError(
                f"The actions of {module_name} do not fit {env_name}: the module's action space is "
                f"{module.action_space}, the env's is {act_space} ({'; '.join(problems)}). Build "
                f"the module with action_space=env.action_space."
            )


def unpack_reset(result: Any, env_name: str) -> tuple[Any, dict]:
    """``(obs, info)`` from ``env.reset()``; the old gym API (obs only) is explained."""
    if isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], dict):
        return result
    raise EnvAPIError(
        f"{env_name}.reset() returned {type(result).__name__}"
        + (f" of length {len(result)}" if isinstance(result, tuple) else "")
        + ", expected the gymnasium API's (obs, info) pair. This looks like an env written for "
        "the old gym API (reset() -> obs, step() -> 4 values); port it to gymnasium, or wrap it "
        "with shimmy's GymV21CompatibilityV0 (pip install shimmy)."
    )


def old_step_api_error(result: Any, env_name: str) -> EnvAPIError:
    return EnvAPIError(
        f"{env_name}.step() returned {len(result) if isinstance(result, tuple) else type(result).__name__} "
        f"values, expected 5 (obs, reward, terminated, truncated, info). A 4-tuple "
        f"(obs, reward, done, info) is the old gym API, which cannot tell a time limit from a "
        f"terminal state; port the env to gymnasium (split done into terminated and "
        f"truncated), or wrap it with shimmy's GymV21CompatibilityV0 (pip install shimmy)."
    )


def env_name(env: Any) -> str:
    spec = getattr(env, "spec", None)
    if spec is not None and getattr(spec, "id", None):
        return f"env {spec.id!r}"
    inner = getattr(env, "unwrapped", env)
    return f"env {type(inner).__name__}"


# ------------------------------------------------------------------ the batched distribution pass


def distribution_columns(
    dist_cls: Any,
    dist_inputs: np.ndarray,
    actions: Any,
    action_space: gym.Space,
    chunk: int = 65536,
) -> dict[str, np.ndarray]:
    """logp, prob, entropy, greedy action and the summary of every recorded row, batched.

    ``dist_inputs`` is ``(T, n)``; ``actions`` the taken actions (array or tree of arrays).
    Returns flat columns: ``ACTION_LOGP``, ``ACTION_PROB``, ``ENTROPY``, greedy-action
    leaves (``greedy_actions`` or ``greedy_actions/key``) and ``action_dist_<key>`` summaries.
    """
    from rlkit.rollouts.rollout_data import DIST_SUMMARY_PREFIX

    T = len(dist_inputs)
    get_leaves = leaf_getter(action_space)
    _, greedy_specs = leaf_specs(action_space, Columns.GREEDY_ACTIONS)
    out: dict[str, list[np.ndarray]] = {}
    for start in range(0, max(T, 1), chunk):
        stop = min(start + chunk, T)
        inputs = torch.from_numpy(np.ascontiguousarray(dist_inputs[start:stop]))
        dist = dist_cls.from_logits(inputs)
        taken = tree_map(lambda a: torch.from_numpy(np.ascontiguousarray(a[start:stop])), actions)
        logp = dist.logp(taken).float()
        cols = {
            Columns.ACTION_LOGP: logp,
            Columns.ACTION_PROB: logp.exp(),
            Columns.ENTROPY: dist.entropy().float(),
        }
        for (key, _, dtype), leaf in zip(greedy_specs, get_leaves(dist.mode())):
            cols[key] = leaf.numpy().astype(dtype, copy=False)
        for key, value in dist.summary().items():
            cols[DIST_SUMMARY_PREFIX + key] = value
        for key, value in cols.items():
            arr = value.numpy() if isinstance(value, torch.Tensor) else value
            out.setdefault(key, []).append(arr)
    return {k: v[0] if len(v) == 1 else np.concatenate(v) for k, v in out.items()}


# ------------------------------------------------------------------ sampler helpers


#: Steps whose forward outputs are held as tensors before one stacked copy into the buffers.
CHUNK = 256


def flush(pending: dict[str, list[torch.Tensor]], arrays: dict[str, np.ndarray], start: int) -> int:
    """Stack the held per-step tensors into rows ``start:`` of the buffers; returns the new start."""
    n = len(pending[Columns.ACTION_DIST_INPUTS])
    for key, items in pending.items():
        if items:
            values = torch.stack(items).numpy() if isinstance(items[0], torch.Tensor) else np.asarray(items)
            arrays[key][start : start + len(items)] = values.reshape(len(items), *arrays[key].shape[1:])
            items.clear()
    return start + n


def episode_ids(done: np.ndarray, eps_start: np.ndarray, first_new_id: int) -> np.ndarray:
    """Episode id of every (K, N) row, replaying how the loop hands out ids.

    A new episode starts in the row after a done one; ids are handed out in row-major
    order of the done flags, from ``first_new_id`` on.
    """
    new_id = np.where(done, first_new_id + np.cumsum(done.ravel()).reshape(done.shape) - 1, -1)  # (K, N)
    started = np.full_like(new_id, -1)
    started[1:] = new_id[:-1]  # the episode begun after row k-1 ended
    latest = np.maximum.accumulate(started, axis=0)  # ids only grow: a running max carries them forward
    return np.where(latest >= 0, latest, eps_start)  # (K, N)


def final_obs_batch(info: dict, next_obs: Any, done: np.ndarray, space: gym.Space) -> Any:
    """SAME_STEP autoreset: the final observations (info['final_obs']) as one batch."""
    finals = info.get("final_obs")
    if finals is None:
        return next_obs
    items = [finals[i] if done[i] else index_obs(next_obs, i) for i in range(len(done))]
    return stack_obs(items, space)


def index_obs(obs: Any, i: int) -> Any:
    return tree_map(lambda x: np.asarray(x)[i], obs)


def values_fn(module: Any) -> Callable[[dict, dict], Any] | None:
    """``(batch, out) -> V(s)`` from ``module.compute_values``, for passes without ``VF_PREDS``.

    The default actor-critic's ``forward_inference`` (greedy) skips the critic; the
    recording still wants values, so they come from the value head on the same embeddings.
    """
    compute = getattr(module, "compute_values", None)
    if compute is None or getattr(module, "inference_only", False):
        return None
    try:
        takes_embeddings = "embeddings" in inspect.signature(compute).parameters
    except (TypeError, ValueError):
        takes_embeddings = False

    def values(batch: dict, out: dict) -> Any:
        emb = out.get(Columns.EMBEDDINGS)
        with torch.no_grad():
            try:
                if takes_embeddings and emb is not None:
                    return compute(batch, embeddings=emb)
                return compute(batch)
            except (RuntimeError, NotImplementedError):
                return None

    return values


def seeded_rng_state(seed: int | None) -> torch.Tensor | None:
    if seed is None:
        return None
    g = torch.Generator()
    g.manual_seed(int(seed))
    return g.get_state()


def single_module(module: Any) -> Any:
    from rlkit.multi_rl_module import MultiRLModule
    from rlkit.rl_module import DEFAULT_MODULE_ID, RLModule

    if isinstance(module, MultiRLModule):
        if len(module) == 1:
            return next(iter(module.values()))
        if DEFAULT_MODULE_ID in module:
            return module[DEFAULT_MODULE_ID]
        raise ValueError(
            f"A single-agent env needs one module, got a MultiRLModule with {sorted(module)}: "
            f"pass the one to run, e.g. rollout(multi[{sorted(module)[0]!r}], env, ...)."
        )
    if not isinstance(module, RLModule):
        raise TypeError(f"rollout expects an RLModule (or MultiRLModule), got {type(module).__name__}.")
    return module


def forward_recorded(module: Any, batch: dict, explore: bool) -> dict:
    """The forward pass a rollout records: exploration, or inference with ``VF_PREDS`` filled
    in from :func:`values_fn` when the module's greedy pass leaves values out."""
    if explore:
        return module.forward_exploration(batch)
    out = module.forward_inference(batch)
    if Columns.VF_PREDS not in out:
        fn = values_fn(module)
        vf = fn(batch, out) if fn is not None else None
        if vf is not None:
            out = {**out, Columns.VF_PREDS: vf}
    return out
