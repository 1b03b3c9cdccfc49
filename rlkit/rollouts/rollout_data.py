"""`Rollout`: recorded steps and forward outputs as columns of arrays, a DataFrame and frames."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

import numpy as np

from rlkit.columns import Columns
from rlkit.rollouts.gae import compute_gae, discounted_returns

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Rollout", "DIST_SUMMARY_PREFIX"]

#: Prefix of the distribution-summary columns: ``"action_dist_probs"``, ``"action_dist_mean"``...
DIST_SUMMARY_PREFIX = "action_dist_"

# Tree templates describe Dict / Tuple columns: a leaf is the key of its flat array in
# ``Rollout._data`` ("obs/position"), a dict / tuple of templates mirrors the space.
Template = Any


class Rollout:
    """Steps recorded by :func:`rlkit.rollout`: one row per step (per agent, per sub-env).

    Every column is a numpy array whose first axis is the row: ``rollout[Columns.OBS]`` has
    shape ``(T, *obs_shape)``, ``rollout[Columns.REWARDS]`` shape ``(T,)``, and Dict / Tuple
    observations or actions come back as dicts / tuples of such arrays. Columns are also
    attributes (``rollout.eps_id``). Indexing with anything but a column name selects rows
    and returns a new ``Rollout``: ``rollout[rollout.eps_id == 3]``, ``rollout[:100]``,
    ``rollout[np.array([0, 5, 9])]``; ``rollout.episode(i)`` is the ``i``-th episode
    (``-1`` the last), in the order episodes started.

    Rows of one episode keep their time order; a vector env's rows come sub-env by
    sub-env (all of ``env_index`` 0, then 1, ...), so each episode is a contiguous block.
    ``returns`` / ``advantages`` follow ``(eps_id, agent_id)`` and ``t``, so they stay
    right after any row selection or :meth:`concat`.

    Example:
        >>> import gymnasium as gym
        >>> from rlkit import Columns, RLModuleSpec
        >>> from rlkit.rollouts import rollout
        >>> env = gym.make("CartPole-v1")
        >>> module = RLModuleSpec(observation_space=env.observation_space, action_space=env.action_space).build()
        >>> r = rollout(module, env, num_episodes=2, seed=0)
        >>> r[Columns.OBS].shape == (len(r), 4), r.episodes()["ended"].tolist()
        (True, ['terminated', 'terminated'])
    """

    def __init__(
        self,
        data: Mapping[str, np.ndarray],
        *,
        trees: Mapping[str, Template] | None = None,
        frames: np.ndarray | None = None,
        metadata: Mapping[str, Any] | None = None,
        parts: Mapping[str, Rollout] | None = None,
        missing: Mapping[str, str] | None = None,
    ) -> None:
        lengths = {k: len(v) for k, v in data.items()}
        if len(set(lengths.values())) > 1:
            raise ValueError(f"Rollout columns must all have the same number of rows, got {lengths}.")
        self._data = _canonical_order(data)
        self._trees = dict(trees or {})
        self._frames = frames
        self.metadata: dict[str, Any] = dict(metadata or {})
        self._parts = dict(parts or {})  # module id -> Rollout, multi-agent with unequal spaces
        self._missing = dict(missing or {})  # column -> why it is not in the merged rollout
        self._len = next(iter(lengths.values()), 0)

    # ---------------------------------------------------------------- columns

    def __len__(self) -> int:
        return self._len

    @property
    def columns(self) -> list[str]:
        """Column names (Dict / Tuple columns once, by their top-level name)."""
        owner = {leaf: name for name, t in self._trees.items() for leaf in _leaves(t)}
        return list(dict.fromkeys(owner.get(k, k) for k in self._data))  # trees where their first leaf is

    def __iter__(self):
        """Iterate over the column names, like a dict (rows: ``for i in range(len(r))``)."""
        return iter(self.columns)

    def keys(self) -> list[str]:
        return self.columns

    def __contains__(self, name: object) -> bool:
        return name in self._data or name in self._trees

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return self.column(key)
        return self.select(key)

    def column(self, name: str) -> Any:
        """The column ``name``: an array ``(T, ...)``, or a dict / tuple of them."""
        if name in self._trees:
            return _build(self._trees[name], self._data)
        if name in self._data:
            return self._data[name]
        if name in self._missing:
            raise KeyError(self._missing[name])
        raise KeyError(
            f"Rollout has no column {name!r}. Available columns: {self.columns}."
            + (" Advantages and returns are methods: rollout.advantages(gamma, lambda_), "
               "rollout.returns(gamma)." if name in (Columns.ADVANTAGES, Columns.RETURNS_TO_GO,
                                                     Columns.VALUE_TARGETS) else "")
        )

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        data = self.__dict__.get("_data", {})
        if name in data or name in self.__dict__.get("_trees", {}):
            return self.column(name)
        raise AttributeError(f"'Rollout' object has no attribute or column {name!r}.")

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self.columns))

    @property
    def frames(self) -> np.ndarray | None:
        """Rendered frames ``(F, H, W, 3)`` uint8 (``None`` unless ``record_frames=True``).

        ``rollout[Columns.FRAME_INDEX][i]`` is the frame of row ``i`` (the state its
        observation shows); agents acting at the same env step share one frame. A row
        selection (``rollout.episode(i)``, ``rollout[10:20]``) keeps only its rows' frames.
        """
        return self._frames

    @property
    def bootstrap_values(self) -> np.ndarray:
        """``V(s_{t+1})`` per row (:data:`Columns.VALUES_BOOTSTRAPPED`), see :meth:`advantages`."""
        return self.column(Columns.VALUES_BOOTSTRAPPED)

    # ---------------------------------------------------------------- rows

    def select(self, rows: Any) -> Rollout:
        """A new ``Rollout`` with the chosen rows (bool mask, integer indices or a slice)."""
        if isinstance(rows, slice):
            rows = np.arange(self._len)[rows]
        rows = np.atleast_1d(np.asarray(rows))
        if rows.dtype == bool:
            if rows.shape != (self._len,):
                raise IndexError(
                    f"A boolean row mask must have shape ({self._len},), got {rows.shape}."
                )
            rows = np.flatnonzero(rows)
        elif rows.dtype.kind not in "iu":
            raise TypeError(
                f"Rollout rows are selected with a column name, a bool mask, integer indices or "
                f"a slice; got an array of dtype {rows.dtype}."
            )
        data = {k: v[rows] for k, v in self._data.items()}
        frames = self._frames
        if frames is not None and Columns.FRAME_INDEX in data:  # keep only the selected rows' frames
            fi = data[Columns.FRAME_INDEX]  # (n,) rows of self._frames, -1 where a row has none
            used = np.unique(fi[fi >= 0])  # (F',) sorted frame rows still referenced
            contiguous = len(used) > 0 and used[-1] - used[0] + 1 == len(used)
            frames = frames[used[0]:used[-1] + 1] if contiguous else frames[used]  # a view when it can be
            data[Columns.FRAME_INDEX] = np.where(fi >= 0, np.searchsorted(used, fi), fi).astype(fi.dtype)
        missing = {
            k: m + " (row selections keep only the shared columns; select on rollout.for_module(id))"
            for k, m in self._missing.items()
        }
        return Rollout(data, trees=self._trees, frames=frames, metadata=self.metadata, missing=missing)

    @property
    def episode_ids(self) -> np.ndarray:
        """The episode ids in this rollout, in the order the episodes first appear."""
        eps = self._data[Columns.EPS_ID]
        _, first = np.unique(eps, return_index=True)
        return eps[np.sort(first)]

    @property
    def num_episodes(self) -> int:
        return len(self.episode_ids)

    def episode(self, i: int) -> Rollout:
        """The rows of the ``i``-th episode (all its agents), ``i`` counting from 0 or from -1."""
        ids = self.episode_ids
        if not -len(ids) <= i < len(ids):
            raise IndexError(f"Episode index {i} out of range: this rollout has {len(ids)} episodes.")
        return self.select(self._data[Columns.EPS_ID] == ids[i])

    # ---------------------------------------------------------------- multi-agent

    @property
    def agent_ids(self) -> list[Any]:
        return _unique_in_order(self._data[Columns.AGENT_ID]) if Columns.AGENT_ID in self._data else []

    @property
    def module_ids(self) -> list[Any]:
        return _unique_in_order(self._data[Columns.MODULE_ID]) if Columns.MODULE_ID in self._data else []

    def for_agent(self, agent_id: Any) -> Rollout:
        """The rows of one agent (a multi-agent rollout), in time order."""
        self._require_multi_agent("for_agent")
        mask = self._data[Columns.AGENT_ID] == agent_id
        if not mask.any():
            raise KeyError(f"Agent {agent_id!r} not found. Agents in this rollout: {self.agent_ids}.")
        if self._missing:
            (mid,) = _unique_in_order(self._data[Columns.MODULE_ID][mask])[:1]
            part = self._parts[mid]
            return part.select(part._data[Columns.AGENT_ID] == agent_id)
        return self.select(mask)

    def for_module(self, module_id: str) -> Rollout:
        """The rows of every agent the module ``module_id`` acted for."""
        self._require_multi_agent("for_module")
        if module_id in self._parts:
            return self._parts[module_id]
        mask = self._data[Columns.MODULE_ID] == module_id
        if not mask.any():
            raise KeyError(f"Module id {module_id!r} not found. Modules in this rollout: {self.module_ids}.")
        return self.select(mask)

    def _require_multi_agent(self, what: str) -> None:
        if Columns.AGENT_ID not in self._data:
            raise ValueError(
                f"Rollout.{what}() needs a multi-agent rollout (one recorded from a PettingZoo "
                f"ParallelEnv); this one has no {Columns.AGENT_ID!r} column."
            )

    # ---------------------------------------------------------------- returns, advantages

    def returns(self, gamma: float = 0.99, *, bootstrap: bool = False) -> np.ndarray:
        """Discounted reward-to-go per row, ``(T,)``, within each episode (and agent).

        ``bootstrap=False`` sums only recorded rewards (an episode cut by the end of the
        rollout stops there); ``bootstrap=True`` adds ``gamma^k V(s_end)`` for truncated or
        cut episodes, from :data:`Columns.VALUES_BOOTSTRAPPED`.
        """
        order, cut = self._trajectory_order()
        rew = self._data[Columns.REWARDS][order]
        term = self._data[Columns.TERMINATEDS][order]
        trunc = self._data[Columns.TRUNCATEDS][order] | cut  # a cut ends the sum like a time limit
        if bootstrap:
            boot = self._values_needed("returns(bootstrap=True)")[1][order]
        else:
            boot = np.zeros(self._len, dtype=np.float32)
        out = np.empty(self._len, dtype=np.float32)
        out[order] = discounted_returns(rew, term, trunc, boot, gamma)
        return out

    def advantages(self, gamma: float = 0.99, lambda_: float = 0.95) -> np.ndarray:
        """GAE advantages per row, ``(T,)`` (see :func:`rlkit.rollouts.compute_gae`).

        Each ``(eps_id, agent_id)`` trajectory is taken in ``t`` order. Where it stops
        without terminating (truncated, or the rollout ended mid-episode, or rows were left
        out) the value of the next observation, ``rollout.bootstrap_values``, is bootstrapped.
        """
        order, cut = self._trajectory_order()
        values, boot = self._values_needed("advantages()")
        out = np.empty(self._len, dtype=np.float32)
        out[order] = compute_gae(
            self._data[Columns.REWARDS][order],
            values[order],
            self._data[Columns.TERMINATEDS][order],
            self._data[Columns.TRUNCATEDS][order] | cut,
            boot[order],
            gamma,
            lambda_,
        )
        return out

    def value_targets(self, gamma: float = 0.99, lambda_: float = 0.95) -> np.ndarray:
        """Targets for the value loss: ``advantages + VF_PREDS``, ``(T,)``."""
        return self.advantages(gamma, lambda_) + self._values_needed("value_targets()")[0]

    def _values_needed(self, what: str) -> tuple[np.ndarray, np.ndarray]:
        if Columns.VF_PREDS not in self._data:
            raise KeyError(
                f"Rollout.{what} needs value predictions, but the module's forward pass "
                f"returned no Columns.VF_PREDS. Use a module with a value head (e.g. the default "
                f"actor-critic), or rollout.returns(gamma) for plain discounted returns."
            )
        return self._data[Columns.VF_PREDS], self._data[Columns.VALUES_BOOTSTRAPPED]

    def _trajectory_order(self) -> tuple[np.ndarray, np.ndarray]:
        """Row order by (episode, agent, t), and where each trajectory stops short (cut)."""
        eps, t = self._data[Columns.EPS_ID], self._data[Columns.T]
        keys = [t]
        if Columns.AGENT_ID in self._data:
            keys.append(np.unique(self._data[Columns.AGENT_ID], return_inverse=True)[1].ravel())
        keys.append(eps)
        order = np.lexsort(keys)  # last key sorts first: eps, agent, then t
        same = np.ones(max(self._len - 1, 0), dtype=bool)
        for k in keys[1:]:
            same &= k[order][1:] == k[order][:-1]
        consecutive = same & (t[order][1:] == t[order][:-1] + 1)  # row i+1 continues row i
        cut = np.ones(self._len, dtype=bool)  # the last row always stops its trajectory
        cut[:-1] = ~consecutive
        done = self._data[Columns.TERMINATEDS][order] | self._data[Columns.TRUNCATEDS][order]
        return order, cut & ~done

    # ---------------------------------------------------------------- tables

    def to_dataframe(
        self, gamma: float | None = None, lambda_: float | None = None, *, max_width: int = 16
    ) -> pd.DataFrame:
        """One row per step, tidy: scalar columns as they are, small arrays spread out.

        A column with ``<= max_width`` numbers per row becomes ``name[0]``, ``name[1]``, ...
        (``obs[0]``..., ``action_dist_probs[1]``); wider ones (images, recurrent states) stay
        in ``rollout[name]`` and are listed in ``df.attrs["array_columns"]``. With ``gamma``
        the return-to-go is added, and with ``lambda_`` too the GAE advantages.
        """
        import pandas as pd

        cols: dict[str, np.ndarray] = {}
        wide: list[str] = []
        leaf_names = {leaf: name for name, t in self._trees.items() for leaf in _leaves(t)}
        for key, arr in self._data.items():
            if arr.ndim == 1:
                cols[key] = arr
            elif int(np.prod(arr.shape[1:])) <= max_width:
                flat = arr.reshape(len(arr), -1)
                for j in range(flat.shape[1]):
                    cols[f"{key}[{j}]"] = flat[:, j]
            else:
                wide.append(leaf_names.get(key, key))
        if gamma is not None:
            cols[Columns.RETURNS_TO_GO] = self.returns(gamma)
            if lambda_ is not None and Columns.VF_PREDS in self._data:
                cols[Columns.ADVANTAGES] = self.advantages(gamma, lambda_)
        df = pd.DataFrame(cols)
        df.attrs["array_columns"] = sorted(set(wide))
        return df

    def episodes(self) -> pd.DataFrame:
        """One row per episode (per agent in multi-agent rollouts).

        Columns: ``eps_id`` (``agent_id``, ``module_id``), ``env_index``, ``start_t`` (> 0
        when the rollout began mid-episode), ``length``, ``return`` (undiscounted sum of the
        recorded rewards), ``ended``: ``"terminated"``, ``"truncated"`` or ``"running"``
        (the rollout stopped first), and the same as two bools ``terminated``, ``truncated``.
        """
        import pandas as pd

        order, cut = self._trajectory_order()
        d = {k: v[order] for k, v in self._data.items() if v.ndim == 1}
        group = np.concatenate([[True], cut[:-1] | d[Columns.TERMINATEDS][:-1] | d[Columns.TRUNCATEDS][:-1]]) if self._len else np.zeros(0, bool)
        starts = np.flatnonzero(group)
        ends = np.append(starts[1:], self._len) - 1
        table: dict[str, Any] = {Columns.EPS_ID: d[Columns.EPS_ID][starts]}
        for key in (Columns.AGENT_ID, Columns.MODULE_ID, Columns.ENV_INDEX):
            if key in d:
                table[key] = d[key][starts]
        table["start_t"] = d[Columns.T][starts]
        table["length"] = ends - starts + 1
        rewards = d[Columns.REWARDS].astype(np.float64)
        table["return"] = np.add.reduceat(rewards, starts) if self._len else rewards
        term, trunc = d[Columns.TERMINATEDS][ends], d[Columns.TRUNCATEDS][ends]
        table["ended"] = np.where(term, "terminated", np.where(trunc, "truncated", "running"))
        table["terminated"], table["truncated"] = term, trunc & ~term
        # Episodes (and agents) in the order they first appear in the rollout.
        first_row = np.minimum.reduceat(order, starts) if self._len else np.zeros(0, np.int64)
        return pd.DataFrame(table).iloc[np.argsort(first_row, kind="stable")].reset_index(drop=True)

    # ---------------------------------------------------------------- combining

    @classmethod
    def concat(cls, rollouts: Sequence[Rollout]) -> Rollout:
        """Rows of several rollouts, one after the other (e.g. successive ``EnvRunner.sample``).

        Frames are concatenated too and frame indices shifted to match.
        """
        rollouts = [r for r in rollouts]
        if not rollouts:
            raise ValueError("Rollout.concat() needs at least one rollout.")
        keys = set(rollouts[0]._data)
        for i, r in enumerate(rollouts[1:], 1):
            if set(r._data) != keys:
                raise ValueError(
                    f"Rollout.concat(): rollout {i} has columns {sorted(r._data)}, rollout 0 has "
                    f"{sorted(keys)}; only rollouts recorded the same way can be joined."
                )
        frames = None
        if all(r._frames is not None for r in rollouts):
            offsets = np.cumsum([0] + [len(r._frames) for r in rollouts[:-1]])
            frames = np.concatenate([r._frames for r in rollouts])
        data = {}
        for k in rollouts[0]._data:
            parts = [r._data[k] for r in rollouts]
            if k == Columns.FRAME_INDEX and frames is not None:
                parts = [np.where(p >= 0, p + off, p) for p, off in zip(parts, offsets)]
            data[k] = np.concatenate(parts)
        return cls(data, trees=rollouts[0]._trees, frames=frames, metadata=rollouts[0].metadata)

    # ---------------------------------------------------------------- display

    def _repr_html_(self) -> str:
        import html

        head = html.escape(repr(self))
        try:
            table = self.episodes().head(20).to_html(index=False, border=0)
        except Exception as err:  # a display must never raise  # noqa: BLE001
            table = f"<pre>{html.escape(str(err))}</pre>"
        more = f"<p>... {self.num_episodes - 20} more episodes</p>" if self.num_episodes > 20 else ""
        return f"<div><p><code>{head}</code></p>{table}{more}</div>"

    def __repr__(self) -> str:
        n_eps = self.num_episodes if Columns.EPS_ID in self._data else 0
        extra = f", agents={self.agent_ids}" if Columns.AGENT_ID in self._data else ""
        frames = f", frames={tuple(self._frames.shape)}" if self._frames is not None else ""
        return f"Rollout({self._len} rows, {n_eps} episodes{extra}{frames}, columns={self.columns})"


# -------------------------------------------------------------------- tree helpers


def _leaves(template: Template) -> Iterable[str]:
    if isinstance(template, str):
        yield template
    elif isinstance(template, dict):
        for t in template.values():
            yield from _leaves(t)
    else:
        for t in template:
            yield from _leaves(t)


def _build(template: Template, data: Mapping[str, np.ndarray]) -> Any:
    if isinstance(template, str):
        return data[template]
    if isinstance(template, dict):
        return {k: _build(t, data) for k, t in template.items()}
    return tuple(_build(t, data) for t in template)


_ORDER = [
    Columns.EPS_ID, Columns.AGENT_ID, Columns.MODULE_ID, Columns.ENV_INDEX, Columns.T, Columns.FRAME_INDEX,
    Columns.OBS, Columns.ACTIONS, Columns.REWARDS, Columns.TERMINATEDS, Columns.TRUNCATEDS,
    Columns.ACTION_DIST_INPUTS, Columns.ACTION_LOGP, Columns.ACTION_PROB, Columns.ENTROPY, Columns.GREEDY_ACTIONS,
]
_AFTER_SUMMARY = [Columns.VF_PREDS, Columns.VALUES_BOOTSTRAPPED, Columns.STATE_IN]


def _canonical_order(data: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Columns in a reading order: ids and time, env data, policy outputs, values, state, rest."""

    def rank(key: str) -> tuple[int, int]:
        top = key.split("/")[0]
        if top in _ORDER:
            return (0, _ORDER.index(top))
        if top.startswith(DIST_SUMMARY_PREFIX):
            return (1, 0)
        if top in _AFTER_SUMMARY:
            return (2, _AFTER_SUMMARY.index(top))
        return (3, 0)

    return dict(sorted(data.items(), key=lambda kv: rank(kv[0])))


def _unique_in_order(values: np.ndarray) -> list[Any]:
    _, first = np.unique(values, return_index=True)
    return [values[i].item() if hasattr(values[i], "item") else values[i] for i in np.sort(first)]
