"""Reading plot inputs: a `Rollout`, a pandas DataFrame or a mapping of column name -> array."""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from rlkit.columns import Columns

__all__ = ["Table", "as_table", "ENTROPY_KEYS", "GREEDY_KEYS", "PROBS_KEYS", "MEAN_KEYS", "STD_KEYS", "SUMMARY_PREFIX"]

# The rollout recorder names these columns; older or hand-made tables may use the others.
ENTROPY_KEYS = (Columns.ENTROPY, "action_entropy")
GREEDY_KEYS = (Columns.GREEDY_ACTIONS, "greedy_action")
SUMMARY_PREFIX = "action_dist_"  # recorded summaries: action_dist_probs, action_dist_mean, action_dist_0/probs
PROBS_KEYS = (SUMMARY_PREFIX + "probs", "action_probs", "probs")
MEAN_KEYS = (SUMMARY_PREFIX + "mean", "action_mean", "mean")
STD_KEYS = (SUMMARY_PREFIX + "std", "action_std", "std")
RETURN_KEYS = (Columns.RETURNS_TO_GO, "returns", "return_to_go")


class Table:
    """Uniform, read-only column access over the three kinds of input the plots accept.

    ``table.get(name)`` is a numpy array ``(T, ...)``; ``rows`` restricts every column to
    some rows (one episode), in time order.
    """

    def __init__(self, data: Any, rows: np.ndarray | None = None) -> None:
        if isinstance(data, Table):
            rows = data._rows if rows is None else (rows if data._rows is None else data._rows[rows])
            data = data._data
        self._data = data
        self._rows = rows
        self._cache: dict[str, np.ndarray | None] = {}

    # ---------------------------------------------------------------- columns
    def _raw(self, name: str) -> np.ndarray | None:
        if name in self._cache:
            return self._cache[name]
        data, value = self._data, None
        if _is_dataframe(data):
            if name in data.columns:
                col = data[name].to_numpy()
                value = np.stack(list(col)) if col.dtype == object and len(col) and isinstance(col[0], (np.ndarray, list)) else col
        elif isinstance(data, Mapping):
            value = data.get(name)
        else:  # a Rollout or anything indexable by column name
            try:
                value = data[name]
            except (KeyError, IndexError, TypeError, ValueError):
                value = None
        if value is not None and not isinstance(value, (Mapping, tuple)):
            value = _to_numpy(value)
        self._cache[name] = value
        return value

    def has(self, name: str) -> bool:
        return self._raw(name) is not None

    def get(self, name: str, *, what: str | None = None) -> np.ndarray:
        """Column ``name`` (restricted to ``rows``); a KeyError names the columns there are."""
        value = self._raw(name)
        if value is None:
            raise KeyError(
                f"expected a {what or repr(name)} column {name!r} in the plot data, got columns "
                f"{self.columns()}. Pass a Rollout from rlkit.rollout(...), its to_dataframe(), "
                f"or a dict that has {name!r}."
            )
        return value if self._rows is None else take_rows(value, self._rows)

    def first(self, names: tuple[str, ...]) -> np.ndarray | None:
        """The first of ``names`` that exists, or None."""
        for name in names:
            if self.has(name):
                return self.get(name)
        return None

    def columns(self) -> list[str]:
        data = self._data
        if _is_dataframe(data):
            return [str(c) for c in data.columns]
        if isinstance(data, Mapping):
            return sorted(map(str, data))
        cols = getattr(data, "columns", None)
        if callable(cols):
            cols = cols()
        if cols is None:
            cols = getattr(data, "keys", lambda: [])()
        return sorted(map(str, cols))

    def __len__(self) -> int:
        if self._rows is not None:
            return len(self._rows)
        for name in (Columns.REWARDS, Columns.VF_PREDS, Columns.ACTIONS, Columns.EPS_ID):
            if self.has(name):
                return len(self._raw(name))  # type: ignore[arg-type]
        return len(self._data)

    # ---------------------------------------------------------------- episodes
    def episode_ids(self) -> list[Any]:
        """Episode ids in order of first appearance ([None] when the data has no episode column)."""
        if not self.has(Columns.EPS_ID):
            return [None]
        eps = self.get(Columns.EPS_ID)
        _, first = np.unique(eps, return_index=True)
        return [_py(eps[i]) for i in sorted(first)]

    def episode(self, episode: Any) -> Table:
        """The rows of one episode, ordered by ``t`` (a ValueError lists the episode ids)."""
        if episode is None:
            return self
        if not self.has(Columns.EPS_ID):
            raise ValueError(
                f"expected data with an {Columns.EPS_ID!r} column to select episode={episode!r}, "
                f"got columns {self.columns()}."
            )
        eps = self.get(Columns.EPS_ID)
        rows = np.flatnonzero(eps == episode)
        if rows.size == 0:
            raise ValueError(f"episode {episode!r} is not in the data; episodes there: {self.episode_ids()}.")
        if self.has(Columns.T):
            rows = rows[np.argsort(self.get(Columns.T)[rows], kind="stable")]
        base = self._rows[rows] if self._rows is not None else rows
        return Table(self._data, base)

    # ---------------------------------------------------------------- derived columns
    def returns(self, gamma: float) -> np.ndarray:
        """Discounted return-to-go per row (the rollout's own ``returns(gamma)`` when it has one)."""
        fn = getattr(self._data, "returns", None)
        if callable(fn) and not _is_dataframe(self._data):
            full = _to_numpy(fn(gamma))
            return full if self._rows is None else full[self._rows]
        found = self.first(RETURN_KEYS)
        if found is not None:
            return found.astype(np.float64)
        return self._by_episode(lambda t: _returns_of(t, gamma))

    def advantages(self, gamma: float, lambda_: float) -> np.ndarray:
        """GAE advantages per row (the rollout's own ``advantages(gamma, lambda_)`` when it has one)."""
        fn = getattr(self._data, "advantages", None)
        if callable(fn) and not _is_dataframe(self._data):
            full = _to_numpy(fn(gamma, lambda_))
            return full if self._rows is None else full[self._rows]
        if self.has(Columns.ADVANTAGES):
            return self.get(Columns.ADVANTAGES).astype(np.float64)
        return self._by_episode(lambda t: _advantages_of(t, gamma, lambda_))

    def _by_episode(self, fn) -> np.ndarray:
        out = np.zeros(len(self), dtype=np.float64)
        position = {row: i for i, row in enumerate(self._rows)} if self._rows is not None else None
        for eps in self.episode_ids():
            part = self.episode(eps) if eps is not None else self
            values = fn(part)
            rows = part._rows if part._rows is not None else np.arange(len(part))
            index = rows if position is None else np.array([position[r] for r in rows])
            out[index] = values
        return out


def _returns_of(t: Table, gamma: float) -> np.ndarray:
    from rlkit.rollouts.gae import discounted_returns

    rewards = t.get(Columns.REWARDS, what="reward").astype(np.float64)
    done = np.zeros(len(rewards), dtype=bool)
    done[-1] = True  # empirical return-to-go: nothing is bootstrapped past the recorded steps
    return np.asarray(discounted_returns(rewards, done, np.zeros_like(done), None, gamma=gamma))


def _advantages_of(t: Table, gamma: float, lambda_: float) -> np.ndarray:
    from rlkit.rollouts.gae import compute_gae

    rewards = t.get(Columns.REWARDS, what="reward").astype(np.float64)
    values = t.get(Columns.VF_PREDS, what="value").astype(np.float64)
    term = t.get(Columns.TERMINATEDS).astype(bool) if t.has(Columns.TERMINATEDS) else np.zeros(len(rewards), bool)
    trunc = t.get(Columns.TRUNCATEDS).astype(bool) if t.has(Columns.TRUNCATEDS) else np.zeros(len(rewards), bool)
    if not (term[-1] or trunc[-1]):
        term = term.copy()
        term[-1] = True  # the recorded part ends here: no value beyond it is known
    boot = t.get(Columns.VALUES_BOOTSTRAPPED).astype(np.float64) if t.has(Columns.VALUES_BOOTSTRAPPED) else np.zeros(len(rewards))
    return np.asarray(compute_gae(rewards, values, term, trunc, boot, gamma=gamma, lambda_=lambda_))


def as_table(data: Any) -> Table:
    """Wrap plot input; a TypeError says what is accepted."""
    if data is None or isinstance(data, (str, bytes, int, float)):
        raise TypeError(
            f"expected a Rollout, a pandas DataFrame or a dict of column -> array, got "
            f"{type(data).__name__}. Record one with rlkit.rollout(module, env, num_steps=...)."
        )
    return Table(data)


def take_rows(value: Any, rows: np.ndarray) -> Any:
    """``value[rows]`` for an array, or for every array in a (nested) dict / tuple of arrays."""
    if isinstance(value, Mapping):
        return {k: take_rows(v, rows) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(take_rows(v, rows) for v in value)
    return np.asarray(value)[rows]


def _is_dataframe(data: Any) -> bool:
    return type(data).__name__ == "DataFrame" and hasattr(data, "columns") and hasattr(data, "iloc")


def _to_numpy(value: Any) -> np.ndarray:
    if hasattr(value, "detach"):  # torch tensor
        value = value.detach().cpu().numpy()
    elif hasattr(value, "to_numpy"):  # pandas Series
        value = value.to_numpy()
    return np.asarray(value)


def _py(x: Any) -> Any:
    """numpy scalar -> Python scalar (readable in labels and error messages)."""
    return x.item() if isinstance(x, np.generic) else x
