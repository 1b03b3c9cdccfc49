"""Episode statistics across iterations: episodes run on from one sample into the next.

The sampler cuts episodes at the end of every iteration's sample and continues them in
the next (same ``eps_id``, ``t`` counting on), so an episode's return is only known when
its last step has been sampled. :class:`EpisodeTracker` carries the partial sums and reports
each episode once, when it ends; the reported means are over the last
``window`` episodes (RLlib's ``metrics_num_episodes_for_smoothing``).

Example:
    >>> import numpy as np
    >>> from rlkit import Columns
    >>> tracker = EpisodeTracker(window=100)
    >>> tracker.update({Columns.EPS_ID: np.array([0, 0, 1]), Columns.REWARDS: np.ones(3),
    ...                 Columns.TERMINATEDS: np.array([False, False, True]),
    ...                 Columns.TRUNCATEDS: np.zeros(3, bool)})
    1
    >>> tracker.update({Columns.EPS_ID: np.array([0]), Columns.REWARDS: np.ones(1),
    ...                 Columns.TERMINATEDS: np.array([True]), Columns.TRUNCATEDS: np.zeros(1, bool)})
    1
    >>> tracker.summary()["episode_return_mean"], tracker.summary()["episode_len_mean"]
    (2.0, 2.0)
"""

from __future__ import annotations

import collections
import math
from typing import Any

import numpy as np

from rlkit.columns import Columns

__all__ = ["EpisodeTracker"]


class EpisodeTracker:
    """Accumulates per-(episode, agent) returns and lengths over successive rollouts."""

    def __init__(self, window: int = 100) -> None:
        self.window = int(window)
        self.returns: collections.deque[float] = collections.deque(maxlen=self.window)
        self.lengths: collections.deque[int] = collections.deque(maxlen=self.window)
        self.module_returns: dict[str, collections.deque[float]] = {}
        # (eps_id, agent_id) -> [return, length, done, module_id]; agent_id "" single-agent
        self._open: dict[tuple[int, str], list[Any]] = {}
        self.num_episodes_lifetime = 0

    def update(self, rollout: Any) -> int:
        """Add a sample's rows; returns how many episodes ended in it."""
        eps = np.asarray(rollout[Columns.EPS_ID])
        if len(eps) == 0:
            return 0
        rewards = np.asarray(rollout[Columns.REWARDS], dtype=np.float64)
        done = np.asarray(rollout[Columns.TERMINATEDS]) | np.asarray(rollout[Columns.TRUNCATEDS])
        agents = _column(rollout, Columns.AGENT_ID)
        modules = _column(rollout, Columns.MODULE_ID)
        agent_keys = agents.astype(str) if agents is not None else np.full(len(eps), "", dtype=object)
        keys, inverse = np.unique(np.stack([eps.astype(str), agent_keys.astype(str)]), axis=1, return_inverse=True)
        inverse = inverse.ravel()
        sums = np.bincount(inverse, weights=rewards, minlength=keys.shape[1])  # return per trajectory
        counts = np.bincount(inverse, minlength=keys.shape[1])  # steps per trajectory
        ended = np.bincount(inverse, weights=done.astype(np.float64), minlength=keys.shape[1]) > 0
        first_row = np.full(keys.shape[1], len(eps))
        np.minimum.at(first_row, inverse, np.arange(len(eps)))
        touched: set[int] = set()
        for j in range(keys.shape[1]):
            key = (int(eps[first_row[j]]), str(agent_keys[first_row[j]]))
            entry = self._open.setdefault(key, [0.0, 0, False, None])
            entry[0] += float(sums[j])
            entry[1] += int(counts[j])
            entry[2] = entry[2] or bool(ended[j])
            if modules is not None:
                entry[3] = str(modules[first_row[j]])
            touched.add(key[0])
        return self._close_finished(touched)

    def _close_finished(self, episode_ids: set[int]) -> int:
        """Report the episodes all of whose agents have ended."""
        by_episode: dict[int, list[tuple[str, list[Any]]]] = collections.defaultdict(list)
        for (eid, agent), entry in self._open.items():
            if eid in episode_ids:
                by_episode[eid].append((agent, entry))
        n = 0
        for eid, parts in by_episode.items():
            if not all(entry[2] for _, entry in parts):
                continue
            self.returns.append(sum(entry[0] for _, entry in parts))  # all agents' rewards
            self.lengths.append(max(entry[1] for _, entry in parts))  # env steps
            for agent, entry in parts:
                if entry[3] is not None:
                    self.module_returns.setdefault(entry[3], collections.deque(maxlen=self.window)).append(entry[0])
                del self._open[(eid, agent)]
            n += 1
        self.num_episodes_lifetime += n
        return n

    def summary(self) -> dict[str, Any]:
        """Means over the last ``window`` ended episodes (NaN before the first one ends)."""
        r, lengths = np.asarray(self.returns), np.asarray(self.lengths)
        out: dict[str, Any] = {
            "episode_return_mean": float(r.mean()) if len(r) else math.nan,
            "episode_return_min": float(r.min()) if len(r) else math.nan,
            "episode_return_max": float(r.max()) if len(r) else math.nan,
            "episode_len_mean": float(lengths.mean()) if len(lengths) else math.nan,
        }
        if self.module_returns:
            out["module_episode_return_mean"] = {
                mid: float(np.mean(v)) for mid, v in sorted(self.module_returns.items())
            }
        return out

    # ---------------------------------------------------------------- checkpoints

    def get_state(self) -> dict[str, Any]:
        return {
            "window": self.window,
            "returns": list(self.returns),
            "lengths": list(self.lengths),
            "module_returns": {k: list(v) for k, v in self.module_returns.items()},
            "open": [[eid, agent, *entry] for (eid, agent), entry in self._open.items()],
            "num_episodes_lifetime": self.num_episodes_lifetime,
        }

    def set_state(self, state: dict[str, Any]) -> None:
        self.__init__(state["window"])
        self.returns.extend(state["returns"])
        self.lengths.extend(state["lengths"])
        for k, v in state["module_returns"].items():
            self.module_returns[k] = collections.deque(v, maxlen=self.window)
        self._open = {(int(e), str(a)): [float(r), int(n), bool(d), m] for e, a, r, n, d, m in state["open"]}
        self.num_episodes_lifetime = int(state["num_episodes_lifetime"])


def _column(rollout: Any, name: str) -> np.ndarray | None:
    try:
        return np.asarray(rollout[name])
    except KeyError:
        return None
