"""Building blocks: encoders and heads, their shapes, output_dim, reprs and errors."""

from __future__ import annotations

import re

import gymnasium as gym
import numpy as np
import pytest
import torch
from space_catalogue import IMAGE_OBSERVATION_SPACES, OBSERVATION_SPACES

from rlkit.distributions import required_input_dim
from rlkit.models import (
    CNNEncoder,
    CompositeEncoder,
    EncoderStack,
    FlattenEncoder,
    GRUEncoder,
    LSTMEncoder,
    MLPEncoder,
    ModelConfigError,
    OneHotEncoder,
    PolicyHead,
    QHead,
    ValueHead,
    build_encoder,
    build_space_encoder,
    default_conv_filters,
)
from rlkit.models.encoders import image_layout
from rlkit.spaces import obs_to_tensor, sample_obs_batch


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    # Tiny matrices: torch's thread pool only adds contention on a shared machine.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# ----------------------------------------------------------------------------- catalog


@pytest.mark.parametrize("space", OBSERVATION_SPACES.values(), ids=OBSERVATION_SPACES.keys())
@pytest.mark.parametrize("time_dim", [False, True], ids=["B", "BxT"])
def test_default_encoder_shapes_for_every_space(space, time_dim):
    enc = build_encoder(space, {"fcnet_hiddens": [16]})
    obs = obs_to_tensor(sample_obs_batch(space, 6, seed=1), space)
    if time_dim:  # (6, ...) -> (2, 3, ...): encoders accept any leading batch dims
        obs = _reshape_lead(obs, (2, 3))
    out = enc(obs)
    assert out.shape == ((2, 3, 16) if time_dim else (6, 16))
    assert enc.output_dim == 16
    assert torch.isfinite(out).all()


def _reshape_lead(obs, lead):
    if isinstance(obs, dict):
        return {k: _reshape_lead(v, lead) for k, v in obs.items()}
    if isinstance(obs, tuple):
        return tuple(_reshape_lead(v, lead) for v in obs)
    return obs.reshape(*lead, *obs.shape[1:])


@pytest.mark.parametrize(
    "space_id, first",
    [
        ("box1d", None),
        ("box1d-int", FlattenEncoder),
        ("box-scalar", FlattenEncoder),
        ("box2d", FlattenEncoder),
        ("multibinary-2d", FlattenEncoder),
        ("discrete", OneHotEncoder),
        ("multidiscrete-2d", OneHotEncoder),
        *[(i, CNNEncoder) for i in IMAGE_OBSERVATION_SPACES],
        ("dict", CompositeEncoder),
        ("tuple-blackjack", CompositeEncoder),
    ],
)
def test_catalog_picks(space_id, first):
    part = build_space_encoder(OBSERVATION_SPACES[space_id])
    assert part is None if first is None else isinstance(part, first)


def test_nested_composite_encodes_each_part_with_its_default():
    enc = build_space_encoder(OBSERVATION_SPACES["nested"])
    a, b = enc.parts["a"], enc.parts["b"]
    assert [type(p).__name__ for p in a.parts.values()] == ["FlattenEncoder", "FlattenEncoder"]
    assert [type(p).__name__ for p in b.parts.values()] == ["OneHotEncoder", "CNNEncoder"]
    assert enc.output_dim == 2 + 3 + 3 + b.parts["img"].output_dim


# ----------------------------------------------------------------------------- leaves


def test_mlp_encoder_repr_and_output_dim():
    enc = MLPEncoder(4, (64, 32), "relu")
    assert enc.output_dim == 32
    assert "MLPEncoder(\n  input_dim=4, hidden_sizes=(64, 32), activation='relu', output_dim=32" in repr(enc)
    assert MLPEncoder(5, ()).output_dim == 5
    with pytest.raises(ModelConfigError, match=re.escape("The 'hidden_sizes' argument of MLPEncoder must be a sequence of positive ints. Got (64, 0) instead.")):
        MLPEncoder(4, (64, 0))
    with pytest.raises(ModelConfigError, match=re.escape("The 'input_dim' argument of MLPEncoder must be a positive int. Got 0 instead.")):
        MLPEncoder(0, (8,))


def test_one_hot_matches_a_slow_obvious_encoding():
    space = gym.spaces.MultiDiscrete([[2, 3], [4, 2]], start=[[1, 0], [0, -1]])
    enc = OneHotEncoder(space)
    x = obs_to_tensor(sample_obs_batch(space, 20, seed=3), space)
    expected = []
    for row in x.numpy():  # concatenate one one-hot per entry, row-major
        parts = []
        for value, n, start in zip(row.reshape(-1), space.nvec.reshape(-1), space.start.reshape(-1)):
            one = np.zeros(n, np.float32)
            one[value - start] = 1.0
            parts.append(one)
        expected.append(np.concatenate(parts))
    np.testing.assert_array_equal(enc(x).numpy(), np.stack(expected))
    assert enc.output_dim == 11


def test_one_hot_discrete_with_start_and_out_of_range_error():
    enc = OneHotEncoder(gym.spaces.Discrete(3, start=-1))
    np.testing.assert_array_equal(enc(torch.tensor([-1, 1])).numpy(), [[1, 0, 0], [0, 0, 1]])
    with pytest.raises(ValueError, match=re.escape("OneHotEncoder: observation values [2] are outside Discrete(3, start=-1)")):
        enc(torch.tensor([0, 2]))
    with pytest.raises(TypeError, match="OneHotEncoder expects a Discrete or MultiDiscrete space, got Box"):
        OneHotEncoder(gym.spaces.Box(0, 1, (2,)))


def test_flatten_casts_and_flattens():
    enc = FlattenEncoder(gym.spaces.MultiBinary([2, 3]))
    out = enc(torch.ones(4, 2, 3, dtype=torch.int64))
    assert out.shape == (4, 6) and out.dtype == torch.float32
    assert repr(enc) == "FlattenEncoder(shape=(2, 3), output_dim=6)"
    with pytest.raises(TypeError, match="FlattenEncoder expects a Box or MultiBinary space, got Discrete"):
        FlattenEncoder(gym.spaces.Discrete(3))


# ----------------------------------------------------------------------------- CNN


@pytest.mark.parametrize(
    "shape, layout", [((84, 84, 3), "HWC"), ((3, 64, 64), "CHW"), ((4, 84, 84), "CHW"), ((84, 84, 12), "HWC"),
                      ((84, 84), "HW"), ((2, 2, 3), "HWC"), ((1, 7, 9), "CHW"), ((1, 3, 4), "CHW"), ((4, 4, 3), "HWC"), ((3, 5, 3), "HWC")]
)
def test_image_layout(shape, layout):
    assert image_layout(shape) == layout


def test_cnn_hwc_and_chw_give_the_same_features_for_the_same_image():
    hwc = CNNEncoder(gym.spaces.Box(0, 255, (12, 12, 3), np.uint8), [[4, 3, 1]])
    chw = CNNEncoder(gym.spaces.Box(0, 255, (3, 12, 12), np.uint8), [[4, 3, 1]])
    chw.load_state_dict(hwc.state_dict())
    img = torch.randint(0, 256, (2, 12, 12, 3), dtype=torch.uint8)
    torch.testing.assert_close(hwc(img), chw(img.permute(0, 3, 1, 2)))
    # uint8 is scaled to [0, 1]: the same image as float in [0, 1] gives the same features.
    as_float = CNNEncoder(gym.spaces.Box(0.0, 1.0, (12, 12, 3), np.float32), [[4, 3, 1]])
    as_float.load_state_dict(hwc.state_dict())
    torch.testing.assert_close(as_float(img.float() / 255), hwc(img))


def test_cnn_default_filters_fit_every_size_from_3_pixels():
    for side in (3, 5, 7, 8, 16, 23, 24, 42, 63, 64, 84, 96):
        enc = CNNEncoder(gym.spaces.Box(0, 255, (side, side + 1, 3), np.uint8))
        assert enc.filters == default_conv_filters(side, side + 1)
        assert enc(torch.zeros(1, side, side + 1, 3, dtype=torch.uint8)).shape == (1, enc.output_dim)
    assert default_conv_filters(84, 84) == [[32, 8, 4], [64, 4, 2], [64, 3, 1]]


def test_too_small_images_fail_at_build_with_a_clear_error():
    with pytest.raises(ValueError, match=re.escape(
        "The image observation Box(0, 255, (2, 2, 3), uint8) (HWC, 2x2 pixels) is too small for a CNN "
        "encoder: expected at least 3x3 pixels.")):
        build_encoder(gym.spaces.Box(0, 255, (2, 2, 3), np.uint8))
    with pytest.raises(ValueError, match=re.escape(
        "(HW, 10x10 pixels) is too small for the conv filters [[16, 8, 4], [32, 4, 2]]: layer 2 (kernel 4x4, "
        "stride 2x2) gets a 1x1 feature map and would output -1x-1. Pass smaller conv_filters in model_config "
        "(e.g. [[16, 3, 1], [32, 3, 2]])")):
        build_encoder(gym.spaces.Box(0, 255, (10, 10), np.uint8), {"conv_filters": [[16, 8, 4], [32, 4, 2]]})


def test_cnn_padding_and_strided_same_error():
    enc = CNNEncoder(gym.spaces.Box(0.0, 1.0, (4, 9, 9)), [[8, 3, 1, "same"], [4, [2, 3], [1, 2], [1, 0]]])
    assert enc.feature_map_shape == (4, 10, 4)
    assert enc(torch.zeros(2, 4, 9, 9)).shape == (2, 160)
    assert "image=4x9x9 CHW, filters=[[8, 3, 1, 'same'], [4, [2, 3], [1, 2], [1, 0]]], output_dim=160" in repr(enc)
    with pytest.raises(ModelConfigError, match=re.escape("asks for padding 'same' with stride [2, 2]; torch supports 'same' only with stride 1")):
        CNNEncoder(gym.spaces.Box(0.0, 1.0, (4, 9, 9)), [[8, 3, 2, "same"]])


# ----------------------------------------------------------------------------- composite / stack


def test_composite_ignores_unknown_keys_and_handles_awkward_names():
    enc = CompositeEncoder({"a.b": FlattenEncoder(gym.spaces.Box(0, 1, (2,))), "": OneHotEncoder(gym.spaces.Discrete(2))})
    out = enc({"a.b": torch.ones(3, 2), "": torch.tensor([0, 1, 1]), "action_mask": torch.ones(3, 5)})
    assert out.shape == (3, 4)
    assert set(enc.state_dict()) == set()  # no weights in these parts
    with pytest.raises(ValueError, match="CompositeEncoder needs at least one part"):
        CompositeEncoder({})
    with pytest.raises(TypeError, match="CompositeEncoder part 'x' must be an nn.Module with an int output_dim"):
        CompositeEncoder({"x": torch.nn.Linear(2, 2)})


def test_encoder_stack():
    enc = EncoderStack(OneHotEncoder(gym.spaces.Discrete(16)), MLPEncoder(16, (32,)))
    assert enc.output_dim == 32
    assert enc(torch.tensor([3, 15])).shape == (2, 32)


# ----------------------------------------------------------------------------- recurrent


@pytest.mark.parametrize("cls, keys", [(LSTMEncoder, ["h", "c"]), (GRUEncoder, ["h"])])
def test_recurrent_sequence_equals_step_by_step(cls, keys):
    torch.manual_seed(0)
    enc = cls(5, cell_size=7)
    assert enc.output_dim == 7
    init = enc.get_initial_state()
    assert list(init) == keys and all(v.shape == (7,) for v in init.values())
    x = torch.randn(3, 6, 5)
    state = {k: v.expand(3, -1) for k, v in init.items()}
    y_seq, s_seq = enc(x, state)
    assert y_seq.shape == (3, 6, 7)
    s = state  # the slow obvious way: one step at a time
    for t in range(6):
        y_t, s = enc(x[:, t], s)
        torch.testing.assert_close(y_t, y_seq[:, t])
    for k in keys:
        torch.testing.assert_close(s[k], s_seq[k])


def test_recurrent_seq_lens_stop_each_row_at_its_own_end():
    torch.manual_seed(0)
    enc = LSTMEncoder(4, cell_size=6)
    x = torch.randn(3, 5, 4)
    zeros = {k: v.expand(3, -1) for k, v in enc.get_initial_state().items()}
    lens = torch.tensor([5, 2, 3])
    y, state = enc(x, zeros, seq_lens=lens)
    for row, n in enumerate(lens.tolist()):
        one = {k: v[row : row + 1] for k, v in zeros.items()}
        y_row, s_row = enc(x[row : row + 1, :n], one)
        torch.testing.assert_close(y[row, :n], y_row[0])
        assert torch.all(y[row, n:] == 0)
        for k in ("h", "c"):
            torch.testing.assert_close(state[k][row], s_row[k][0])


def test_recurrent_errors():
    enc = GRUEncoder(4, cell_size=3)
    with pytest.raises(KeyError, match=re.escape("GRUEncoder expects the state to have keys ['h'], missing ['h'] (found ['c'])")):
        enc(torch.zeros(2, 4), {"c": torch.zeros(2, 3)})
    with pytest.raises(ValueError, match=re.escape("GRUEncoder expects inputs (B, 4) or (B, T, 4), got (2, 1, 1, 4).")):
        enc(torch.zeros(2, 1, 1, 4), {"h": torch.zeros(2, 3)})


# ----------------------------------------------------------------------------- heads


ACTION_CASES = {
    "discrete": gym.spaces.Discrete(3),
    "box": gym.spaces.Box(-1.0, 1.0, (2, 2)),
    "multidiscrete": gym.spaces.MultiDiscrete([2, 5]),
    "multibinary": gym.spaces.MultiBinary(3),
    "tuple": gym.spaces.Tuple((gym.spaces.Box(-1.0, 1.0, (2,)), gym.spaces.Discrete(2), gym.spaces.Box(0.0, 1.0, (1,)))),
}


@pytest.mark.parametrize("space", ACTION_CASES.values(), ids=ACTION_CASES.keys())
def test_policy_head_width_is_the_distribution_input_dim(space):
    head = PolicyHead(8, space, hidden_sizes=(16,))
    assert head.output_dim == required_input_dim(space)
    assert head(torch.zeros(4, 8)).shape == (4, head.output_dim)
    assert head(torch.zeros(2, 3, 8)).shape == (2, 3, head.output_dim)


def test_policy_head_clips_only_log_std_columns():
    space = ACTION_CASES["tuple"]  # inputs: box mean(2) log_std(2) | logits(2) | box mean(1) log_std(1)
    head = PolicyHead(2, space, log_std_clip_param=1.5)
    with torch.no_grad():
        head.out.weight.zero_()
        head.out.bias.fill_(9.0)
    out = head(torch.zeros(1, 2))[0]
    assert out.tolist() == [9.0, 9.0, 1.5, 1.5, 9.0, 9.0, 9.0, 1.5]


def test_free_log_std_is_a_parameter_in_the_right_columns():
    space = ACTION_CASES["tuple"]
    head = PolicyHead(2, space, free_log_std=True)
    assert head.out.out_features == 8 - 3
    with torch.no_grad():
        head.out.weight.zero_()
        head.out.bias.copy_(torch.arange(1.0, 6.0))
        head.log_std.free_log_std.copy_(torch.tensor([-1.0, -2.0, -3.0]))
    x = torch.randn(4, 2)
    out = head(x)
    assert out[0].tolist() == [1.0, 2.0, -1.0, -2.0, 3.0, 4.0, 5.0, -3.0]
    out.sum().backward()
    assert head.log_std.free_log_std.grad is not None
    with pytest.raises(ValueError, match=re.escape("free_log_std=True needs a Box in the action space, got Discrete(3)")):
        PolicyHead(2, gym.spaces.Discrete(3), free_log_std=True)


def test_value_and_q_heads():
    assert ValueHead(8)(torch.zeros(4, 8)).shape == (4,)
    assert ValueHead(8, (4,))(torch.zeros(2, 3, 8)).shape == (2, 3)
    q = QHead(8, gym.spaces.Discrete(5))
    assert q.output_dim == 5 and q(torch.zeros(4, 8)).shape == (4, 5)
    assert "QHead(\n  input_dim=8, action_space=Discrete(5), output_dim=5" in repr(q)
    with pytest.raises(TypeError, match=re.escape("QHead needs a Discrete action space (one value per action), got Box")):
        QHead(8, gym.spaces.Box(-1, 1, (2,)))
