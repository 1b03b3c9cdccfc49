"""GAE and discounted returns: the vectorised scan against a plain reversed loop."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from rlkit.rollouts.gae import compute_gae, discounted_returns, reverse_discounted_scan


# ------------------------------------------------------------------ slow, obvious references


def gae_reference(rewards, values, terminateds, truncateds, bootstrap, gamma, lambda_):
    """Textbook reversed loop over one stream (T,), one step at a time."""
    T = len(rewards)
    adv = np.zeros(T)
    running = 0.0
    for t in reversed(range(T)):
        if terminateds[t]:
            next_value, running = 0.0, 0.0
        elif truncateds[t]:
            next_value, running = bootstrap[t], 0.0
        elif t == T - 1:
            next_value, running = bootstrap[t], 0.0
        else:
            next_value = values[t + 1]
        delta = rewards[t] + gamma * next_value - values[t]
        running = delta + gamma * lambda_ * running
        adv[t] = running
    return adv


def returns_reference(rewards, terminateds, truncateds, bootstrap, gamma):
    T = len(rewards)
    out = np.zeros(T)
    g = 0.0
    for t in reversed(range(T)):
        if terminateds[t]:
            g = 0.0
        elif truncateds[t] or t == T - 1:
            g = 0.0 if bootstrap is None else bootstrap[t]
        g = rewards[t] + gamma * g
        out[t] = g
    return out


# ------------------------------------------------------------------ strategies


@st.composite
def trajectories(draw, max_t=40, max_n=4):
    T = draw(st.integers(1, max_t))
    N = draw(st.integers(1, max_n))
    floats = st.floats(-10, 10, allow_nan=False, width=64)
    r = draw(hnp.arrays(np.float64, (T, N), elements=floats))
    v = draw(hnp.arrays(np.float64, (T, N), elements=floats))
    boot = draw(hnp.arrays(np.float64, (T, N), elements=floats))
    end = draw(hnp.arrays(np.int8, (T, N), elements=st.integers(0, 5)))
    term = end == 1  # ~1 in 6 steps ends an episode, split between the two flags
    trunc = end == 2
    gamma = draw(st.floats(0.0, 1.0))
    lam = draw(st.floats(0.0, 1.0))
    return r, v, term, trunc, boot, gamma, lam


@settings(max_examples=150, deadline=None)
@given(trajectories())
def test_gae_matches_reversed_loop(traj):
    r, v, term, trunc, boot, gamma, lam = traj
    fast = compute_gae(r, v, term, trunc, boot, gamma, lam)
    slow = np.stack(
        [gae_reference(r[:, n], v[:, n], term[:, n], trunc[:, n], boot[:, n], gamma, lam) for n in range(r.shape[1])],
        axis=1,
    )
    np.testing.assert_allclose(fast, slow, rtol=1e-9, atol=1e-8)
    # A single stream (T,) gives column 0.
    np.testing.assert_allclose(
        compute_gae(r[:, 0], v[:, 0], term[:, 0], trunc[:, 0], boot[:, 0], gamma, lam), slow[:, 0], rtol=1e-9, atol=1e-8
    )


@settings(max_examples=100, deadline=None)
@given(trajectories())
def test_returns_match_reversed_loop(traj):
    r, _, term, trunc, boot, gamma, _ = traj
    for b in (boot, None):
        fast = discounted_returns(r, term, trunc, b, gamma)
        slow = np.stack(
            [returns_reference(r[:, n], term[:, n], trunc[:, n], None if b is None else b[:, n], gamma) for n in range(r.shape[1])],
            axis=1,
        )
        np.testing.assert_allclose(fast, slow, rtol=1e-9, atol=1e-8)


@settings(max_examples=50, deadline=None)
@given(trajectories())
def test_torch_matches_numpy(traj):
    r, v, term, trunc, boot, gamma, lam = traj
    np_adv = compute_gae(r, v, term, trunc, boot, gamma, lam)
    t_adv = compute_gae(torch.tensor(r), torch.tensor(v), torch.tensor(term), torch.tensor(trunc), torch.tensor(boot), gamma, lam)
    assert isinstance(t_adv, torch.Tensor) and t_adv.dtype == torch.float64
    np.testing.assert_allclose(t_adv.numpy(), np_adv, rtol=1e-9, atol=1e-8)


@settings(max_examples=50, deadline=None)
@given(trajectories())
def test_lambda_one_is_returns_minus_values(traj):
    r, v, term, trunc, boot, gamma, _ = traj
    adv = compute_gae(r, v, term, trunc, boot, gamma, 1.0)
    np.testing.assert_allclose(adv + v, discounted_returns(r, term, trunc, boot, gamma), rtol=1e-7, atol=1e-6)


# ------------------------------------------------------------------ documented behaviour


def test_unused_bootstrap_entries_are_ignored_even_nan():
    r = np.ones(4)
    v = np.array([0.5, 0.4, 0.3, 0.2])
    term = np.array([False, True, False, False])
    trunc = np.array([False, False, False, True])
    boot = np.array([np.nan, np.nan, np.nan, 7.0])
    adv = compute_gae(r, v, term, trunc, boot, 0.9, 0.8)
    assert np.isfinite(adv).all()
    # Truncated last step bootstraps V=7; terminated step 1 does not look at step 2.
    assert adv[3] == pytest.approx(1 + 0.9 * 7 - 0.2)
    assert adv[1] == pytest.approx(1 - 0.4)


def test_row_shaped_bootstrap_for_the_last_row():
    r = np.ones((3, 2))
    v = np.zeros((3, 2))
    no = np.zeros((3, 2), dtype=bool)
    full = np.zeros((3, 2))
    full[-1] = [2.0, 3.0]
    np.testing.assert_allclose(
        compute_gae(r, v, no, no, np.array([2.0, 3.0]), 0.9, 0.95), compute_gae(r, v, no, no, full, 0.9, 0.95)
    )


def test_float32_stays_float32():
    r = np.ones(5, dtype=np.float32)
    f = np.zeros(5, dtype=bool)
    out = compute_gae(r, np.zeros(5, np.float32), f, f, np.zeros(5, np.float32), 0.99, 0.95)
    assert out.dtype == np.float32


def test_long_trajectory_is_stable():
    T = 20_000
    r = np.ones(T)
    f = np.zeros(T, dtype=bool)
    out = discounted_returns(r, f, f, np.zeros(T), gamma=0.99)
    assert np.isfinite(out).all()
    assert out[0] == pytest.approx((1 - 0.99**T) / (1 - 0.99))


def test_scan_solves_the_recursion():
    a = np.array([0.5, 0.0, 0.5, 0.5, 0.5])
    b = np.arange(5.0)
    x = reverse_discounted_scan(a, b)
    expected = np.zeros(5)
    nxt = 0.0
    for t in reversed(range(5)):
        nxt = b[t] + a[t] * nxt
        expected[t] = nxt
    np.testing.assert_allclose(x, expected)


# ------------------------------------------------------------------ errors


def test_shape_mismatch_is_explained():
    with pytest.raises(ValueError, match=r"rewards' shape \(3,\), but values has shape \(4,\)"):
        compute_gae(np.ones(3), np.ones(4), np.zeros(3, bool), np.zeros(3, bool), np.zeros(3), 0.9, 0.9)


def test_three_dims_rejected():
    with pytest.raises(ValueError, match=r"shape \(T,\) or \(T, N\), got \(2, 2, 2\)"):
        compute_gae(np.ones((2, 2, 2)), *([np.ones((2, 2, 2))] * 4), 0.9, 0.9)


def test_gamma_range():
    with pytest.raises(ValueError, match=r"gamma must lie in \[0, 1\], got 1.5"):
        compute_gae(np.ones(2), np.ones(2), np.zeros(2, bool), np.zeros(2, bool), np.zeros(2), 1.5, 0.9)


def test_missing_bootstrap_is_explained():
    f = np.zeros(3, bool)
    with pytest.raises(ValueError, match="needs bootstrap_values: some episode is truncated or still running"):
        compute_gae(np.ones(3), np.ones(3), f, f, None, 0.9, 0.9)
    # Nothing to bootstrap when the last step terminates.
    term = np.array([False, False, True])
    assert compute_gae(np.ones(3), np.zeros(3), term, f, None, 1.0, 1.0).tolist() == [3.0, 2.0, 1.0]


def test_row_bootstrap_with_mid_truncation_is_refused():
    trunc = np.array([False, True, False])
    with pytest.raises(ValueError, match=r"step 1 \(before the last row\) is truncated"):
        compute_gae(np.ones(3), np.ones(3), np.zeros(3, bool), trunc, np.float64(1.0), 0.9, 0.9)
