"""`MLPEncoder`: a stack of fully connected layers, ``(*B, input_dim) -> (*B, output_dim)``."""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

from torch import nn

from rlkit.models.layers import check_positive_int, check_positive_ints, dense_layers, make_initializer

__all__ = ["MLPEncoder"]


class MLPEncoder(nn.Sequential):
    """Fully connected layers with an activation after each: the default observation encoder.

    Takes float inputs with any number of leading batch dimensions,
    ``(*B, input_dim) -> (*B, output_dim)``; ``output_dim`` is the last hidden size, or
    ``input_dim`` when ``hidden_sizes`` is empty (then the encoder passes its input through).

    Args:
        input_dim: width of the (flat, float) input.
        hidden_sizes: widths of the layers, e.g. ``(64, 64)``.
        activation: activation name (``"tanh"``, ``"relu"``, ... or ``None``).
        kernel_initializer / bias_initializer: ``torch.nn.init`` function name or callable,
            applied to every layer (``None``: torch's default), with ``*_kwargs``.

    Example:
        >>> import torch
        >>> enc = MLPEncoder(4, (64, 64), "tanh")
        >>> enc
        MLPEncoder(
          input_dim=4, hidden_sizes=(64, 64), activation='tanh', output_dim=64
          (0): Linear(in_features=4, out_features=64, bias=True)
          (1): Tanh()
          (2): Linear(in_features=64, out_features=64, bias=True)
          (3): Tanh()
        )
        >>> enc(torch.zeros(5, 4)).shape
        torch.Size([5, 64])
    """

    def __init__(
        self,
        input_dim: int,
        hidden_sizes: Sequence[int] = (256, 256),
        activation: str | None = "tanh",
        *,
        kernel_initializer: str | Callable | None = None,
        kernel_initializer_kwargs: Mapping[str, Any] | None = None,
        bias_initializer: str | Callable | None = None,
        bias_initializer_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        input_dim = check_positive_int(input_dim, "input_dim", "MLPEncoder")
        hidden_sizes = check_positive_ints(hidden_sizes, "hidden_sizes", "MLPEncoder")
        layers = dense_layers(
            input_dim,
            hidden_sizes,
            activation,
            make_initializer(kernel_initializer, kernel_initializer_kwargs),
            make_initializer(bias_initializer, bias_initializer_kwargs),
        )
        super().__init__(*layers)
        self.input_dim = input_dim
        self.hidden_sizes = hidden_sizes
        self.activation = activation
        #: Width of the encoding.
        self.output_dim = hidden_sizes[-1] if hidden_sizes else input_dim

    def extra_repr(self) -> str:
        return (
            f"input_dim={self.input_dim}, hidden_sizes={self.hidden_sizes}, "
            f"activation={self.activation!r}, output_dim={self.output_dim}"
        )
