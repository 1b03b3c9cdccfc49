"""`replay()`: another module's forward outputs on a recorded trajectory, and `compare()`.

Replaying is how two modules (or two checkpoints of one) are compared on the *same*
observations: per-step KL divergence, whether their greedy actions agree, and the gap
between their value estimates.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from rlkit.columns import Columns
from rlkit.rollouts import _recording as rec
from rlkit.rollouts.rollout_data import Rollout
from rlkit.spaces import ObservationError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["replay", "compare", "KL", "ACTION_AGREEMENT", "VALUE_GAP"]

#: Column of :func:`replay` / :func:`compare`: KL(reference || other) of the action distributions.
KL = "kl"
#: Column: True where both greedy actions are equal (floats: within ``np.isclose``).
ACTION_AGREEMENT = "action_agreement"
#: Column: ``V_other(s) - V_reference(s)``.
VALUE_GAP = "value_gap"

def replay(module: Any, rollout: Rollout, *, explore: bool | None = None) -> Rollout:
    """``module``'s forward outputs on ``rollout``'s observations, as a new :class:`Rollout`.

    The observations, actions, rewards and flags are the recorded ones; the forward
    outputs (``ACTION_DIST_INPUTS``, ``VF_PREDS``), the logp / prob of the *recorded*
    actions, the entropy, greedy action and distribution summary are ``module``'s. Three
    comparison columns are added against the recorded outputs: :data:`KL`
    (KL(recorded || replayed)), :data:`ACTION_AGREEMENT` and :data:`VALUE_GAP`.

    Feed-forward modules run one batched forward pass over all rows. Recurrent modules run
    one batched pass over padded ``(B, T, ...)`` sequences, one per stretch of consecutive
    steps of an episode: a stretch starting at ``t == 0`` starts from
    ``module.get_initial_state()``, one starting mid-episode from the recorded
    ``STATE_IN`` (exact for the module that recorded it). Multi-agent rollouts take a
    ``MultiRLModule`` (each row replayed by its ``module_id``) or one shared module.
    ``explore`` picks ``forward_exploration`` or ``forward_inference``; by default the
    pass the rollout was recorded with. ``VALUES_BOOTSTRAPPED`` is recomputed from the
    replayed values where the episode goes on in the next row; at truncations (whose final
    observation is not recorded) the recorded bootstrap value is kept.

    Example:
        >>> import gymnasium as gym
        >>> from rlkit import RLModuleSpec
        >>> from rlkit.rollouts import rollout
        >>> env = gym.make("CartPole-v1")
        >>> spec = RLModuleSpec(observation_space=env.observation_space, action_space=env.action_space)
        >>> a, b = spec.build(), spec.build()
        >>> r = rollout(a, env, num_steps=50, seed=0)
        >>> bool(np.allclose(replay(a, r)[KL], 0, atol=1e-6)), replay(b, r)[VALUE_GAP].shape
        (True, (50,))
    """
    from rlkit.multi_rl_module import MultiRLModule

    if explore is None:
        explore = bool(rollout.metadata.get("explore", True))
    data = {k: v for k, v in rollout._data.items() if k not in (Columns.VF_PREDS, Columns.VALUES_BOOTSTRAPPED)}
    if isinstance(module, MultiRLModule) and Columns.MODULE_ID in data:
        missing = sorted(set(rollout.module_ids) - set(module.keys()))
        if missing:
            raise KeyError(
                f"The rollout has rows of module(s) {missing} that the MultiRLModule lacks. "
                f"Available module ids: {sorted(module.keys())}."
            )
        parts = {mid: _replay_rows(module[mid], rollout.for_module(mid), explore) for mid in rollout.module_ids}
        ids = data[Columns.MODULE_ID]
        for key in parts[next(iter(parts))]:
            if all(key in p for p in parts.values()):
                col = np.zeros((len(rollout), *parts[next(iter(parts))][key].shape[1:]), dtype=parts[next(iter(parts))][key].dtype)
                for mid, p in parts.items():
                    col[ids == mid] = p[key]
                data[key] = col
    else:
        if isinstance(module, MultiRLModule):
            module = _only_module(module)
        data.update(_replay_rows(module, rollout, explore))
    replayed = Rollout(data, trees=rollout._trees, frames=rollout.frames, metadata={**rollout.metadata, "explore": explore})
    if Columns.VF_PREDS in data and Columns.VALUES_BOOTSTRAPPED in rollout:
        data[Columns.VALUES_BOOTSTRAPPED] = _rebootstrap(replayed, rollout)
    data.update(_metrics(rollout, replayed))
    return Rollout(data, trees=rollout._trees, frames=rollout.frames, metadata=replayed.metadata)


def compare(reference: Rollout, other: Rollout) -> pd.DataFrame:
    """Per-step :data:`KL` (reference || other), :data:`ACTION_AGREEMENT` and :data:`VALUE_GAP`.

    Both rollouts must hold the same rows, e.g. two :func:`replay` s of one rollout by two
    checkpoints.
    """
    import pandas as pd

    if len(reference) != len(other) or not np.array_equal(reference[Columns.EPS_ID], other[Columns.EPS_ID]):
        raise ValueError(
            f"compare() needs two rollouts over the same rows, got {len(reference)} and "
            f"{len(other)} rows; replay both modules on one rollout: compare(replay(a, r), replay(b, r))."
        )
    return pd.DataFrame(_metrics(reference, other))


# ------------------------------------------------------------------ internals


def _only_module(module: Any) -> Any:
    if len(module) != 1:
        raise ValueError(
            f"This single-agent rollout has no module ids; pass one module, e.g. "
            f"replay(multi[{sorted(module.keys())[0]!r}], rollout) (modules: {sorted(module.keys())})."
        )
    return next(iter(module.values()))


def _replay_rows(module: Any, r: Rollout, explore: bool) -> dict[str, np.ndarray]:
    """The forward outputs and derived distribution columns of ``module`` on every row."""
    try:
        return _replay_rows_unchecked(module, r, explore)
    except ObservationError as err:
        raise ObservationError(
            f"replay(): the rollout's observations do not fit {type(module).__name__}'s observation space "
            f"{module.observation_space}: {err} Replay with a module built for the env the rollout came from."
        ) from None


def _replay_rows_unchecked(module: Any, r: Rollout, explore: bool) -> dict[str, np.ndarray]:
    fwd = module.forward_exploration if explore else module.forward_inference
    values_fn = rec.values_fn(module)
    if module.is_stateful():
        adi, vf = _replay_sequences(module, r, fwd, values_fn)
    else:
        batch = {Columns.OBS: r[Columns.OBS]}
        out = fwd(batch)
        adi, vf = out[Columns.ACTION_DIST_INPUTS], out.get(Columns.VF_PREDS)
        if vf is None and values_fn is not None:
            vf = values_fn(batch, out)
    cols = {Columns.ACTION_DIST_INPUTS: adi.float().numpy()}
    if vf is not None:
        cols[Columns.VF_PREDS] = vf.float().numpy()
    dist_cls = module.get_exploration_action_dist_cls()
    space = module.action_space
    cols.update(rec.distribution_columns(dist_cls, cols[Columns.ACTION_DIST_INPUTS], r[Columns.ACTIONS], space))
    return cols


def _replay_sequences(module: Any, r: Rollout, fwd: Any, values_fn: Any) -> tuple[torch.Tensor, torch.Tensor | None]:
    """One forward pass over padded (B, T_max) sequences of consecutive steps."""
    order, cut = r._trajectory_order()  # rows by (episode, agent, t); cut: stops without ending
    ends = cut | r[Columns.TERMINATEDS][order] | r[Columns.TRUNCATEDS][order]
    starts = np.flatnonzero(np.concatenate([[True], ends[:-1]]))  # (B,) positions in `order`
    lengths = np.diff(np.append(starts, len(order)))  # (B,)
    T_max = int(lengths.max())
    steps = np.minimum(np.arange(T_max)[None, :], lengths[:, None] - 1)  # (B, T_max), padding repeats the last step
    rows = order[starts[:, None] + steps]  # (B, T_max) row indices
    obs = rec.tree_map(lambda x: np.asarray(x)[rows], r[Columns.OBS])  # (B, T_max, *obs_shape)
    init = module.get_initial_state()
    recorded = r[Columns.STATE_IN] if Columns.STATE_IN in r else {}
    first = rows[:, 0]  # (B,) first row of each sequence
    mid_episode = r[Columns.T][first] > 0  # (B,) sequences that start after t = 0
    state = {}
    for key, value in init.items():
        s = value.unsqueeze(0).repeat(len(first), *([1] * value.dim()))  # (B, ...)
        if key in recorded and tuple(recorded[key].shape[1:]) == tuple(value.shape) and mid_episode.any():
            s[torch.from_numpy(mid_episode)] = torch.from_numpy(recorded[key][first[mid_episode]]).to(s.dtype)
        state[key] = s
    batch = {Columns.OBS: obs, Columns.STATE_IN: state, Columns.SEQ_LENS: torch.from_numpy(lengths)}
    out = fwd(batch)
    valid = np.arange(T_max)[None, :] < lengths[:, None]  # (B, T_max)
    target = torch.from_numpy(rows[valid])  # recorded row of each valid (b, t)
    mask = torch.from_numpy(valid)

    def unpad(x: torch.Tensor) -> torch.Tensor:
        flat = x[mask]  # (sum lengths, ...)
        result = torch.empty_like(flat)
        result[target] = flat
        return result

    vf = out.get(Columns.VF_PREDS)
    if vf is None and values_fn is not None:
        vf = values_fn(batch, out)
    return unpad(out[Columns.ACTION_DIST_INPUTS]), (unpad(vf) if vf is not None else None)


def _rebootstrap(replayed: Rollout, recorded: Rollout) -> np.ndarray:
    """V(s_{t+1}) from the replayed values where the episode continues in the next row."""
    order, cut = replayed._trajectory_order()
    vf = replayed[Columns.VF_PREDS][order]
    boot = recorded[Columns.VALUES_BOOTSTRAPPED][order].copy()
    term = replayed[Columns.TERMINATEDS][order]
    cont = ~(cut | term | replayed[Columns.TRUNCATEDS][order])  # next sorted row continues
    boot[:-1] = np.where(cont[:-1], vf[1:], boot[:-1])
    boot[term] = 0.0
    out = np.empty_like(boot)
    out[order] = boot
    return out


def _metrics(reference: Rollout, other: Rollout) -> dict[str, np.ndarray]:
    from rlkit.distributions import get_action_dist_cls

    out: dict[str, np.ndarray] = {}
    spaces = reference.metadata.get("action_spaces") or {None: reference.metadata.get("action_space")}
    if all(s is not None for s in spaces.values()):
        kl = np.zeros(len(reference), dtype=np.float32)
        for mid, space in spaces.items():
            rows = slice(None) if mid is None else reference[Columns.MODULE_ID] == mid
            cls = get_action_dist_cls(space)
            p = cls.from_logits(torch.from_numpy(np.ascontiguousarray(reference[Columns.ACTION_DIST_INPUTS][rows])))
            q = cls.from_logits(torch.from_numpy(np.ascontiguousarray(other[Columns.ACTION_DIST_INPUTS][rows])))
            kl[rows] = p.kl(q).float().numpy()
        out[KL] = kl
    agree = np.ones(len(reference), dtype=bool)
    for a, b in zip(_leaf_list(reference[Columns.GREEDY_ACTIONS]), _leaf_list(other[Columns.GREEDY_ACTIONS])):
        same = np.isclose(a, b) if np.issubdtype(a.dtype, np.floating) else a == b
        agree &= same.reshape(len(agree), -1).all(axis=1)
    out[ACTION_AGREEMENT] = agree
    if Columns.VF_PREDS in reference and Columns.VF_PREDS in other:
        out[VALUE_GAP] = other[Columns.VF_PREDS] - reference[Columns.VF_PREDS]
    return out


def _leaf_list(x: Any) -> list[np.ndarray]:
    if isinstance(x, dict):
        return [leaf for v in x.values() for leaf in _leaf_list(v)]
    if isinstance(x, tuple):
        return [leaf for v in x for leaf in _leaf_list(v)]
    return [np.asarray(x)]

