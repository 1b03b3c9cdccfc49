"""Strict, explained loading of a state dict into a module (never a silent ``strict=False``)."""

from __future__ import annotations

from typing import Any, Iterable, Mapping

import numpy as np
import torch
from torch import nn

__all__ = ["StateMismatchError", "state_mismatches", "load_state_strict"]


class StateMismatchError(RuntimeError, ValueError):
    """A state dict does not match a module's architecture.

    Attributes:
        missing: keys the module has but the state lacks.
        unexpected: keys the state has but the module lacks.
        wrong_shape: ``{key: (shape_in_state, shape_in_module)}``.
    """

    def __init__(self, message: str, missing=(), unexpected=(), wrong_shape=None):
        super().__init__(message)
        self.missing = list(missing)
        self.unexpected = list(unexpected)
        self.wrong_shape = dict(wrong_shape or {})


def _shape(value: Any) -> tuple[int, ...]:
    return tuple(value.shape) if hasattr(value, "shape") else tuple(np.shape(value))


def state_mismatches(
    expected: Mapping[str, Any], found: Mapping[str, Any]
) -> tuple[list[str], list[str], dict[str, tuple[tuple[int, ...], tuple[int, ...]]]]:
    """Compare two ``{name: tensor}`` dicts: (missing, unexpected, wrong_shape).

    ``wrong_shape`` maps a key to ``(shape in found, shape in expected)``.
    """
    missing = [k for k in expected if k not in found]
    unexpected = [k for k in found if k not in expected]
    wrong_shape = {
        k: (_shape(found[k]), _shape(expected[k]))
        for k in expected
        if k in found and _shape(found[k]) != _shape(expected[k])
    }
    return missing, unexpected, wrong_shape


def format_mismatch(
    target: str,
    missing: list[str],
    unexpected: list[str],
    wrong_shape: dict[str, tuple[tuple[int, ...], tuple[int, ...]]],
    source: str = "the state dict",
) -> str:
    """One message listing every mismatching key, with both shapes."""
    lines = [f"The weights in {source} do not fit {target}:"]
    if missing:
        lines.append(f"  missing keys (in the module, not in {source}): {', '.join(missing)}")
    if unexpected:
        lines.append(f"  unexpected keys (in {source}, not in the module): {', '.join(unexpected)}")
    for key, (got, want) in wrong_shape.items():
        lines.append(
            f"  size mismatch for {key}: shape {list(got)} in {source}, "
            f"the shape in the current module is {list(want)}"
        )
    lines.append(
        "Build the module with the same spaces and model_config as the one that was saved "
        "(rlkit.inspect_checkpoint shows them), or rebuild it with RLModule.from_checkpoint()."
    )
    return "\n".join(lines)


def load_state_strict(
    module: nn.Module,
    state_dict: Mapping[str, Any],
    drop_prefixes: Iterable[str] = (),
    assign: bool = False,
    source: str = "the state dict",
):
    """Load ``state_dict`` into ``module``; keys under ``drop_prefixes`` (attribute names) that
    the module does not have are dropped by name; anything else that differs raises one
    :class:`StateMismatchError` listing every key."""
    prefixes = tuple(f"{p}." for p in drop_prefixes)
    expected = module.state_dict()
    state = {
        k: (v if isinstance(v, torch.Tensor) else torch.as_tensor(np.asarray(v)))
        for k, v in state_dict.items()
        if not (prefixes and k.startswith(prefixes) and k not in expected)
    }
    missing, unexpected, wrong_shape = state_mismatches(expected, state)
    if missing or unexpected or wrong_shape:
        raise StateMismatchError(
            format_mismatch(type(module).__name__, missing, unexpected, wrong_shape, source),
            missing,
            unexpected,
            wrong_shape,
        )
    return nn.Module.load_state_dict(module, state, strict=True, assign=assign)
