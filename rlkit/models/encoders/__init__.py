"""Encoders: building blocks that turn observations into flat features, ``(*B, ...) -> (*B, output_dim)``.

Every encoder exposes ``output_dim``; the default models pick them with
:mod:`rlkit.models.catalog`, and custom modules can compose them directly.
"""

from __future__ import annotations

from rlkit.models.encoders.cnn import CNNEncoder, default_conv_filters, image_layout, is_image_space
from rlkit.models.encoders.composite import CompositeEncoder
from rlkit.models.encoders.flatten import FlattenEncoder
from rlkit.models.encoders.mlp import MLPEncoder
from rlkit.models.encoders.one_hot import OneHotEncoder
from rlkit.models.encoders.recurrent import GRUEncoder, LSTMEncoder, RecurrentEncoder
from rlkit.models.encoders.stack import EncoderStack

__all__ = [
    "MLPEncoder",
    "CNNEncoder",
    "FlattenEncoder",
    "OneHotEncoder",
    "CompositeEncoder",
    "EncoderStack",
    "RecurrentEncoder",
    "LSTMEncoder",
    "GRUEncoder",
    "default_conv_filters",
    "image_layout",
    "is_image_space",
]
