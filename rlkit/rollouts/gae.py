"""Generalised advantage estimation and discounted returns: pure, vectorised, numpy or torch.

Both functions work on *time-major* arrays: shape ``(T,)`` for one stream of steps or
``(T, N)`` for ``N`` parallel streams (the sub-envs of a vector env), row ``t`` being the
``t``-th step of every stream. Several episodes may follow each other in a stream; the
``terminateds`` / ``truncateds`` flags mark where one ends, and the next row starts the next
episode.

How the value after step ``t`` (``V(s_{t+1})``) is chosen:

====================================  =============================================
step ``t`` ...                        value of the next state used at step ``t``
====================================  =============================================
is terminated                         ``0`` (a terminal state has no future reward)
is truncated (time limit, ...)        ``bootstrap_values[t]`` (``V`` of the final obs)
is the last row, episode still on     ``bootstrap_values[T-1]`` (``V`` of the obs the
                                      rollout stopped at)
otherwise                             ``values[t+1]`` (the episode goes on in row t+1)
====================================  =============================================

and the GAE trace (and the discounted sum) is cut after every terminated or truncated
step, so no reward or advantage leaks from one episode into the next. ``bootstrap_values``
is read only at truncated steps and at the last row; its other entries are ignored (they
may be anything, NaN included). It may also be given with the shape of one row
(``(N,)`` / scalar) when only the last row needs it, i.e. when no step before the last
row is truncated.

The backward recursion ``x_t = b_t + a_t * x_{t+1}`` is evaluated with a log-depth
doubling scan (``ceil(log2 T)`` whole-array numpy/torch operations) instead of a Python
loop over ``T``; ``tests/test_gae.py`` checks it against the plain reversed loop.

Example:
    >>> import numpy as np
    >>> r = np.array([1.0, 1.0, 1.0]); v = np.zeros(3)
    >>> no = np.zeros(3, dtype=bool); end = np.array([False, False, True])
    >>> compute_gae(r, v, end, no, None, gamma=0.5, lambda_=1.0)
    array([1.75, 1.5 , 1.  ])
    >>> discounted_returns(r, no, no, np.array([0.0, 0.0, 8.0]), gamma=0.5)  # bootstraps V=8
    array([2.75, 3.5 , 5.  ])
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

__all__ = ["compute_gae", "discounted_returns", "reverse_discounted_scan"]


def reverse_discounted_scan(a: Any, b: Any) -> Any:
    """Solve ``x_t = b_t + a_t * x_{t+1}`` backwards in time, with ``x_T = 0``.

    ``a`` and ``b`` are time-major ``(T, ...)`` float arrays (both numpy or both torch).
    Implemented as a Hillis-Steele doubling scan: after the pass with shift ``s``, row
    ``t`` holds the composition of steps ``t .. t+2s-1``, so ``ceil(log2 T)`` passes solve it.
    Only factors ``|a| <= 1`` get multiplied, so nothing overflows (products decay to 0).

    Example:
        >>> reverse_discounted_scan(np.full(4, 0.5), np.ones(4))
        array([1.875, 1.75 , 1.5  , 1.   ])
    """
    is_torch = isinstance(b, torch.Tensor)
    a = a.clone() if is_torch else np.array(a, copy=True)
    x = b.clone() if is_torch else np.array(b, copy=True)
    T = x.shape[0]
    shift = 1
    while shift < T:
        # Right-hand sides read the values of the previous pass (slices copy first).
        x[:-shift] = x[:-shift] + a[:-shift] * x[shift:]  # (T-s, ...): fold in steps t+s..t+2s-1
        a[:-shift] = a[:-shift] * a[shift:]  # (T-s, ...): discount from t to t+2s
        shift *= 2
    return x


def _as_float(x: Any, like: Any, name: str) -> Any:
    """``x`` as the float type of ``like`` (numpy array or torch tensor)."""
    if isinstance(like, torch.Tensor):
        t = x if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x))
        return t.to(device=like.device, dtype=like.dtype)
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=like.dtype)


def _as_bool(x: Any, like: Any) -> Any:
    if isinstance(like, torch.Tensor):
        t = x if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x))
        return t.to(device=like.device, dtype=torch.bool)
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    return np.asarray(x).astype(bool)


def _prepare(rewards, values, terminateds, truncateds, bootstrap_values, gamma, lambda_, fn):
    """Check shapes and ranges; return float/bool arrays of the rewards' kind and shape."""
    if isinstance(rewards, torch.Tensor):
        r = rewards.detach()
        r = r if r.is_floating_point() else r.to(torch.float32)
    else:
        r = np.asarray(rewards)
        r = r.astype(np.result_type(r.dtype, np.float32)) if r.dtype.kind != "f" else r
    if r.ndim not in (1, 2):
        raise ValueError(
            f"{fn} expects time-major rewards of shape (T,) or (T, N), got {tuple(r.shape)}. "
            "Stack parallel streams as columns: rewards[t, n] is step t of stream n."
        )
    shape = tuple(r.shape)
    arrays = {"terminateds": terminateds, "truncateds": truncateds}
    if values is not None:
        arrays["values"] = values
    problems = [
        f"{name} has shape {_shape(x)}"
        for name, x in arrays.items()
        if _shape(x) != shape
    ]
    if bootstrap_values is not None and _shape(bootstrap_values) not in (shape, shape[1:]):
        problems.append(
            f"bootstrap_values has shape {_shape(bootstrap_values)} "
            f"(expected {shape} per step, or {shape[1:]} for the last row only)"
        )
    if problems:
        raise ValueError(
            f"{fn}: every array must have the rewards' shape {shape}, but "
            + "; ".join(problems) + "."
        )
    for name, x in (("gamma", gamma), ("lambda_", lambda_)):
        if x is not None and not (0.0 <= float(x) <= 1.0):
            raise ValueError(f"{fn}: {name} must lie in [0, 1], got {x}.")
    term = _as_bool(terminateds, r)
    trunc = _as_bool(truncateds, r)
    v = _as_float(values, r, "values") if values is not None else None
    boot = _bootstrap_rows(bootstrap_values, r, term, trunc, fn)
    return r, v, term, trunc, boot


def _bootstrap_rows(bootstrap_values, r, term, trunc, fn):
    """Per-step bootstrap values (T, ...), with a clear error when a needed one is missing."""
    T = r.shape[0]
    if T == 0:
        return _zeros_like(r)
    mid_trunc = _rows_with(trunc[:-1])  # truncated steps before the last row
    if bootstrap_values is None:
        if mid_trunc or bool((~term[-1]).any()):
            raise ValueError(
                f"{fn} needs bootstrap_values: some episode is truncated or still running at "
                "the last row, so the value of the state after it must be bootstrapped. Pass "
                "bootstrap_values (V of the next observation per step; rollout[Columns."
                "VALUES_BOOTSTRAPPED] holds it), or zeros if you really want no bootstrap."
            )
        return _zeros_like(r)
    boot = _as_float(bootstrap_values, r, "bootstrap_values")
    if tuple(boot.shape) == tuple(r.shape):
        return boot
    if mid_trunc:
        raise ValueError(
            f"{fn}: bootstrap_values of shape {tuple(boot.shape)} gives only the value after "
            f"the last row, but step {mid_trunc[0]} (before the last row) is truncated and needs "
            f"the value of its own final observation. Pass bootstrap_values with the rewards' "
            f"shape {tuple(r.shape)} (rollout[Columns.VALUES_BOOTSTRAPPED])."
        )
    full = _zeros_like(r)
    full[-1] = boot
    return full


def _rows_with(flags) -> list[int]:
    """Indices of the rows of a (T, ...) bool array that hold any True."""
    if isinstance(flags, torch.Tensor):
        flags = flags.cpu().numpy()
    if flags.size == 0:
        return []
    return np.flatnonzero(flags.reshape(flags.shape[0], -1).any(axis=1)).tolist()


def _zeros_like(x):
    return torch.zeros_like(x) if isinstance(x, torch.Tensor) else np.zeros_like(x)


def _shape(x) -> tuple[int, ...]:
    return tuple(x.shape) if hasattr(x, "shape") else np.shape(x)


def _where(cond, x, y):
    return torch.where(cond, x, y) if isinstance(x, torch.Tensor) else np.where(cond, x, y)


def _next_values(v, term, trunc, boot):
    """V(s_{t+1}) per step, following the table in the module docstring. (T, ...)"""
    nxt = boot.clone() if isinstance(boot, torch.Tensor) else boot.copy()
    cont = ~(term | trunc)  # (T, ...) the episode goes on after step t
    nxt[:-1] = _where(cont[:-1], v[1:], nxt[:-1])  # next row is the same episode: V(s_{t+1})
    return _where(term, _zeros_like(nxt), nxt)  # terminal: no future value (where, not *0: NaN)


def compute_gae(
    rewards: Any,
    values: Any,
    terminateds: Any,
    truncateds: Any,
    bootstrap_values: Any,
    gamma: float = 0.99,
    lambda_: float = 0.95,
) -> Any:
    """Generalised advantage estimates ``A_t`` (Schulman et al. 2016) for time-major arrays.

    Args:
        rewards: ``(T,)`` or ``(T, N)`` rewards ``r_t`` (numpy array or torch tensor).
        values: ``V(s_t)`` with the rewards' shape (the module's ``VF_PREDS``).
        terminateds: bool, step ``t`` ended its episode in a terminal state (no bootstrap).
        truncateds: bool, step ``t`` cut its episode short (time limit): bootstrap from
            ``bootstrap_values[t]``.
        bootstrap_values: ``V`` of the observation after step ``t``, read at truncated steps
            and at the last row (see the module docstring); the rewards' shape, or the shape
            of one row when only the last row needs it; ``None`` only when nothing needs it.
        gamma: discount factor in ``[0, 1]``.
        lambda_: GAE trade-off in ``[0, 1]``: 0 gives one-step TD errors, 1 Monte-Carlo
            returns minus ``V``.

    Returns:
        Advantages with the rewards' shape and kind (numpy or torch, float dtype kept).
        The value-function targets are ``advantages + values``.

    Example:
        >>> import torch
        >>> r = torch.ones(2, 2); v = torch.zeros(2, 2); f = torch.zeros(2, 2, dtype=torch.bool)
        >>> compute_gae(r, v, f, f, torch.tensor([10.0, 0.0]), gamma=0.5, lambda_=1.0)
        tensor([[4.0000, 1.5000],
                [6.0000, 1.0000]])
    """
    r, v, term, trunc, boot = _prepare(
        rewards, values, terminateds, truncateds, bootstrap_values, gamma, lambda_, "compute_gae"
    )
    if r.shape[0] == 0:
        return _zeros_like(r)
    nxt = _next_values(v, term, trunc, boot)  # (T, ...) V(s_{t+1}) per step
    delta = r + gamma * nxt - v  # (T, ...) TD errors: r_t + gamma V(s_{t+1}) - V(s_t)
    decay = _where(term | trunc, _zeros_like(r), _zeros_like(r) + gamma * lambda_)  # (T, ...) trace cut at episode ends
    return reverse_discounted_scan(decay, delta)  # A_t = delta_t + gamma lambda A_{t+1}


def discounted_returns(
    rewards: Any,
    terminateds: Any,
    truncateds: Any,
    bootstrap_values: Any = None,
    gamma: float = 0.99,
) -> Any:
    """Discounted return-to-go ``G_t = r_t + gamma * G_{t+1}`` within each episode.

    With ``bootstrap_values=None`` the sum stops at the last recorded reward of each
    episode (the plain reward-to-go a plot shows); with bootstrap values, truncated
    episodes and the episode running at the last row add ``gamma^k V(s_end)`` for the
    unseen rest (the same table as :func:`compute_gae`).

    Example:
        >>> import numpy as np
        >>> end = np.array([False, True, False]); no = np.zeros(3, dtype=bool)
        >>> discounted_returns(np.ones(3), end, no, gamma=0.9)
        array([1.9, 1. , 1. ])
    """
    if bootstrap_values is None:
        bootstrap_values = np.zeros(_shape(rewards))
    r, _, term, trunc, boot = _prepare(
        rewards, None, terminateds, truncateds, bootstrap_values, gamma, None, "discounted_returns"
    )
    if r.shape[0] == 0:
        return _zeros_like(r)
    open_end = ~(term | trunc)  # (T, ...)
    open_end[:-1] = False  # only the last row's running episode bootstraps there
    tail = _where(trunc | open_end, boot, _zeros_like(r))  # (T, ...) V(s_end) where the episode was cut
    decay = _where(term | trunc, _zeros_like(r), _zeros_like(r) + gamma)  # (T, ...) no discounting across episodes
    return reverse_discounted_scan(decay, r + gamma * tail)  # G_t = r_t + gamma (G_{t+1} or V)
