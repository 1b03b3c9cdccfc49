"""From a sampled :class:`~rlkit.rollouts.Rollout` to the tensors the PPO learner trains on.

Once per iteration, per module: GAE advantages and value targets from the rollout
(:meth:`Rollout.advantages`, which runs :func:`rlkit.rollouts.compute_gae` per trajectory),
then every column the loss reads turned into a torch tensor, once. The learner only
indexes these tensors afterwards (no per-step Python work).

Recurrent modules train on sequences: each trajectory (episode and agent, in time order)
is cut into chunks of ``max_seq_len`` steps; chunks are padded to ``(S, max_seq_len)``,
``Columns.LOSS_MASK`` marks the real steps and ``Columns.STATE_IN`` holds the recurrent
state recorded at each chunk's first step.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from rlkit.columns import Columns

__all__ = ["build_train_batch", "to_sequences"]

_COLUMNS = (Columns.OBS, Columns.ACTIONS, Columns.ACTION_LOGP, Columns.ACTION_DIST_INPUTS, Columns.VF_PREDS)


def _to_tensor(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _to_tensor(v) for k, v in x.items()}
    if isinstance(x, tuple):
        return tuple(_to_tensor(v) for v in x)
    return torch.from_numpy(np.ascontiguousarray(x))


def _tree_map(fn: Any, x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _tree_map(fn, v) for k, v in x.items()}
    if isinstance(x, tuple):
        return tuple(_tree_map(fn, v) for v in x)
    return fn(x)


def build_train_batch(rollout: Any, gamma: float, lambda_: float, max_seq_len: int | None = None) -> dict[str, Any]:
    """The learner's batch for one module's rows of ``rollout``.

    Flat: every column ``(n, ...)``. With ``max_seq_len`` (recurrent modules): ``(S, L, ...)``
    sequences plus ``STATE_IN`` ``(S, ...)`` and ``LOSS_MASK`` ``(S, L)``.
    """
    advantages = rollout.advantages(gamma, lambda_)  # (n,) A_t per row, per trajectory
    vf_preds = np.asarray(rollout[Columns.VF_PREDS])
    data = {name: rollout[name] for name in _COLUMNS}
    data[Columns.ADVANTAGES] = advantages
    data[Columns.VALUE_TARGETS] = (advantages + vf_preds).astype(np.float32)  # R_t = A_t + V_old(s_t)
    if max_seq_len is not None:
        data = to_sequences(rollout, data, max_seq_len)
    return _to_tensor(data)


def to_sequences(rollout: Any, data: dict[str, Any], max_seq_len: int) -> dict[str, Any]:
    """Cut the rows of ``data`` into padded ``(S, max_seq_len)`` sequences (see module docstring)."""
    eps = np.asarray(rollout[Columns.EPS_ID])
    t = np.asarray(rollout[Columns.T])
    keys = [t]
    if Columns.AGENT_ID in rollout:
        keys.append(np.unique(np.asarray(rollout[Columns.AGENT_ID]).astype(str), return_inverse=True)[1].ravel())
    keys.append(eps)
    order = np.lexsort(keys)  # rows by trajectory (episode, agent), then time
    n = len(order)
    new_traj = np.ones(n, dtype=bool)  # row i (in order) starts a trajectory
    if n > 1:
        same = np.ones(n - 1, dtype=bool)
        for k in keys[1:]:
            same &= k[order][1:] == k[order][:-1]
        new_traj[1:] = ~(same & (t[order][1:] == t[order][:-1] + 1))
    traj_start = np.maximum.accumulate(np.where(new_traj, np.arange(n), 0))  # first row of each row's trajectory
    pos = np.arange(n) - traj_start  # step index inside the trajectory
    new_seq = new_traj | (pos % max_seq_len == 0)  # a sequence starts at each trajectory start and every L steps
    seq_id = np.cumsum(new_seq) - 1  # (n,) which sequence a row falls in
    col = pos % max_seq_len  # (n,) where in its sequence
    num_seqs = int(seq_id[-1]) + 1 if n else 0
    starts = order[new_seq]  # original row index of each sequence's first step

    def pad(x: np.ndarray) -> np.ndarray:
        out = np.zeros((num_seqs, max_seq_len, *x.shape[1:]), dtype=x.dtype)
        out[seq_id, col] = x[order]  # (n, ...) scattered into (S, L, ...)
        return out

    seqs = {name: _tree_map(pad, value) for name, value in data.items()}
    mask = np.zeros((num_seqs, max_seq_len), dtype=np.float32)
    mask[seq_id, col] = 1.0  # 1 on real steps, 0 on padding
    seqs[Columns.LOSS_MASK] = mask
    state_in = rollout[Columns.STATE_IN]  # dict of (n, ...) states recorded before each step
    seqs[Columns.STATE_IN] = {k: np.asarray(v)[starts] for k, v in state_in.items()}
    seqs[Columns.SEQ_LENS] = mask.sum(axis=1).astype(np.int64)
    return seqs
