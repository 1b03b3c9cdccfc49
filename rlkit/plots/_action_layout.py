"""How an action space is drawn: its parts, their kind (bars, grouped bars, mean +- std) and labels."""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

import gymnasium as gym
import numpy as np

from rlkit.columns import Columns
from rlkit.plots._data import GREEDY_KEYS, MEAN_KEYS, PROBS_KEYS, STD_KEYS, SUMMARY_PREFIX, Table

__all__ = ["ActionPart", "action_layout", "StepDistribution", "distribution_arrays", "part_arrays"]

# kind -> what one step of the part holds
#   categorical:        probs (n,), taken index, greedy index, mask (n,) or None
#   multi_categorical:  probs (sum nvec,) flat, taken (k,), greedy (k,), mask (sum nvec,) or None
#   bernoulli:          probs (n,) = P(bit = 1), taken (n,) in {0, 1}, greedy (n,)
#   gaussian:           mean (d,), std (d,), taken (d,) the sampled action
#   deterministic:      taken (d,) only


@dataclasses.dataclass(frozen=True)
class ActionPart:
    """One drawable part of an action space (a flat space is one part; Tuple / Dict several)."""

    name: str  # "" for a flat space, else the Tuple index / Dict key
    kind: str
    n: int  # bars (categorical, bernoulli), flat bars (multi_categorical) or dimensions
    nvec: tuple[int, ...] = ()  # multi_categorical: choices per component
    start: tuple[int, ...] = ()  # Discrete / MultiDiscrete start offsets (labels only)
    low: tuple[float, ...] = ()  # gaussian: finite bounds drawn as dashed lines
    high: tuple[float, ...] = ()

    def prefix(self, key: str) -> str:
        return f"{self.name}/{key}" if self.name else key

    def labels(self) -> list[str]:
        if self.kind == "categorical":
            s = self.start[0] if self.start else 0
            return [str(s + i) for i in range(self.n)]
        if self.kind == "multi_categorical":
            starts = self.start or (0,) * len(self.nvec)
            return [str(s + i) for n, s in zip(self.nvec, starts) for i in range(n)]
        return [f"d{i}" for i in range(self.n)]


def action_layout(space: gym.Space, name: str = "") -> list[ActionPart]:
    """The parts to draw for ``space``; a ValueError names the space and what is supported."""
    if isinstance(space, gym.spaces.Discrete):
        return [ActionPart(name, "categorical", int(space.n), start=(int(space.start),))]
    if isinstance(space, gym.spaces.MultiDiscrete):
        nvec = tuple(int(v) for v in np.asarray(space.nvec).reshape(-1))
        start = tuple(int(v) for v in np.asarray(space.start).reshape(-1))
        return [ActionPart(name, "multi_categorical", sum(nvec), nvec=nvec, start=start)]
    if isinstance(space, gym.spaces.MultiBinary):
        return [ActionPart(name, "bernoulli", int(np.prod(space.shape)))]
    if isinstance(space, gym.spaces.Box):
        d = int(np.prod(space.shape))
        kind = "gaussian" if np.issubdtype(space.dtype, np.floating) else "deterministic"
        low = tuple(float(x) for x in np.asarray(space.low, dtype=np.float64).reshape(-1))
        high = tuple(float(x) for x in np.asarray(space.high, dtype=np.float64).reshape(-1))
        return [ActionPart(name, kind, d, low=low, high=high)]
    if isinstance(space, gym.spaces.Tuple):
        return [p for i, s in enumerate(space.spaces) for p in action_layout(s, _join(name, str(i)))]
    if isinstance(space, gym.spaces.Dict):
        return [p for k, s in space.spaces.items() for p in action_layout(s, _join(name, str(k)))]
    raise ValueError(
        f"expected an action space rlkit can draw (Discrete, MultiDiscrete, MultiBinary, Box, or a "
        f"Tuple / Dict of those), got {space!r}. The other panes still work; to see this "
        f"distribution, plot its ACTION_DIST_INPUTS yourself."
    )


def _join(prefix: str, key: str) -> str:
    return f"{prefix}/{key}" if prefix else key


def infer_layout(table: Table) -> list[ActionPart]:
    """A single part guessed from recorded columns when no action space is known."""
    probs = table.first(PROBS_KEYS)
    if probs is not None:
        return [ActionPart("", "categorical", int(np.asarray(probs).shape[-1]))]
    mean = table.first(MEAN_KEYS)
    if mean is not None:
        d = int(np.prod(np.asarray(mean).shape[1:]))
        return [ActionPart("", "gaussian", d, low=(-np.inf,) * d, high=(np.inf,) * d)]
    raise ValueError(
        f"expected the action space (pass action_space=...) or recorded distribution columns "
        f"({PROBS_KEYS[0]!r} or {MEAN_KEYS[0]!r} and {STD_KEYS[0]!r}), got columns {table.columns()}."
    )


def distribution_arrays(table: Table, space: gym.Space | None, dist_cls: Any = None) -> dict[str, np.ndarray]:
    """Per-row distribution summary, ``{"probs": (T, n)}`` / ``{"mean", "std"}`` / ``{"0/probs", ...}``.

    Recorded summary columns are used when present; otherwise the summary is computed from
    ``ACTION_DIST_INPUTS`` (and ``ACTION_MASK``) with the space's distribution class, in one
    batched call.
    """
    recorded: dict[str, np.ndarray] = {
        name[len(SUMMARY_PREFIX):]: np.asarray(table.get(name))
        for name in table.columns()
        if name.startswith(SUMMARY_PREFIX) and name != Columns.ACTION_DIST_INPUTS
    }
    if recorded:
        return recorded
    for keys, out in ((PROBS_KEYS, "probs"), (MEAN_KEYS, "mean"), (STD_KEYS, "std")):
        found = table.first(keys)
        if isinstance(found, Mapping):
            recorded.update({f"{k}/{out}" if k else out: np.asarray(v) for k, v in found.items()})
        elif found is not None:
            recorded[out] = np.asarray(found)
    if recorded:
        return recorded
    if space is None or not table.has(Columns.ACTION_DIST_INPUTS):
        raise ValueError(
            f"expected {Columns.ACTION_DIST_INPUTS!r} and the action space, or a recorded "
            f"distribution summary ({PROBS_KEYS[0]!r} / {MEAN_KEYS[0]!r}), got columns {table.columns()}."
        )
    return summarize(table.get(Columns.ACTION_DIST_INPUTS), space, dist_cls,
                     table.get(Columns.ACTION_MASK) if table.has(Columns.ACTION_MASK) else None)


def summarize(inputs: np.ndarray, space: gym.Space, dist_cls: Any = None, mask: Any = None) -> dict[str, np.ndarray]:
    """``dist_cls.from_logits(inputs).summary()`` as numpy arrays (one batched call)."""
    import torch

    from rlkit.distributions import get_action_dist_cls

    cls = dist_cls or get_action_dist_cls(space)
    x = torch.as_tensor(np.asarray(inputs), dtype=torch.float32)
    kwargs = {}
    if mask is not None and not isinstance(mask, Mapping):
        kwargs["mask"] = torch.as_tensor(np.asarray(mask)).bool()
    try:
        dist = cls.from_logits(x, **kwargs)
    except TypeError:  # a distribution without masks
        dist = cls.from_logits(x)
    return {k: v.detach().cpu().numpy() for k, v in dist.summary().items()}


@dataclasses.dataclass
class StepDistribution:
    """What one part's pane shows at one step (see the kinds table at the top of this file)."""

    part: ActionPart
    probs: np.ndarray | None = None
    mean: np.ndarray | None = None
    std: np.ndarray | None = None
    taken: np.ndarray | None = None
    greedy: np.ndarray | None = None
    mask: np.ndarray | None = None


def part_arrays(part: ActionPart, summary: Mapping[str, np.ndarray], actions: Any,
                greedy: Any = None, mask: Any = None) -> dict[str, np.ndarray | None]:
    """All rows of one part: probs / mean / std / taken / greedy / mask, each ``(T, ...)``.

    ``taken`` and ``greedy`` are bar indices for categorical kinds (action minus ``start``).
    The greedy action is computed from the summary when it was not recorded.
    """
    T = len(next(iter(summary.values())))
    out: dict[str, np.ndarray | None] = {"probs": None, "mean": None, "std": None, "mask": None}
    a = _pick(actions, part.name)
    g = _pick(greedy, part.name) if greedy is not None else None
    if part.kind in ("categorical", "multi_categorical", "bernoulli"):
        probs = np.asarray(summary[part.prefix("probs")], dtype=np.float64).reshape(T, -1)
        out["probs"] = probs
        if mask is not None and not isinstance(mask, Mapping) and part.kind != "bernoulli" and not part.name:
            out["mask"] = np.asarray(mask).reshape(T, -1).astype(bool)
    if part.kind == "categorical":
        start = part.start[0] if part.start else 0
        out["taken"] = np.asarray(a).reshape(T).astype(np.int64) - start
        out["greedy"] = (np.asarray(g).reshape(T).astype(np.int64) - start) if g is not None else probs.argmax(1)
    elif part.kind == "multi_categorical":
        start = np.asarray(part.start or (0,) * len(part.nvec))
        out["taken"] = np.asarray(a).reshape(T, -1).astype(np.int64) - start
        if g is not None:
            out["greedy"] = np.asarray(g).reshape(T, -1).astype(np.int64) - start
        else:
            bounds = np.cumsum((0,) + part.nvec)
            out["greedy"] = np.stack([probs[:, b0:b1].argmax(1) for b0, b1 in zip(bounds[:-1], bounds[1:])], 1)
    elif part.kind == "bernoulli":
        out["taken"] = np.asarray(a).reshape(T, -1).astype(np.int64)
        out["greedy"] = np.asarray(g).reshape(T, -1).astype(np.int64) if g is not None else (probs > 0.5).astype(np.int64)
    elif part.kind == "gaussian":
        out["mean"] = np.asarray(summary[part.prefix("mean")], dtype=np.float64).reshape(T, -1)
        out["std"] = np.asarray(summary[part.prefix("std")], dtype=np.float64).reshape(T, -1)
        out["taken"] = np.asarray(a, dtype=np.float64).reshape(T, -1)
        out["greedy"] = np.asarray(g, dtype=np.float64).reshape(T, -1) if g is not None else out["mean"]
    else:  # deterministic
        out["taken"] = np.asarray(a, dtype=np.float64).reshape(T, -1)
        out["greedy"] = out["taken"]
    return out


def greedy_column(table: Table) -> Any:
    return table.first(GREEDY_KEYS)


def _pick(value: Any, name: str) -> Any:
    """The part ``name`` ("0", "move", "0/move") of a nested tuple / dict action, or the value itself."""
    if not name:
        return value
    for key in name.split("/"):
        if isinstance(value, Mapping):
            value = value[key] if key in value else value[int(key)] if key.isdigit() and int(key) in value else value[key]
        elif isinstance(value, (tuple, list)):
            value = value[int(key)]
        else:
            raise TypeError(f"expected a tuple / dict action to pick part {name!r} from, got {type(value).__name__}.")
    return value
