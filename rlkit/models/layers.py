"""Small helpers the encoders and heads share: initialisers by name, dense layer stacks."""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

from torch import nn

from rlkit.models.config import ModelConfigError, get_activation, get_initializer

__all__ = ["make_initializer", "init_layer", "dense_layers", "check_positive_int", "check_positive_ints"]

Initializer = Callable[[Any], Any]


def make_initializer(init: str | Callable | None, kwargs: Mapping[str, Any] | None = None) -> Initializer | None:
    """A ``torch.nn.init`` function given by name (``"orthogonal"``) or as a callable, with kwargs.

    Example:
        >>> import torch
        >>> make_initializer("constant", {"val": 0.5})(torch.empty(2)).tolist()
        [0.5, 0.5]
    """
    if init is None:
        return None
    if isinstance(init, str):
        return get_initializer(init, kwargs)
    if callable(init):
        kw = dict(kwargs or {})
        return lambda tensor: init(tensor, **kw)
    raise ModelConfigError(
        f"expected an initializer name such as 'orthogonal', a torch.nn.init function or None, "
        f"got {init!r}."
    )


def init_layer(layer: nn.Module, kernel_init: Initializer | None, bias_init: Initializer | None) -> nn.Module:
    """Apply the initialisers to ``layer.weight`` / ``layer.bias`` in place (None: keep torch's)."""
    if kernel_init is not None:
        kernel_init(layer.weight.data)
    if bias_init is not None and getattr(layer, "bias", None) is not None:
        bias_init(layer.bias.data)
    return layer


def check_positive_int(value: Any, name: str, owner: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ModelConfigError(f"The {name!r} argument of {owner} must be a positive int. Got {value!r} instead.")
    return int(value)


def check_positive_ints(value: Any, name: str, owner: str) -> tuple[int, ...]:
    ok = (
        isinstance(value, Sequence)
        and not isinstance(value, (str, bytes))
        and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)
    )
    if not ok:
        raise ModelConfigError(
            f"The {name!r} argument of {owner} must be a sequence of positive ints. Got {value!r} instead."
        )
    return tuple(int(v) for v in value)


def dense_layers(
    input_dim: int,
    hidden_sizes: Sequence[int],
    activation: str | None,
    kernel_init: Initializer | None = None,
    bias_init: Initializer | None = None,
) -> list[nn.Module]:
    """``[Linear, act, Linear, act, ...]`` for the hidden sizes (no output layer)."""
    layers: list[nn.Module] = []
    width = input_dim
    for size in hidden_sizes:
        layers.append(init_layer(nn.Linear(width, size), kernel_init, bias_init))  # (*B, width) -> (*B, size)
        act = get_activation(activation)
        if act is not None:
            layers.append(act)
        width = size
    return layers
