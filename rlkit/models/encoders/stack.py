"""`EncoderStack`: encoders applied one after the other (e.g. one-hot, then an MLP)."""

from __future__ import annotations

from torch import nn

__all__ = ["EncoderStack"]


class EncoderStack(nn.Sequential):
    """Run encoders in order; the stack's ``output_dim`` is the last one's.

    The default models use it for "preprocess, then MLP": ``OneHotEncoder`` -> ``MLPEncoder``,
    ``CNNEncoder`` -> ``MLPEncoder``, ``CompositeEncoder`` -> ``MLPEncoder``.

    Example:
        >>> import gymnasium as gym, torch
        >>> from rlkit.models import MLPEncoder, OneHotEncoder
        >>> enc = EncoderStack(OneHotEncoder(gym.spaces.Discrete(16)), MLPEncoder(16, (32,)))
        >>> enc.output_dim, enc(torch.tensor([3, 15])).shape
        (32, torch.Size([2, 32]))
    """

    def __init__(self, *encoders: nn.Module) -> None:
        if not encoders:
            raise ValueError("EncoderStack needs at least one encoder.")
        for i, enc in enumerate(encoders):
            if not isinstance(getattr(enc, "output_dim", None), int):
                raise TypeError(
                    f"EncoderStack part {i} must have an int output_dim (an rlkit encoder), got {type(enc).__name__}."
                )
        super().__init__(*encoders)
        #: Width of the encoding (the last encoder's).
        self.output_dim = encoders[-1].output_dim

    def extra_repr(self) -> str:
        return f"output_dim={self.output_dim}"
