"""The named catalogue of observation and action spaces the test suite parametrises over.

Import the dicts and parametrise with readable ids::

    @pytest.mark.parametrize("obs_space", OBSERVATION_SPACES.values(), ids=OBSERVATION_SPACES.keys())

Spaces are built fresh by :func:`observation_spaces` / :func:`action_spaces` (gymnasium spaces
carry an RNG, so tests that sample should copy or seed them); the module-level dicts are one
such build, for parametrisation.
"""

from __future__ import annotations

import numpy as np
from gymnasium import spaces

__all__ = [
    "OBSERVATION_SPACES",
    "ACTION_SPACES",
    "IMAGE_OBSERVATION_SPACES",
    "UNSUPPORTED_SPACES",
    "observation_spaces",
    "action_spaces",
]

INF = np.inf


def observation_spaces() -> dict[str, spaces.Space]:
    """Observation spaces the default modules encode, by readable id."""
    return {
        # --- Box, 1-D ---
        "box1d": spaces.Box(-1.0, 1.0, (4,), np.float32),
        "box1d-unbounded-f64": spaces.Box(-INF, INF, (3,), np.float64),
        "box1d-int": spaces.Box(0, 10, (3,), np.int64),
        "box-scalar": spaces.Box(-1.0, 1.0, (), np.float32),
        # --- Box, n-D (flattened) ---
        "box2d": spaces.Box(-1.0, 1.0, (3, 4), np.float32),
        "box4d": spaces.Box(0.0, 1.0, (2, 2, 2, 2), np.float32),
        # --- images (CNN) ---
        "image-hwc-u8": spaces.Box(0, 255, (16, 16, 3), np.uint8),
        "image-chw-u8": spaces.Box(0, 255, (3, 12, 12), np.uint8),
        "image-gray-u8": spaces.Box(0, 255, (10, 10), np.uint8),
        "image-chw-f32": spaces.Box(0.0, 1.0, (4, 9, 9), np.float32),
        # --- discrete ---
        "discrete": spaces.Discrete(5),
        "discrete-start": spaces.Discrete(3, start=-1),
        "multidiscrete": spaces.MultiDiscrete([2, 3, 4]),
        "multidiscrete-2d": spaces.MultiDiscrete([[2, 3], [4, 2]]),
        "multibinary": spaces.MultiBinary(6),
        "multibinary-2d": spaces.MultiBinary([2, 3]),
        # --- composite ---
        "dict": spaces.Dict({"pos": spaces.Box(-1.0, 1.0, (2,), np.float32), "room": spaces.Discrete(4)}),
        "tuple-blackjack": spaces.Tuple((spaces.Discrete(32), spaces.Discrete(11), spaces.Discrete(2))),
        "nested": spaces.Dict(
            {
                "a": spaces.Tuple((spaces.Box(-1.0, 1.0, (2,), np.float32), spaces.MultiBinary(3))),
                "b": spaces.Dict(
                    {"c": spaces.Discrete(3), "img": spaces.Box(0, 255, (8, 8, 1), np.uint8)}
                ),
            }
        ),
    }


def action_spaces() -> dict[str, spaces.Space]:
    """Action spaces the default modules act in, by readable id."""
    return {
        "discrete": spaces.Discrete(3),
        "discrete-start": spaces.Discrete(4, start=1),
        "box1d": spaces.Box(-1.0, 1.0, (2,), np.float32),
        "box2d": spaces.Box(-2.0, 2.0, (2, 3), np.float32),
        "box-unbounded": spaces.Box(-INF, INF, (2,), np.float32),
        "box-asymmetric": spaces.Box(np.array([0.0, -5.0], np.float32), np.array([1.0, 5.0], np.float32)),
        "multidiscrete": spaces.MultiDiscrete([3, 2]),
        "multibinary": spaces.MultiBinary(4),
        "tuple": spaces.Tuple((spaces.Discrete(2), spaces.Box(-1.0, 1.0, (2,), np.float32))),
        "dict": spaces.Dict({"move": spaces.Box(-1.0, 1.0, (2,), np.float32), "fire": spaces.MultiBinary(2)}),
        "nested": spaces.Tuple(
            (
                spaces.Dict({"a": spaces.Discrete(2), "b": spaces.MultiDiscrete([2, 2])}),
                spaces.Box(-1.0, 1.0, (1,), np.float32),
            )
        ),
    }


OBSERVATION_SPACES: dict[str, spaces.Space] = observation_spaces()
ACTION_SPACES: dict[str, spaces.Space] = action_spaces()

#: The ids of OBSERVATION_SPACES the default encoder treats as images.
IMAGE_OBSERVATION_SPACES = ("image-hwc-u8", "image-chw-u8", "image-gray-u8", "image-chw-f32")

#: Spaces rlkit does not support, by id (for the build-time error tests).
UNSUPPORTED_SPACES: dict[str, spaces.Space] = {
    "text": spaces.Text(8),
    "graph": spaces.Graph(node_space=spaces.Box(-1.0, 1.0, (2,)), edge_space=None),
    "sequence": spaces.Sequence(spaces.Discrete(3)),
}
