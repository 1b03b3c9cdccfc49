"""Tests for `rlkit.distributions`: one named catalogue of action spaces, checked against
`torch.distributions` (the slow, obvious reference), plus masks, errors and Hypothesis
properties over random nested spaces."""

from __future__ import annotations

import math
import pickle
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
import torch.distributions as td
from gymnasium.spaces import Box, Dict, Discrete, MultiBinary, MultiDiscrete, Space, Text, Tuple
from hypothesis import given, settings
from hypothesis import strategies as st

from rlkit.distributions import (
    Bernoulli,
    Categorical,
    Composite,
    Deterministic,
    DiagGaussian,
    Distribution,
    MultiCategorical,
    get_action_dist_cls,
    required_input_dim,
)

INF = float("inf")

# ------------------------------------------------------------------------------------
# The catalogue: id -> (space, expected input width, expected unbound class)
# ------------------------------------------------------------------------------------
CATALOGUE: dict[str, tuple[Space, int, type[Distribution]]] = {
    "Discrete(2)": (Discrete(2), 2, Categorical),
    "Discrete(5,start=-2)": (Discrete(5, start=-2), 5, Categorical),
    "Discrete(3,int32)": (Discrete(3, dtype=np.int32), 3, Categorical),
    "Box(3,)[-1,1]": (Box(-1.0, 1.0, shape=(3,)), 6, DiagGaussian),
    "Box()scalar[0,2]": (Box(0.0, 2.0, shape=()), 2, DiagGaussian),
    "Box(2,)unbounded": (Box(-INF, INF, shape=(2,)), 4, DiagGaussian),
    "Box(2,3)mixed-bounds": (
        Box(
            low=np.array([[-1.0, 0.0, -INF], [-2.0, -3.0, 0.5]], dtype=np.float32),
            high=np.array([[1.0, 0.5, 0.0], [INF, 3.0, 0.5]], dtype=np.float32),
        ),
        12,
        DiagGaussian,
    ),
    "Box(2,)float64[0,inf)": (Box(0.0, INF, shape=(2,), dtype=np.float64), 4, DiagGaussian),
    "MultiDiscrete([3,2,4],start)": (
        MultiDiscrete([3, 2, 4], start=[0, 1, -1]),
        9,
        MultiCategorical,
    ),
    "MultiDiscrete([[3,3],[3,3]])": (MultiDiscrete([[3, 3], [3, 3]]), 12, MultiCategorical),
    "MultiBinary(4)": (MultiBinary(4), 4, Bernoulli),
    "MultiBinary([2,3])": (MultiBinary([2, 3]), 6, Bernoulli),
    "Tuple(Discrete,Box)": (Tuple((Discrete(3), Box(-1.0, 1.0, shape=(2,)))), 7, Composite),
    "Dict(nested)": (
        Dict(
            {
                "move": Box(-1.0, 1.0, shape=(2,)),
                "arm": Tuple((Discrete(2, start=1), MultiBinary(3))),
                "grip": Dict({"force": MultiDiscrete([2, 3])}),
            }
        ),
        4 + 2 + 3 + 5,
        Composite,
    ),
}
IDS = list(CATALOGUE)
B = 5


def make(
    space: Space, batch: int = B, scale: float = 2.0, seed: int = 0
) -> tuple[torch.Tensor, Distribution]:
    gen = torch.Generator().manual_seed(seed)
    inputs = scale * torch.randn(batch, required_input_dim(space), generator=gen)
    return inputs, get_action_dist_cls(space).from_logits(inputs)


def row(action: Any, i: int) -> Any:
    """Batch row i of a (nested) action as numpy, the form `space.contains` takes."""
    if isinstance(action, tuple):
        return tuple(row(a, i) for a in action)
    if isinstance(action, dict):
        return {k: row(a, i) for k, a in action.items()}
    return action[i].numpy()


def assert_in_space(space: Space, action: Any, batch: int) -> None:
    for i in range(batch):
        assert space.contains(row(action, i)), f"row {i}: {row(action, i)!r} not in {space}"


def leaves(action: Any) -> list[torch.Tensor]:
    """The tensors of a (nested) tuple / dict action, in order."""
    if isinstance(action, dict):
        return [t for a in action.values() for t in leaves(a)]
    if isinstance(action, tuple):
        return [t for a in action for t in leaves(a)]
    return [action]


def assert_same(a: Any, b: Any) -> None:
    if isinstance(a, tuple):
        assert isinstance(b, tuple) and len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            assert_same(x, y)
    elif isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b)
        for k in a:
            assert_same(a[k], b[k])
    else:
        assert a.dtype == b.dtype and torch.equal(a, b)


# ---- the reference: torch.distributions, built the slow, obvious way -----------------
def reference(space: Space, inputs: torch.Tensor) -> Any:
    """torch.distributions objects mirroring rlkit's layout of `inputs` for `space`."""
    batch = inputs.shape[:-1]
    if isinstance(space, Discrete):
        return td.Categorical(logits=inputs)
    if isinstance(space, Box):
        mean, log_std = inputs.chunk(2, -1)
        normal = td.Normal(
            mean.reshape(*batch, *space.shape), log_std.exp().reshape(*batch, *space.shape)
        )
        return td.Independent(normal, len(space.shape))
    if isinstance(space, MultiDiscrete):
        return [td.Categorical(logits=x) for x in inputs.split(space.nvec.reshape(-1).tolist(), -1)]
    if isinstance(space, MultiBinary):
        shape = np.atleast_1d(space.n).tolist()
        return td.Independent(td.Bernoulli(logits=inputs.reshape(*batch, *shape)), len(shape))
    subspaces = list(space.spaces.values()) if isinstance(space, Dict) else list(space.spaces)
    parts = inputs.split([required_input_dim(s) for s in subspaces], -1)
    return [(s, reference(s, x)) for s, x in zip(subspaces, parts, strict=True)]


def ref_logp(space: Space, ref: Any, action: Any) -> torch.Tensor:
    if isinstance(space, Discrete):
        return ref.log_prob(action.long() - int(space.start))
    if isinstance(space, MultiDiscrete):
        idx = action.reshape(action.shape[0], -1).long() - torch.as_tensor(space.start.reshape(-1))
        return sum(c.log_prob(idx[:, j]) for j, c in enumerate(ref))
    if isinstance(space, (Box, MultiBinary)):
        return ref.log_prob(action.to(torch.float32))
    actions = list(action.values()) if isinstance(action, dict) else list(action)
    return sum(ref_logp(s, r, a) for (s, r), a in zip(ref, actions, strict=True))


def ref_entropy(space: Space, ref: Any) -> torch.Tensor:
    if isinstance(space, MultiDiscrete):
        return sum(c.entropy() for c in ref)
    if isinstance(space, (Tuple, Dict)):
        return sum(ref_entropy(s, r) for s, r in ref)
    return ref.entropy()


def ref_kl(space: Space, p: Any, q: Any) -> torch.Tensor:
    if isinstance(space, MultiDiscrete):
        return sum(td.kl_divergence(a, b) for a, b in zip(p, q, strict=True))
    if isinstance(space, (Tuple, Dict)):
        return sum(ref_kl(s, a, b) for (s, a), (_, b) in zip(p, q, strict=True))
    return td.kl_divergence(p, q)


# ------------------------------------------------------------------------------------
# The catalogue, checked
# ------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", IDS)
def test_required_input_dim_and_class(name: str) -> None:
    space, width, kind = CATALOGUE[name]
    cls = get_action_dist_cls(space)
    assert (
        required_input_dim(space)
        == width
        == cls.required_input_dim()
        == kind.required_input_dim(space)
    )
    assert issubclass(cls, kind) and cls.space == space
    assert get_action_dist_cls(space) is cls  # cached per space


@pytest.mark.parametrize("name", IDS)
def test_samples_and_mode_lie_in_the_space(name: str) -> None:
    space = CATALOGUE[name][0]
    _, dist = make(space, batch=64, scale=4.0)  # wide logits: many Box samples get clipped
    for action in (dist.sample(), dist.mode(), dist.to_deterministic().sample()):
        assert_in_space(space, action, 64)


@pytest.mark.parametrize("name", IDS)
def test_logp_and_entropy_match_torch_distributions(name: str) -> None:
    space = CATALOGUE[name][0]
    inputs, dist = make(space)
    ref = reference(space, inputs)
    for action in (dist.sample(), dist.mode()):
        logp = dist.logp(action)
        assert logp.shape == (B,) and torch.isfinite(logp).all()
        torch.testing.assert_close(logp, ref_logp(space, ref, action))
    torch.testing.assert_close(dist.entropy(), ref_entropy(space, ref))
    assert dist.entropy().shape == (B,)


@pytest.mark.parametrize("name", IDS)
def test_kl_matches_torch_and_is_zero_against_itself(name: str) -> None:
    space = CATALOGUE[name][0]
    p_in, p = make(space, seed=1)
    q_in, q = make(space, seed=2)
    torch.testing.assert_close(
        p.kl(q), ref_kl(space, reference(space, p_in), reference(space, q_in))
    )
    assert p.kl(q).shape == (B,) and (p.kl(q) > 0).all()
    torch.testing.assert_close(p.kl(p), torch.zeros(B))


@pytest.mark.parametrize("name", IDS)
def test_deterministic_sample_is_the_mode(name: str) -> None:
    space = CATALOGUE[name][0]
    _, dist = make(space)
    greedy = dist.to_deterministic()
    assert_same(greedy.sample(), dist.mode())
    assert_same(greedy.mode(), dist.mode())
    assert torch.equal(greedy.entropy(), torch.zeros(B))
    assert torch.equal(greedy.kl(greedy), torch.zeros(B))
    assert torch.equal(greedy.logp(dist.mode()), torch.zeros(B))


@pytest.mark.parametrize("name", IDS)
def test_logp_has_gradients_and_samples_do_not(name: str) -> None:
    space = CATALOGUE[name][0]
    inputs = torch.randn(B, required_input_dim(space), requires_grad=True)
    dist = get_action_dist_cls(space).from_logits(inputs)
    action = dist.sample()
    assert not any(a.requires_grad for a in leaves(action))
    (dist.logp(action).sum() + dist.entropy().sum()).backward()
    assert inputs.grad is not None and torch.isfinite(inputs.grad).all()


@pytest.mark.parametrize("name", IDS)
def test_several_batch_dims(name: str) -> None:
    """Inputs (B, T, n), as a recurrent module emits them, give (B, T) results."""
    space = CATALOGUE[name][0]
    dist = get_action_dist_cls(space).from_logits(torch.randn(3, 4, required_input_dim(space)))
    assert dist.batch_shape == (3, 4)
    action = dist.sample()
    for out in (dist.logp(action), dist.entropy(), dist.kl(dist)):
        assert out.shape == (3, 4)


def test_sample_dtypes() -> None:
    expected = {
        "Discrete(2)": torch.int64,
        "Discrete(3,int32)": torch.int32,
        "MultiDiscrete([3,2,4],start)": torch.int64,
        "MultiBinary(4)": torch.int8,
        "Box(3,)[-1,1]": torch.float32,
        "Box(2,)float64[0,inf)": torch.float64,
    }
    for name, dtype in expected.items():
        _, dist = make(CATALOGUE[name][0])
        assert dist.sample().dtype == dist.mode().dtype == dtype, name


def test_summaries() -> None:
    _, cat = make(Discrete(3))
    torch.testing.assert_close(cat.summary()["probs"].sum(-1), torch.ones(B))
    _, md = make(MultiDiscrete([3, 2, 4]))
    assert md.summary()["probs"].shape == (B, 9)
    torch.testing.assert_close(md.summary()["probs"][:, 3:5].sum(-1), torch.ones(B))
    _, mb = make(MultiBinary([2, 3]))
    assert mb.summary()["probs"].shape == (B, 6)
    _, gauss = make(Box(-1.0, 1.0, shape=(2, 3)))
    assert gauss.summary()["mean"].shape == gauss.summary()["std"].shape == (B, 2, 3)
    _, nested = make(CATALOGUE["Dict(nested)"][0])
    shapes = {k: tuple(v.shape) for k, v in nested.summary().items()}
    # Dict sorts its keys: arm, grip, move
    assert shapes == {
        "arm/0/probs": (B, 2),
        "arm/1/probs": (B, 3),
        "grip/force/probs": (B, 5),
        "move/mean": (B, 2),
        "move/std": (B, 2),
    }
    _, tup = make(CATALOGUE["Tuple(Discrete,Box)"][0])
    assert list(tup.summary()) == ["0/probs", "1/mean", "1/std"]
    assert not any(v.requires_grad for v in make(Discrete(3))[1].summary().values())


# ------------------------------------------------------------------------------------
# Behaviour of the individual classes
# ------------------------------------------------------------------------------------
def test_discrete_start_is_added_to_samples_and_removed_in_logp() -> None:
    dist = get_action_dist_cls(Discrete(3, start=10)).from_logits(torch.tensor([[0.0, 0.0, 50.0]]))
    assert dist.sample().item() == dist.mode().item() == 12
    assert dist.logp(torch.tensor([12])).item() == pytest.approx(0.0, abs=1e-6)


def test_categorical_sample_frequencies_match_probs() -> None:
    probs = torch.tensor([0.1, 0.2, 0.7])
    dist = Categorical.from_logits(probs.log().expand(20_000, 3))
    freq = torch.bincount(dist.sample(), minlength=3) / 20_000
    torch.testing.assert_close(freq, probs, atol=0.02, rtol=0)


def test_multi_categorical_and_bernoulli_sample_frequencies() -> None:
    md = MultiCategorical.from_logits(
        torch.tensor([[0.0, math.log(3.0), 0.0, 0.0, 0.0]]).expand(20_000, 5), nvec=[2, 3]
    )
    s = md.sample()
    assert s[:, 0].float().mean().item() == pytest.approx(0.75, abs=0.02)
    torch.testing.assert_close(
        torch.bincount(s[:, 1], minlength=3) / 20_000, torch.full((3,), 1 / 3), atol=0.02, rtol=0
    )
    bern = Bernoulli.from_logits(torch.tensor([[-math.log(3.0), 0.0]]).expand(20_000, 2))
    torch.testing.assert_close(
        bern.sample().float().mean(0), torch.tensor([0.25, 0.5]), atol=0.02, rtol=0
    )


def test_diag_gaussian_samples_have_the_right_moments_and_rsample_has_gradients() -> None:
    inputs = (
        torch.tensor([[1.0, -2.0, math.log(0.5), math.log(2.0)]])
        .expand(20_000, 4)
        .clone()
        .requires_grad_()
    )
    dist = DiagGaussian.from_logits(inputs)  # unbound: no clipping
    s = dist.sample()
    torch.testing.assert_close(s.mean(0), torch.tensor([1.0, -2.0]), atol=0.05, rtol=0)
    torch.testing.assert_close(s.std(0), torch.tensor([0.5, 2.0]), atol=0.05, rtol=0)
    dist.rsample().sum().backward()
    assert inputs.grad is not None and inputs.grad[:, :2].eq(1.0).all()


def test_diag_gaussian_clips_samples_and_mode_to_the_bounds() -> None:
    cls = get_action_dist_cls(
        Box(low=np.array([-1.0, 0.0], np.float32), high=np.array([1.0, 0.25], np.float32))
    )
    dist = cls.from_logits(torch.tensor([[100.0, -100.0, 0.0, 0.0]]))
    assert torch.equal(dist.mode(), torch.tensor([[1.0, 0.0]]))
    assert torch.equal(dist.sample(), torch.tensor([[1.0, 0.0]]))


def test_unbound_classes_work_from_the_input_width() -> None:
    logits = torch.randn(4, 3)
    assert Categorical.from_logits(logits).sample().shape == (4,)
    assert DiagGaussian.from_logits(torch.randn(4, 6)).sample().shape == (4, 3)
    assert Bernoulli.from_logits(logits).sample().shape == (4, 3)
    assert MultiCategorical.from_logits(torch.randn(4, 5), nvec=[2, 3]).sample().shape == (4, 2)
    assert torch.equal(Deterministic.from_logits(logits).sample(), logits)
    assert Categorical.space is None and Categorical.for_space(Discrete(3)).space == Discrete(3)


def test_bound_classes_are_cached_per_space() -> None:
    box = Box(-1.0, 1.0, shape=(2,))
    assert DiagGaussian.for_space(box) is DiagGaussian.for_space(Box(-1.0, 1.0, shape=(2,)))
    assert DiagGaussian.for_space(box) is not DiagGaussian.for_space(Box(-2.0, 1.0, shape=(2,)))
    assert Categorical.for_space(Discrete(3)) is not Categorical.for_space(Discrete(3, start=1))
    bound = Categorical.for_space(Discrete(3))
    assert bound.for_space(Discrete(3)) is bound and bound.required_input_dim(Discrete(7)) == 7
    assert bound.__name__ == "Categorical[Discrete(3)]"
    assert (
        repr(bound.from_logits(torch.zeros(2, 3)))
        == "<Categorical for Discrete(3): batch_shape=(2,)>"
    )


@pytest.mark.parametrize("name", ["Discrete(5,start=-2)", "Box(2,3)mixed-bounds", "Dict(nested)"])
def test_bound_classes_and_distributions_pickle(name: str) -> None:
    space = CATALOGUE[name][0]
    _, dist = make(space)
    cls = type(dist)
    assert pickle.loads(pickle.dumps(cls)) is cls
    assert pickle.loads(pickle.dumps(Categorical)) is Categorical
    copy = pickle.loads(pickle.dumps(dist))
    assert type(copy) is cls
    torch.testing.assert_close(copy.entropy(), dist.entropy())


def test_deterministic_bound_to_a_box_reads_and_clips_the_action() -> None:
    cls = Deterministic.for_space(Box(-1.0, 1.0, shape=(2,)))
    assert cls.required_input_dim() == 2
    dist = cls.from_logits(torch.tensor([[0.5, 3.0]], requires_grad=True))
    assert torch.equal(dist.sample(), torch.tensor([[0.5, 1.0]]))
    assert dist.rsample().requires_grad
    assert torch.equal(dist.logp(torch.tensor([[0.5, 1.0]])), torch.tensor([0.0]))
    assert torch.equal(dist.logp(torch.tensor([[0.5, 0.9]])), torch.tensor([-INF]))
    other = cls.from_logits(torch.tensor([[0.5, 0.0]]))
    assert torch.equal(dist.kl(other), torch.tensor([INF]))


def test_dict_inputs_are_split_in_the_space_key_order() -> None:
    space = Dict({"b": Discrete(2), "a": Discrete(3)})  # gymnasium sorts: a, b
    dist = get_action_dist_cls(space).from_logits(torch.tensor([[0.0, 0.0, 9.0, 9.0, 0.0]]))
    assert list(dist.mode()) == ["a", "b"]
    assert dist.mode()["a"].item() == 2 and dist.mode()["b"].item() == 0


# ------------------------------------------------------------------------------------
# Masks
# ------------------------------------------------------------------------------------
def test_masked_actions_are_never_sampled_and_have_probability_zero() -> None:
    cls = get_action_dist_cls(Discrete(4, start=1))
    logits = torch.tensor([[50.0, 0.0, 50.0, -3.0]]).expand(5_000, 4)
    mask = torch.tensor([[False, True, False, True]]).expand(5_000, 4)
    dist = cls.from_logits(logits, mask=mask)
    for _ in range(4):
        assert set(dist.sample().unique().tolist()) <= {2, 4}
    assert (dist.probs[~mask] == 0).all() and (dist.logp(torch.full((5_000,), 1)).exp() == 0).all()
    assert set(dist.mode().unique().tolist()) == {2}
    assert torch.isfinite(dist.entropy()).all() and torch.isfinite(dist.kl(dist)).all()
    ref = td.Categorical(logits=logits.masked_fill(~mask, -INF))
    torch.testing.assert_close(dist.entropy(), ref.entropy())
    torch.testing.assert_close(dist.kl(dist), torch.zeros(5_000))


def test_masks_may_be_0_1_integers_or_numpy() -> None:
    logits = torch.zeros(2, 3)
    as_bool = Categorical.from_logits(logits, mask=torch.tensor([[1, 0, 1], [0, 1, 0]]).bool())
    for mask in (
        torch.tensor([[1, 0, 1], [0, 1, 0]]),
        np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]]),
    ):
        torch.testing.assert_close(Categorical.from_logits(logits, mask=mask).probs, as_bool.probs)


def test_user_supplied_minus_inf_logits_keep_entropy_finite() -> None:
    dist = Categorical.from_logits(torch.tensor([[0.0, -INF, 0.0]]))
    assert torch.isfinite(dist.entropy()).all() and torch.isfinite(dist.kl(dist)).all()


def test_multi_categorical_mask() -> None:
    cls = get_action_dist_cls(MultiDiscrete([2, 3]))
    mask = torch.tensor([[True, False, False, False, True]]).expand(2_000, 5)
    dist = cls.from_logits(torch.randn(2_000, 5), mask=mask)
    assert (dist.sample() == torch.tensor([0, 2])).all()
    assert (dist.summary()["probs"][~mask] == 0).all()
    assert torch.isfinite(dist.entropy()).all()
    torch.testing.assert_close(dist.entropy(), torch.zeros(2_000))


# ------------------------------------------------------------------------------------
# Errors, each message pinned
# ------------------------------------------------------------------------------------
def _dist(name: str) -> Distribution:
    return make(CATALOGUE[name][0])[1]


def _tuple_dist() -> Distribution:
    return _dist("Tuple(Discrete,Box)")


_BOX2 = Box(-1.0, 1.0, shape=(2,))
_TUPLE_REPR = "Tuple(Discrete(3), Box(-1.0, 1.0, (2,), float32))"
_SUPPORTED = (
    ". Supported action spaces: Discrete, Box, MultiDiscrete, MultiBinary, Dict, Tuple "
    "(Box with a floating-point dtype; Dict and Tuple may nest the others)."
)

# id -> (call that must fail, exception type, exact start of the message)
ERRORS: dict[str, tuple[Callable[[], object], type[Exception], str]] = {
    # ---- inputs
    "width/bound": (
        lambda: get_action_dist_cls(Discrete(2)).from_logits(torch.zeros(1, 3)),
        ValueError,
        "Categorical for Discrete(2) expects inputs of shape (B, 2), got (1, 3).",
    ),
    "width/1-D": (
        lambda: get_action_dist_cls(Box(-1.0, 1.0, shape=(3,))).from_logits(torch.zeros(6)),
        ValueError,
        "DiagGaussian for Box(-1.0, 1.0, (3,), float32) expects inputs of shape (B, 6), got (6,).",
    ),
    "width/composite": (
        lambda: get_action_dist_cls(CATALOGUE["Tuple(Discrete,Box)"][0]).from_logits(
            torch.zeros(2, 6)
        ),
        ValueError,
        f"Composite for {_TUPLE_REPR} expects inputs of shape (B, 7), got (2, 6).",
    ),
    "width/unbound-categorical": (
        lambda: Categorical.from_logits(torch.zeros(3)),
        ValueError,
        "Categorical expects inputs of shape (B, n), got (3,).",
    ),
    "width/unbound-gaussian-odd": (
        lambda: DiagGaussian.from_logits(torch.zeros(1, 3)),
        ValueError,
        "DiagGaussian expects inputs of shape (B, 2 * d) (mean then log_std), got (1, 3).",
    ),
    "width/unbound-bernoulli": (
        lambda: Bernoulli.from_logits(torch.zeros(3)),
        ValueError,
        "Bernoulli expects inputs of shape (B, n), got (3,).",
    ),
    "width/unbound-deterministic": (
        lambda: Deterministic.from_logits(torch.zeros(3)),
        ValueError,
        "Deterministic expects inputs of shape (B, d), got (3,).",
    ),
    "inputs/int-dtype": (
        lambda: get_action_dist_cls(Discrete(2)).from_logits(torch.zeros(1, 2, dtype=torch.int64)),
        ValueError,
        "Categorical for Discrete(2) expects floating-point inputs, got dtype torch.int64.",
    ),
    "inputs/numpy": (
        lambda: get_action_dist_cls(Discrete(2)).from_logits(np.zeros((1, 2), np.float32)),
        TypeError,
        "Categorical for Discrete(2) expects inputs as a torch.Tensor of shape (B, 2), "
        "got ndarray.",
    ),
    # ---- rsample
    "rsample/categorical": (
        lambda: _dist("Discrete(2)").rsample(),
        NotImplementedError,
        "Categorical for Discrete(2) is not reparameterisable: rsample() needs a continuous "
        "distribution such as DiagGaussian.",
    ),
    "rsample/multi-categorical": (
        lambda: _dist("MultiDiscrete([3,2,4],start)").rsample(),
        NotImplementedError,
        "MultiCategorical for MultiDiscrete([3 2 4], start=[ 0  1 -1]) is not reparameterisable",
    ),
    "rsample/bernoulli": (
        lambda: _dist("MultiBinary(4)").rsample(),
        NotImplementedError,
        "Bernoulli for MultiBinary(4) is not reparameterisable",
    ),
    "rsample/composite-names-the-component": (
        lambda: _dist("Dict(nested)").rsample(),
        NotImplementedError,
        "Component 'arm': Component '0': Categorical for Discrete(2, start=1) is not "
        "reparameterisable",
    ),
    # ---- kl
    "kl/different-classes": (
        lambda: _dist("Discrete(2)").kl(_dist("Box(3,)[-1,1]")),
        TypeError,
        "Categorical.kl() needs another Categorical, got DiagGaussian",
    ),
    "kl/categorical-shapes": (
        lambda: _dist("Discrete(2)").kl(make(Discrete(3))[1]),
        ValueError,
        "Categorical.kl() needs logits of the same shape, got (5, 2) and (5, 3).",
    ),
    "kl/gaussian-shapes": (
        lambda: make(Box(-1.0, 1.0, shape=(1,)))[1].kl(make(_BOX2)[1]),
        ValueError,
        "DiagGaussian.kl() needs means of the same shape, got (5, 1) and (5, 2).",
    ),
    "kl/bernoulli-shapes": (
        lambda: _dist("MultiBinary(4)").kl(_dist("MultiBinary([2,3])")),
        ValueError,
        "Bernoulli.kl() needs logits of the same shape, got (5, 4) and (5, 2, 3).",
    ),
    "kl/multi-categorical-components": (
        lambda: make(MultiDiscrete([2, 3]))[1].kl(make(MultiDiscrete([2, 3, 4]))[1]),
        ValueError,
        "MultiCategorical.kl() needs the same components, got MultiCategorical for "
        "MultiDiscrete([2 3]) and MultiCategorical for MultiDiscrete([2 3 4]).",
    ),
    "kl/composite-components": (
        lambda: make(Tuple((Discrete(2), Discrete(2))))[1].kl(make(Dict({"a": Discrete(2)}))[1]),
        ValueError,
        "Composite.kl() needs the same components, got ['0', '1'] and ['a'].",
    ),
    "kl/deterministic-shapes": (
        lambda: _dist("Discrete(2)").to_deterministic().kl(make(_BOX2)[1].to_deterministic()),
        ValueError,
        "Deterministic.kl() needs values of the same shape, got (5,) and (5, 2).",
    ),
    # ---- logp
    "logp/categorical": (
        lambda: _dist("Discrete(2)").logp(torch.zeros(5, 1, dtype=torch.int64)),
        ValueError,
        "Categorical for Discrete(2).logp() expects actions of shape (5,), got (5, 1).",
    ),
    "logp/gaussian": (
        lambda: make(_BOX2)[1].logp(torch.zeros(5)),
        ValueError,
        "DiagGaussian for Box(-1.0, 1.0, (2,), float32).logp() expects actions of shape (5, 2), "
        "got (5,).",
    ),
    "logp/multi-categorical": (
        lambda: make(MultiDiscrete([2, 3]))[1].logp(torch.zeros(5, 3, dtype=torch.int64)),
        ValueError,
        "MultiCategorical for MultiDiscrete([2 3]).logp() expects actions of shape (5, 2), "
        "got (5, 3).",
    ),
    "logp/bernoulli": (
        lambda: make(MultiBinary(3))[1].logp(torch.zeros(5, 2)),
        ValueError,
        "Bernoulli for MultiBinary(3).logp() expects actions of shape (5, 3), got (5, 2).",
    ),
    "logp/deterministic": (
        lambda: _dist("Discrete(2)").to_deterministic().logp(torch.zeros(4)),
        ValueError,
        "Deterministic.logp() expects actions of shape (5,), got (4,).",
    ),
    "logp/tuple-length": (
        lambda: _tuple_dist().logp((torch.zeros(5),)),
        ValueError,
        f"Composite for {_TUPLE_REPR}.logp() expects a tuple of 2 action tensors, "
        "got a tuple of length 1.",
    ),
    "logp/dict-keys": (
        lambda: _dist("Dict(nested)").logp({"arm": None}),
        ValueError,
        f"Composite for {CATALOGUE['Dict(nested)'][0]!r}.logp() expects a dict of action tensors "
        "with keys ['arm', 'grip', 'move'], got a dict with keys ['arm'].",
    ),
    # ---- masks
    "mask/shape": (
        lambda: get_action_dist_cls(Discrete(3)).from_logits(
            torch.zeros(2, 3), mask=torch.ones(3, dtype=torch.bool)
        ),
        ValueError,
        "Categorical for Discrete(3) expects a mask of the same shape as its inputs (2, 3) "
        "(True = allowed), got (3,).",
    ),
    "mask/all-false-row": (
        lambda: get_action_dist_cls(Discrete(3)).from_logits(
            torch.zeros(2, 3), mask=torch.tensor([[1, 0, 0], [0, 0, 0]])
        ),
        ValueError,
        "Categorical for Discrete(3): the mask allows no action at all in row(s) [[1]] "
        "(index into the batch); every row needs at least one True. Most likely the "
        "environment returned an all-False action mask.",
    ),
    "mask/all-false-component": (
        lambda: get_action_dist_cls(MultiDiscrete([2, 3])).from_logits(
            torch.zeros(1, 5), mask=torch.tensor([[1, 1, 0, 0, 0]])
        ),
        ValueError,
        "MultiCategorical for MultiDiscrete([2 3]): the mask allows no action at all in "
        "row(s) [[0, 1]] (index into the batch and component)",
    ),
    # ---- unsupported spaces
    "space/text": (
        lambda: get_action_dist_cls(Text(8)),
        ValueError,
        f"No action distribution for {Text(8)!r}: Text is not a supported action space"
        + _SUPPORTED,
    ),
    "space/int-box": (
        lambda: get_action_dist_cls(Box(0, 5, shape=(2,), dtype=np.int64)),
        ValueError,
        "No action distribution for Box(0, 5, (2,), int64): its dtype int64 is not "
        "floating-point (use Discrete or MultiDiscrete for integer actions)" + _SUPPORTED,
    ),
    "space/nested-text": (
        lambda: required_input_dim(Dict({"a": Tuple((Discrete(2), Text(4)))})),
        ValueError,
        f"No action distribution for {Text(4)!r} (component 'a/1' of "
        f"{Dict({'a': Tuple((Discrete(2), Text(4)))})!r}): Text is not a supported action space",
    ),
    "space/empty-tuple": (
        lambda: get_action_dist_cls(Tuple(())),
        ValueError,
        "No action distribution for Tuple(): it has no components" + _SUPPORTED,
    ),
    # ---- binding and construction
    "bind/categorical": (
        lambda: Categorical.for_space(_BOX2),
        ValueError,
        "Categorical needs a Discrete action space, got Box(-1.0, 1.0, (2,), float32).",
    ),
    "bind/gaussian": (
        lambda: DiagGaussian.for_space(Discrete(2)),
        ValueError,
        "DiagGaussian needs a Box action space with a floating-point dtype, got Discrete(2).",
    ),
    "bind/deterministic": (
        lambda: Deterministic.for_space(Discrete(2)),
        ValueError,
        "Deterministic needs a Box action space with a floating-point dtype, got Discrete(2).",
    ),
    "bind/multi-categorical": (
        lambda: MultiCategorical.for_space(Discrete(2)),
        ValueError,
        "MultiCategorical needs a MultiDiscrete action space, got Discrete(2).",
    ),
    "bind/bernoulli": (
        lambda: Bernoulli.for_space(Discrete(2)),
        ValueError,
        "Bernoulli needs a MultiBinary action space, got Discrete(2).",
    ),
    "bind/composite": (
        lambda: Composite.for_space(Discrete(2)),
        ValueError,
        "Composite needs a Tuple or Dict action space, got Discrete(2).",
    ),
    "required_input_dim/unbound-without-space": (
        lambda: Categorical.required_input_dim(),
        ValueError,
        "Categorical.required_input_dim() needs an action space, e.g. "
        "Categorical.required_input_dim(space), or call it on a bound class "
        "(Categorical.for_space(space)).",
    ),
    "from_logits/multi-categorical-without-nvec": (
        lambda: MultiCategorical.from_logits(torch.zeros(1, 5)),
        ValueError,
        "MultiCategorical.from_logits() needs the component sizes: pass nvec=[...], or bind it "
        "first with MultiCategorical.for_space(MultiDiscrete(nvec)).",
    ),
    "from_logits/unbound-composite": (
        lambda: Composite.from_logits(torch.zeros(1, 5)),
        ValueError,
        "Composite.from_logits() needs to know its action space: use "
        "get_action_dist_cls(space).from_logits(inputs) or "
        "Composite.for_space(space).from_logits(inputs).",
    ),
}


@pytest.mark.parametrize("name", list(ERRORS))
def test_error_messages(name: str) -> None:
    call, error, message = ERRORS[name]
    with pytest.raises(error, match=re.escape(message)):
        call()


# ------------------------------------------------------------------------------------
# Properties over random spaces and random logits (Hypothesis)
# ------------------------------------------------------------------------------------
def _box(draw: Any) -> Box:
    shape = tuple(draw(st.lists(st.integers(1, 3), min_size=1, max_size=2)))
    kind = draw(st.sampled_from(["bounded", "unbounded", "half"]))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    if kind == "unbounded":
        return Box(-INF, INF, shape=shape, dtype=dtype)
    low = np.array(
        draw(st.lists(st.floats(-5, 5), min_size=math.prod(shape), max_size=math.prod(shape)))
    ).reshape(shape)
    width = np.array(draw(st.lists(st.floats(0, 5), min_size=low.size, max_size=low.size))).reshape(
        shape
    )
    high = np.full(shape, INF) if kind == "half" else low + width
    return Box(low.astype(dtype), high.astype(dtype), dtype=dtype)


leaf_spaces = st.one_of(
    st.builds(Discrete, st.integers(1, 5), start=st.integers(-3, 3)),
    st.composite(lambda draw: _box(draw))(),
    st.builds(
        lambda nvec, start: MultiDiscrete(nvec, start=[start] * len(nvec)),
        st.lists(st.integers(1, 4), min_size=1, max_size=3),
        st.integers(-2, 2),
    ),
    st.builds(
        MultiBinary,
        st.one_of(st.integers(1, 4), st.lists(st.integers(1, 3), min_size=2, max_size=2)),
    ),
)
action_spaces = st.recursive(
    leaf_spaces,
    lambda children: st.one_of(
        st.lists(children, min_size=1, max_size=3).map(lambda s: Tuple(tuple(s))),
        st.dictionaries(
            st.sampled_from(["a", "b", "move", "fire"]), children, min_size=1, max_size=3
        ).map(Dict),
    ),
    max_leaves=5,
)


@st.composite
def spaces_and_inputs(draw: Any) -> tuple[Space, torch.Tensor]:
    space = draw(action_spaces)
    batch = draw(st.integers(1, 4))
    width = required_input_dim(space)
    values = draw(
        st.lists(st.floats(-8, 8, width=32), min_size=batch * width, max_size=batch * width)
    )
    return space, torch.tensor(values, dtype=torch.float32).reshape(batch, width)


@settings(max_examples=50, deadline=None)
@given(spaces_and_inputs())
def test_property_samples_in_space_finite_logp_zero_self_kl(
    case: tuple[Space, torch.Tensor],
) -> None:
    space, inputs = case
    dist = get_action_dist_cls(space).from_logits(inputs)
    batch = inputs.shape[0]
    for action in (dist.sample(), dist.mode()):
        assert_in_space(space, action, batch)
        logp = dist.logp(action)
        assert logp.shape == (batch,) and torch.isfinite(logp).all()
    assert torch.isfinite(dist.entropy()).all()
    torch.testing.assert_close(dist.kl(dist), torch.zeros(batch))
    assert_same(dist.to_deterministic().sample(), dist.mode())
    ref = reference(space, inputs)
    torch.testing.assert_close(dist.entropy(), ref_entropy(space, ref), rtol=1e-4, atol=1e-4)


@settings(max_examples=50, deadline=None)
@given(
    st.integers(1, 6).flatmap(
        lambda n: st.tuples(
            st.lists(st.floats(-30, 30, width=32), min_size=n, max_size=n),
            st.lists(st.booleans(), min_size=n, max_size=n).filter(any),
        )
    )
)
def test_property_masked_actions_never_sampled(case: tuple[list[float], list[bool]]) -> None:
    logits, allowed = case
    n = len(logits)
    mask = torch.tensor(allowed).expand(200, n)
    dist = Categorical.from_logits(torch.tensor(logits).expand(200, n), mask=mask)
    assert mask.gather(-1, dist.sample().unsqueeze(-1)).all()
    assert mask.gather(-1, dist.mode().unsqueeze(-1)).all()
    assert (dist.probs[~mask] == 0).all()
    assert torch.isfinite(dist.entropy()).all() and torch.isfinite(dist.kl(dist)).all()
