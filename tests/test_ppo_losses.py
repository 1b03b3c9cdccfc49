"""PPO's loss functions against slow, obvious references; one learner update on a fixed batch."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from torch import nn

from rlkit import Columns, MultiRLModule, RLModule
from rlkit.algorithms import PPOConfig
from rlkit.algorithms.ppo_learner import (
    PPOLearner,
    clipped_surrogate_loss,
    explained_variance,
    masked_mean,
    normalize_advantages,
    value_function_loss,
)
from rlkit.rollouts.gae import compute_gae

floats = st.floats(-5, 5, allow_nan=False, width=32)


def batch_arrays(n):
    return arrays(np.float32, n, elements=floats)


# ---------------------------------------------------------------- slow references


def slow_surrogate(logp, logp_old, adv, eps, mask=None):
    total, count = 0.0, 0.0
    for i in range(len(logp)):
        w = 1.0 if mask is None else float(mask[i])
        r = math.exp(float(logp[i]) - float(logp_old[i]))
        r_clipped = min(max(r, 1 - eps), 1 + eps)
        total += w * min(r * float(adv[i]), r_clipped * float(adv[i]))
        count += w
    return -total / max(count, 1.0)


def slow_value_loss(v, target, clip, mask=None):
    total, count = 0.0, 0.0
    for i in range(len(v)):
        w = 1.0 if mask is None else float(mask[i])
        err = (float(v[i]) - float(target[i])) ** 2
        total += w * (err if clip is None else min(err, clip))
        count += w
    return total / max(count, 1.0)


def slow_gae(rewards, values, dones, last_value, gamma, lam):
    """The plain reversed loop, one stream, every episode end terminal."""
    adv = [0.0] * len(rewards)
    running = 0.0
    for t in reversed(range(len(rewards))):
        next_value = last_value if t == len(rewards) - 1 else values[t + 1]
        if dones[t]:
            next_value, running = 0.0, 0.0
        delta = rewards[t] + gamma * next_value - values[t]
        running = delta + gamma * lam * running
        adv[t] = running
    return np.array(adv)


# ---------------------------------------------------------------- properties


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 12).flatmap(lambda n: st.tuples(batch_arrays(n), batch_arrays(n), batch_arrays(n),
                                                       arrays(np.bool_, n))),
       st.floats(0.05, 0.5))
def test_clipped_surrogate_matches_slow_reference(data, eps):
    logp, logp_old, adv, mask = data
    logp, logp_old = logp / 5, logp_old / 5  # ratios up to e^2: inside and outside the clip
    got, ratio = clipped_surrogate_loss(torch.tensor(logp), torch.tensor(logp_old), torch.tensor(adv), eps)
    assert got.item() == pytest.approx(slow_surrogate(logp, logp_old, adv, eps), rel=1e-4, abs=1e-4)
    np.testing.assert_allclose(ratio.numpy(), np.exp(logp - logp_old), rtol=1e-5)
    m = torch.tensor(mask, dtype=torch.float32)
    got_masked, _ = clipped_surrogate_loss(torch.tensor(logp), torch.tensor(logp_old), torch.tensor(adv), eps, m)
    assert got_masked.item() == pytest.approx(slow_surrogate(logp, logp_old, adv, eps, mask), rel=1e-4, abs=1e-4)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 12).flatmap(lambda n: st.tuples(batch_arrays(n), batch_arrays(n), arrays(np.bool_, n))),
       st.one_of(st.none(), st.floats(0.1, 10)))
def test_value_loss_matches_slow_reference(data, clip):
    v, target, mask = data
    got, unclipped = value_function_loss(torch.tensor(v), torch.tensor(target), clip)
    assert got.item() == pytest.approx(slow_value_loss(v, target, clip), rel=1e-4, abs=1e-4)
    assert unclipped.item() == pytest.approx(slow_value_loss(v, target, None), rel=1e-4, abs=1e-4)
    m = torch.tensor(mask, dtype=torch.float32)
    got_masked, _ = value_function_loss(torch.tensor(v), torch.tensor(target), clip, m)
    assert got_masked.item() == pytest.approx(slow_value_loss(v, target, clip, mask), rel=1e-4, abs=1e-4)


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 30).flatmap(lambda n: st.tuples(batch_arrays(n), batch_arrays(n), arrays(np.bool_, n))),
       st.floats(0.0, 1.0), st.floats(0.0, 1.0))
def test_gae_used_by_the_learner_matches_the_reversed_loop(data, gamma, lam):
    rewards, values, dones = data
    last = 0.7
    got = compute_gae(rewards.astype(np.float64), values.astype(np.float64), dones, np.zeros_like(dones),
                      np.full(len(rewards), last), gamma=gamma, lambda_=lam)
    np.testing.assert_allclose(got, slow_gae(rewards, values, dones, last, gamma, lam), rtol=1e-5, atol=1e-4)


def test_masked_statistics_ignore_padding():
    x = torch.tensor([[1.0, 3.0, 100.0], [5.0, -50.0, 7.0]])
    mask = torch.tensor([[1.0, 1.0, 0.0], [1.0, 0.0, 1.0]])
    assert masked_mean(x, mask).item() == pytest.approx(4.0)
    normed = normalize_advantages(x, mask)
    real = normed[mask.bool()]
    assert real.mean().item() == pytest.approx(0.0, abs=1e-6)
    assert real.std(correction=0).item() == pytest.approx(1.0, abs=1e-5)


def test_explained_variance_perfect_constant_and_flat_targets():
    target = torch.tensor([1.0, 2.0, 3.0, 4.0])
    assert explained_variance(target, target).item() == pytest.approx(1.0)
    assert explained_variance(torch.full((4,), 2.5), target).item() == pytest.approx(0.0)
    assert math.isnan(explained_variance(target, torch.ones(4)).item())


def test_clipping_stops_the_gradient_outside_the_trust_region():
    logp = torch.tensor([math.log(2.0)], requires_grad=True)  # ratio 2 > 1 + eps, A > 0
    loss, _ = clipped_surrogate_loss(logp, torch.zeros(1), torch.ones(1), clip_param=0.2)
    loss.backward()
    assert logp.grad.item() == 0.0
    logp2 = torch.tensor([math.log(2.0)], requires_grad=True)  # ratio 2, A < 0: pessimistic side, not clipped
    loss2, _ = clipped_surrogate_loss(logp2, torch.zeros(1), -torch.ones(1), clip_param=0.2)
    loss2.backward()
    assert logp2.grad.item() == pytest.approx(2.0)


# ---------------------------------------------------------------- one learner update


class TinyActorCritic(RLModule):
    def setup(self):
        self.pi = nn.Sequential(nn.Linear(4, 32), nn.Tanh(), nn.Linear(32, self.action_space.n))
        self.vf = nn.Sequential(nn.Linear(4, 32), nn.Tanh(), nn.Linear(32, 1))

    def _forward(self, batch, **kwargs):
        obs = batch[Columns.OBS]
        return {Columns.ACTION_DIST_INPUTS: self.pi(obs), Columns.VF_PREDS: self.vf(obs).squeeze(-1)}


def fixed_batch(module, n=256, seed=0):
    g = torch.Generator().manual_seed(seed)
    obs = torch.randn(n, 4, generator=g)
    out = module.forward_exploration({Columns.OBS: obs})
    dist = module.get_exploration_action_dist_cls().from_logits(out[Columns.ACTION_DIST_INPUTS])
    actions = dist.sample()
    adv = torch.randn(n, generator=g)
    return {
        Columns.OBS: obs,
        Columns.ACTIONS: actions,
        Columns.ACTION_LOGP: dist.logp(actions),
        Columns.ACTION_DIST_INPUTS: out[Columns.ACTION_DIST_INPUTS],
        Columns.VF_PREDS: out[Columns.VF_PREDS],
        Columns.ADVANTAGES: adv,
        Columns.VALUE_TARGETS: out[Columns.VF_PREDS] + adv,
    }


def surrogate_and_value(module, batch):
    out = module.forward_train(batch)
    dist = module.get_train_action_dist_cls().from_logits(out[Columns.ACTION_DIST_INPUTS])
    adv = normalize_advantages(batch[Columns.ADVANTAGES])
    surrogate, _ = clipped_surrogate_loss(dist.logp(batch[Columns.ACTIONS]), batch[Columns.ACTION_LOGP], adv, 0.2)
    vf, _ = value_function_loss(out[Columns.VF_PREDS], batch[Columns.VALUE_TARGETS])
    return surrogate.item(), vf.item()


def test_one_update_on_a_fixed_batch_decreases_the_surrogate_and_value_loss():
    torch.manual_seed(0)
    space = dict(observation_space=gym.spaces.Box(-5, 5, (4,)), action_space=gym.spaces.Discrete(3))
    module = TinyActorCritic(**space)
    batch = fixed_batch(module)
    before = surrogate_and_value(module, batch)
    config = PPOConfig().training(num_epochs=4, minibatch_size=64, lr=3e-3)
    learner = PPOLearner(MultiRLModule({"p": module}), config)
    metrics = learner.update({"p": batch})
    after = surrogate_and_value(module, batch)
    assert after[0] < before[0] - 0.01, (before, after)
    assert after[1] < before[1], (before, after)
    m = metrics["p"]
    for key in ("policy_loss", "vf_loss", "entropy", "kl", "clip_fraction", "vf_explained_var", "grad_norm", "total_loss"):
        assert np.isfinite(m[key]), key
    assert m["num_minibatch_updates"] == 4 * 4
    assert m["kl"] > 0 and 0 <= m["clip_fraction"] <= 1


def test_shared_parameters_are_stepped_once_with_the_summed_gradient():
    torch.manual_seed(1)
    space = dict(observation_space=gym.spaces.Box(-5, 5, (4,)), action_space=gym.spaces.Discrete(2))
    shared = TinyActorCritic(**space)
    other = TinyActorCritic(**space)
    other.pi[0] = shared.pi[0]  # "other" shares the first policy layer with "shared"
    multi = MultiRLModule({"a": shared, "b": shared, "c": other})  # a and b: the same torch module
    learner = PPOLearner(multi, PPOConfig())
    assert sorted(learner.optimizers) == ["a", "c"]  # b owns nothing new
    a_ids = {id(p) for p in learner.params["a"]}
    c_ids = {id(p) for p in learner.params["c"]}
    assert not a_ids & c_ids
    assert id(shared.pi[0].weight) in a_ids and id(other.pi[2].weight) in c_ids
    all_params = {id(p) for m in (shared, other) for p in m.parameters()}
    assert a_ids | c_ids == all_params

    # One full-batch step: the shared layer's gradient is the sum of the three modules' gradients.
    batches = {mid: fixed_batch(multi[mid], n=64, seed=i) for i, mid in enumerate(["a", "b", "c"])}
    config = PPOConfig().training(num_epochs=1, minibatch_size=None, grad_clip=None, lr=1e-2)
    learner = PPOLearner(multi, config)
    expected = torch.zeros_like(shared.pi[0].weight)
    for mid, b in batches.items():
        loss, _ = learner.compute_loss_for_module(mid, b, multi[mid].forward_train(b), 0.0)
        expected += torch.autograd.grad(loss, shared.pi[0].weight)[0]
    w0 = shared.pi[0].weight.detach().clone()
    learner.update(batches)
    torch.testing.assert_close(shared.pi[0].weight.grad, expected, rtol=1e-4, atol=1e-6)
    assert not torch.equal(w0, shared.pi[0].weight)


# ---------------------------------------------------------------- optimiser and clipping


def test_adam_matches_torch_adam_step_for_step():
    from rlkit.algorithms.optim import Adam, clip_grad_norm

    torch.manual_seed(0)
    a, b = nn.Linear(5, 3), nn.Linear(5, 3)
    b.load_state_dict(a.state_dict())
    mine = Adam(a.parameters(), lr=1e-2, eps=1e-5)
    ref = torch.optim.Adam(b.parameters(), lr=1e-2, eps=1e-5)
    for step in range(5):
        x = torch.randn(8, 5)
        for net in (a, b):
            net.zero_grad()
            net(x).pow(2).sum().backward()
        norm = clip_grad_norm(list(a.parameters()), 0.3)
        ref_norm = nn.utils.clip_grad_norm_(b.parameters(), 0.3)
        torch.testing.assert_close(norm, ref_norm)
        mine.step()
        ref.step()
        for p, q in zip(a.parameters(), b.parameters()):
            torch.testing.assert_close(p, q, rtol=1e-6, atol=1e-7)
    # the state round-trips and refuses another architecture
    state = mine.state_dict()
    fresh = Adam(nn.Linear(5, 3).parameters())
    fresh.load_state_dict(state)
    assert fresh.steps == [5, 5] and torch.equal(fresh.exp_avg[0], mine.exp_avg[0])
    with pytest.raises(ValueError, match="saved for another architecture"):
        Adam(nn.Linear(4, 3).parameters()).load_state_dict(state)


# ---------------------------------------------------------------- recurrent sequences


def slow_sequences(eps, t, values, L):
    """Plain loops: group rows by episode, sort by t, split at gaps and every L steps."""
    seqs = []
    for e in sorted(set(eps.tolist())):
        rows = sorted((int(t[i]), i) for i in range(len(eps)) if eps[i] == e)
        current, last_t = [], None
        for tt, i in rows:
            if current and (len(current) == L or tt != last_t + 1):
                seqs.append(current)
                current = []
            current.append(i)
            last_t = tt
        seqs.append(current)
    return [[values[i] for i in s] for s in seqs]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(1, 9)), min_size=1, max_size=6), st.integers(1, 5),
       st.randoms(use_true_random=False))
def test_sequences_match_the_slow_reference(episodes, L, rnd):
    from rlkit.algorithms.ppo_batch import to_sequences

    eps, t = [], []
    for e, (gap_at, length) in enumerate(episodes):
        steps = [s for s in range(length + 1) if s != gap_at]  # one missing step: a cut inside the episode
        eps += [e] * len(steps)
        t += steps
    order = list(range(len(eps)))
    rnd.shuffle(order)  # rows may come in any order
    eps, t = np.array(eps)[order], np.array(t)[order]
    values = np.arange(len(eps), dtype=np.float32) * 10
    state = {"h": np.stack([values, -values], axis=1)}
    rollout = {Columns.EPS_ID: eps, Columns.T: t, Columns.STATE_IN: state}
    seqs = to_sequences(rollout, {Columns.ADVANTAGES: values}, L)
    expected = slow_sequences(eps, t, values, L)
    mask = seqs[Columns.LOSS_MASK]
    assert mask.shape == (len(expected), L)
    got = [seqs[Columns.ADVANTAGES][i][mask[i] > 0].tolist() for i in range(len(mask))]
    assert sorted(got) == sorted(expected)
    for i in range(len(mask)):  # each sequence starts from the state recorded at its first step
        first = seqs[Columns.ADVANTAGES][i][0]
        np.testing.assert_array_equal(seqs[Columns.STATE_IN]["h"][i], [first, -first])
        assert mask[i][: int(mask[i].sum())].all() and seqs[Columns.SEQ_LENS][i] == mask[i].sum()


def test_algorithm_docstring_examples_run():
    import doctest
    import importlib

    for name in ("ppo_config", "ppo_learner", "optim", "state_tree", "env_state", "metrics", "fit", "ppo"):
        module = importlib.import_module(f"rlkit.algorithms.{name}")
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.failed == 0, name


def test_a_non_finite_gradient_skips_the_step_instead_of_poisoning_the_weights():
    torch.manual_seed(0)
    space = dict(observation_space=gym.spaces.Box(-5, 5, (4,)), action_space=gym.spaces.Discrete(2))
    module = TinyActorCritic(**space)
    batch = fixed_batch(module, n=32)
    batch[Columns.VALUE_TARGETS] = batch[Columns.VALUE_TARGETS].clone()
    batch[Columns.VALUE_TARGETS][0] = float("inf")
    learner = PPOLearner(MultiRLModule({"p": module}), PPOConfig().training(num_epochs=2, minibatch_size=None))
    before = {k: v.clone() for k, v in module.state_dict().items()}
    with pytest.warns(RuntimeWarning, match="skipped an update of module 'p': its gradient was inf or NaN"):
        metrics = learner.update({"p": batch})
    assert metrics["p"]["num_skipped_updates"] == 2
    assert all(torch.equal(before[k], v) for k, v in module.state_dict().items())


def test_huge_ratios_stay_finite():
    loss, ratio = clipped_surrogate_loss(torch.tensor([500.0]), torch.tensor([0.0]), torch.tensor([-1.0]), 0.2)
    assert torch.isfinite(loss) and torch.isfinite(ratio)
