"""What the viewer shows, as arrays computed once from a `Rollout`: per agent, per episode."""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import numpy as np

from rlkit.columns import Columns
from rlkit.plots._data import ENTROPY_KEYS, GREEDY_KEYS, Table, take_rows
from rlkit.plots.action_distribution import part_layout_arrays, space_of
from rlkit.widgets._frames import image_like

__all__ = ["AgentTrack", "EpisodeInfo", "CompareData", "flatten_obs", "check_rollout", "agent_ids",
           "episode_ids", "default_compare_name", "load_compare", "replay_for", "py_value"]


@dataclasses.dataclass
class EpisodeInfo:
    id: Any
    rows: np.ndarray  # rows of the agent's rollout, in t order
    ret: float
    ended: str  # "terminated" / "truncated" / "running"

    @property
    def length(self) -> int:
        return len(self.rows)

    def label(self) -> str:
        return f"episode {self.id} · {self.length} steps · return {self.ret:.4g} · {self.ended}"


class AgentTrack:
    """Every column one agent's view needs; heavy parts (distributions) are computed once, batched.

    Errors while deriving a part (an action space that cannot be drawn, a summary that does
    not fit) are kept in ``errors`` so the viewer can show them and still show the rest.
    """

    def __init__(self, rollout: Any, agent: Any, *, gamma: float, lambda_: float, action_space: Any = None) -> None:
        self.rollout, self.agent = rollout, agent
        self.table = Table(rollout)
        self.errors: dict[str, str] = {}
        n = len(self.table)
        if n == 0:
            raise ValueError("expected a rollout with at least one step, got an empty one.")
        self.n = n
        get = lambda name: self.table.get(name) if self.table.has(name) else None  # noqa: E731
        self.t = get(Columns.T) if self.table.has(Columns.T) else np.arange(n)
        self.rewards = _float(get(Columns.REWARDS))
        self.values = _float(get(Columns.VF_PREDS))
        self.logp = _float(get(Columns.ACTION_LOGP))
        self.prob = _float(get(Columns.ACTION_PROB))
        self.entropy = _float(self.table.first(ENTROPY_KEYS))
        self.terminated = get(Columns.TERMINATEDS)
        self.truncated = get(Columns.TRUNCATEDS)
        self.actions = get(Columns.ACTIONS)
        self.greedy = self.table.first(GREEDY_KEYS)
        self.frame_index = get(Columns.FRAME_INDEX)
        self.obs = get(Columns.OBS)
        self.action_space = action_space if action_space is not None else space_of(self.table)
        self.observation_space = space_of(self.table, "observation_space")
        self.returns = self._guard("returns", lambda: np.asarray(self.table.returns(gamma), dtype=np.float64))
        self.advantages = None
        if self.values is not None and self.rewards is not None:
            self.advantages = self._guard("advantages", lambda: np.asarray(self.table.advantages(gamma, lambda_), dtype=np.float64))
        self.parts = self._guard("distribution", lambda: part_layout_arrays(self.table, self.action_space))
        self.episodes = self._episodes()

    def _guard(self, what: str, fn) -> Any:
        try:
            return fn()
        except Exception as exc:  # shown in the widget; the other panes keep working
            self.errors[what] = f"{type(exc).__name__}: {exc}"
            return None

    def _episodes(self) -> dict[Any, EpisodeInfo]:
        eps = self.table.get(Columns.EPS_ID) if self.table.has(Columns.EPS_ID) else np.zeros(self.n, np.int64)
        _, first = np.unique(eps, return_index=True)
        out: dict[Any, EpisodeInfo] = {}
        for i in sorted(first):
            eid = eps[i].item() if hasattr(eps[i], "item") else eps[i]
            rows = np.flatnonzero(eps == eps[i])
            rows = rows[np.argsort(self.t[rows], kind="stable")]
            ret = float(self.rewards[rows].sum()) if self.rewards is not None else float("nan")
            last = rows[-1]
            ended = ("terminated" if self.terminated is not None and self.terminated[last]
                     else "truncated" if self.truncated is not None and self.truncated[last] else "running")
            out[eid] = EpisodeInfo(eid, rows, ret, ended)
        return out

    # ---------------------------------------------------------------- per-episode arrays
    def timeline(self, rows: np.ndarray) -> dict[str, Any]:
        pick = lambda a: None if a is None else a[rows]  # noqa: E731
        return {"x": self.t[rows].astype(np.float64), "value": pick(self.values), "return": pick(self.returns),
                "reward": pick(self.rewards), "advantage": pick(self.advantages), "boundaries": np.zeros(0)}

    def action_at(self, row: int, which: str = "taken") -> Any:
        value = self.actions if which == "taken" else self.greedy
        return None if value is None else py_value(take_rows(value, np.array([row])), single=True)

    def observation_matrix(self) -> tuple[np.ndarray, list[str] | None] | None:
        """Observations as numbers for the observation pane: ``(T, n)`` or ``(T, H, W)``."""
        return flatten_obs(self.obs, self.observation_space)

    def obs_is_image(self) -> bool:
        return isinstance(self.obs, np.ndarray) and image_like(self.obs.shape[1:], self.obs.dtype)


def flatten_obs(obs: Any, space: Any = None) -> tuple[np.ndarray, list[str] | None]:
    """Rows of (nested) observations as numbers: Discrete -> one-hot, Box 2-D kept, the rest flat."""
    import gymnasium as gym

    if isinstance(obs, dict) or isinstance(obs, tuple):
        keys = list(obs) if isinstance(obs, dict) else list(range(len(obs)))
        subspaces = [space[k] if space is not None else None for k in keys] if space is not None else [None] * len(keys)
        mats, labels = [], []
        for k, sub in zip(keys, subspaces):
            m, lab = flatten_obs(obs[k], sub)
            m = m.reshape(len(m), -1)
            mats.append(m)
            labels += [f"{k}[{i}]" for i in range(m.shape[1])] if m.shape[1] > 1 else [str(k)]
        return np.concatenate(mats, axis=1), labels
    a = np.asarray(obs)
    if isinstance(space, gym.spaces.Discrete):
        onehot = np.zeros((len(a), int(space.n)))
        onehot[np.arange(len(a)), a.astype(np.int64) - int(space.start)] = 1.0  # (T,) ints -> (T, n)
        return onehot, [str(int(space.start) + i) for i in range(int(space.n))]
    if a.ndim == 1:
        return a.astype(np.float64)[:, None], ["obs"]
    if a.ndim == 3:
        return a.astype(np.float64), None  # (T, H, W): a heat-map
    return a.reshape(len(a), -1).astype(np.float64), None


class CompareData:
    """Outputs of a second module replayed on the same observations, next to the recorded ones."""

    def __init__(self, track: AgentTrack, replayed: Any, name: str) -> None:
        self.name = name
        self.table = Table(replayed)
        self.errors: dict[str, str] = {}
        get = lambda key: self.table.get(key) if self.table.has(key) else None  # noqa: E731
        self.values = _float(get(Columns.VF_PREDS))
        self.logp = _float(get(Columns.ACTION_LOGP))
        self.entropy = _float(self.table.first(ENTROPY_KEYS))
        self.greedy = self.table.first(GREEDY_KEYS)
        self.kl = _float(get("kl"))
        self.agree = get("action_agreement")
        self.parts = None
        try:
            if self.table.has(Columns.ACTION_DIST_INPUTS) or self.table.has("action_dist_probs"):
                # Draw the replayed distribution with the recorded (taken) actions marked.
                merged = _Overlay(self.table, {Columns.ACTIONS: track.actions})
                self.parts = part_layout_arrays(Table(merged), track.action_space)
        except Exception as exc:
            self.errors["distribution"] = f"{type(exc).__name__}: {exc}"
        if self.kl is None:
            try:
                self.kl = _kl(track, self.table)
            except Exception as exc:
                self.errors["kl"] = f"{type(exc).__name__}: {exc}"
        if self.agree is None and self.greedy is not None and track.greedy is not None:
            self.agree = _agree(track.greedy, self.greedy)
        self.gap = (self.values - track.values) if (self.values is not None and track.values is not None) else None


class _Overlay:
    """A column source that answers some columns itself and the rest from ``base``."""

    def __init__(self, base: Table, extra: dict[str, Any]) -> None:
        self.base, self.extra = base, extra
        self.metadata = getattr(base._data, "metadata", {})

    def __getitem__(self, name: str) -> Any:
        if name in self.extra:
            return self.extra[name]
        return self.base.get(name)

    @property
    def columns(self) -> list[str]:
        return sorted(set(self.base.columns()) | set(self.extra))

    def __len__(self) -> int:
        return len(self.base)


def _kl(track: AgentTrack, other: Table) -> np.ndarray:
    import torch

    from rlkit.distributions import get_action_dist_cls

    mine = track.table.get(Columns.ACTION_DIST_INPUTS)
    theirs = other.get(Columns.ACTION_DIST_INPUTS)
    cls = get_action_dist_cls(track.action_space)
    a = cls.from_logits(torch.as_tensor(np.asarray(mine), dtype=torch.float32))
    b = cls.from_logits(torch.as_tensor(np.asarray(theirs), dtype=torch.float32))
    return a.kl(b).detach().cpu().numpy().astype(np.float64)  # (T,) KL(recorded || replayed)


def _agree(a: Any, b: Any) -> np.ndarray:
    """Per row: do two (nested) greedy actions match in every component? (T,) bool."""
    if isinstance(a, dict):
        return np.all([_agree(a[k], b[k]) for k in a], axis=0)
    if isinstance(a, tuple):
        return np.all([_agree(x, y) for x, y in zip(a, b)], axis=0)
    a, b = np.asarray(a), np.asarray(b)
    eq = np.isclose(a, b) if np.issubdtype(a.dtype, np.floating) else a == b
    return eq.reshape(len(eq), -1).all(axis=1)


def _float(a: Any) -> np.ndarray | None:
    """A per-row scalar column as float64 ``(T,)``; None when absent or not scalar per row."""
    if a is None or isinstance(a, (dict, tuple)):
        return None
    a = np.asarray(a, dtype=np.float64)
    if a.ndim > 1 and int(np.prod(a.shape[1:])) == 1:
        a = a.reshape(len(a))  # (T, 1) -> (T,)
    return a if a.ndim == 1 else None


def py_value(value: Any, single: bool = False) -> Any:
    """A (nested) one-row selection as plain Python: ints, floats, lists, dicts, tuples."""
    if isinstance(value, dict):
        return {k: py_value(v, single) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(py_value(v, single) for v in value)
    a = np.asarray(value)
    if single:
        a = a[0]
    return a.item() if a.ndim == 0 else a.tolist()


# -------------------------------------------------------------------- inputs of the viewer


def check_rollout(rollout: Any) -> None:
    """A TypeError / ValueError unless ``rollout`` is a non-empty Rollout-like table with episode ids."""
    ok = hasattr(rollout, "__getitem__") and hasattr(rollout, "__len__") and not isinstance(rollout, (str, bytes, dict))
    if ok:
        try:
            rollout[Columns.EPS_ID]
        except Exception:
            ok = False
    if not ok:
        raise TypeError(
            f"RolloutViewer expects a Rollout (from rlkit.rollout(module, env, num_steps=..., record_frames=True)), "
            f"got {type(rollout).__name__}."
        )
    if len(rollout) == 0:
        raise ValueError("RolloutViewer expects a rollout with at least one step, got an empty one.")


def agent_ids(rollout: Any) -> list[Any]:
    ids = getattr(rollout, "agent_ids", None)
    return list(ids) if ids else [None]


def episode_ids(rollout: Any) -> list[Any]:
    return list(np.unique(np.asarray(rollout[Columns.EPS_ID])))


def default_compare_name(compare: Any) -> str:
    """The checkpoint folder's name for a path, else "other"."""
    if isinstance(compare, (str, os.PathLike)):
        return os.path.basename(os.path.normpath(os.fspath(compare))) or "checkpoint"
    return "other"


def load_compare(compare: Any) -> Any:
    """``compare=`` as a module: a module as it is, a checkpoint path loaded (single or multi-module)."""
    if isinstance(compare, (str, os.PathLike)):
        from rlkit.rl_module import RLModule

        try:
            return RLModule.from_checkpoint(compare)
        except TypeError:  # a MultiRLModule checkpoint
            from rlkit.multi_rl_module import MultiRLModule

            return MultiRLModule.from_checkpoint(compare)
    from torch import nn

    if not isinstance(compare, nn.Module):
        raise TypeError(f"expected compare= to be an RLModule, a MultiRLModule or a checkpoint path, got "
                        f"{type(compare).__name__}.")
    return compare


def replay_for(module: Any, track: AgentTrack) -> Any:
    """The module's outputs on this agent's recorded observations (a ``MultiRLModule`` replays by module id)."""
    from rlkit.rollouts import replay

    return replay(module, track.rollout)
