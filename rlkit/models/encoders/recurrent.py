"""`LSTMEncoder` and `GRUEncoder`: stateful encoders for one step or a ``(B, T)`` sequence."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn.utils import rnn as rnn_utils

from rlkit.models.layers import check_positive_int

__all__ = ["RecurrentEncoder", "LSTMEncoder", "GRUEncoder"]


class RecurrentEncoder(nn.Module):
    """A one-layer LSTM / GRU that carries its state between calls (base of the two below).

    Shapes (``d`` = ``input_dim``, ``H`` = ``cell_size``):

    * one step: ``x`` ``(B, d)``, state ``{k: (B, H)}`` -> ``y`` ``(B, H)``, next state ``{k: (B, H)}``;
    * a sequence: ``x`` ``(B, T, d)`` -> ``y`` ``(B, T, H)``, next state = the state after the
      last step. With ``seq_lens`` ``(B,)`` (padded sequences), each row's next state is
      the state after its own last valid step, and ``y`` is 0 on padded steps.

    ``get_initial_state()`` gives the state without the batch dim, ``{k: (H,)}`` (zeros).
    """

    #: Names of the state tensors, in the order torch's cell takes them.
    state_keys: tuple[str, ...] = ()
    _cell_cls: type[nn.RNNBase]

    def __init__(self, input_dim: int, cell_size: int = 256) -> None:
        super().__init__()
        owner = type(self).__name__
        self.input_dim = check_positive_int(input_dim, "input_dim", owner)
        self.cell_size = check_positive_int(cell_size, "cell_size", owner)
        self.cell = self._cell_cls(self.input_dim, self.cell_size, batch_first=True)
        #: Width of the encoding (the cell's hidden size).
        self.output_dim = self.cell_size

    def get_initial_state(self) -> dict[str, torch.Tensor]:
        """Zeros for each state tensor, without a batch dim: ``{k: (cell_size,)}``."""
        device = self.cell.weight_hh_l0.device
        return {k: torch.zeros(self.cell_size, device=device) for k in self.state_keys}

    def forward(
        self, x: torch.Tensor, state: dict[str, torch.Tensor], seq_lens: Any = None
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        one_step = x.dim() == 2
        if one_step:
            x = x.unsqueeze(1)  # (B, d) -> (B, 1, d)
        elif x.dim() != 3:
            raise ValueError(
                f"{type(self).__name__} expects inputs (B, {self.input_dim}) or (B, T, {self.input_dim}), "
                f"got {tuple(x.shape)}."
            )
        missing = [k for k in self.state_keys if k not in state]
        if missing:
            raise KeyError(
                f"{type(self).__name__} expects the state to have keys {list(self.state_keys)}, missing "
                f"{missing} (found {list(state)}). Start from module.get_initial_state() with a batch dim."
            )
        # torch's cells want (num_layers=1, B, H): (B, H) -> (1, B, H)
        hx = tuple(state[k].unsqueeze(0).to(x.dtype) for k in self.state_keys)
        hx_arg = hx if len(hx) > 1 else hx[0]
        if seq_lens is not None and not one_step:
            lengths = torch.as_tensor(seq_lens, dtype=torch.int64).cpu()
            packed = rnn_utils.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
            y, h_n = self.cell(packed, hx_arg)
            # padded steps come back as 0: (B, T_max, H)
            y, _ = rnn_utils.pad_packed_sequence(y, batch_first=True, total_length=x.shape[1])
        else:
            y, h_n = self.cell(x, hx_arg)  # y (B, T, H); h_n (1, B, H) per state tensor
        h_n = h_n if isinstance(h_n, tuple) else (h_n,)
        next_state = {k: h.squeeze(0) for k, h in zip(self.state_keys, h_n)}  # (1, B, H) -> (B, H)
        return (y.squeeze(1) if one_step else y), next_state

    def extra_repr(self) -> str:
        return f"input_dim={self.input_dim}, cell_size={self.cell_size}, state={list(self.state_keys)}"


class LSTMEncoder(RecurrentEncoder):
    """An LSTM cell; state ``{"h": (B, H), "c": (B, H)}``.

    Example:
        >>> import torch
        >>> enc = LSTMEncoder(8, cell_size=16)
        >>> state = {k: v.expand(3, -1) for k, v in enc.get_initial_state().items()}
        >>> y, state = enc(torch.zeros(3, 5, 8), state)  # a (B=3, T=5) sequence
        >>> y.shape, state["h"].shape, state["c"].shape
        (torch.Size([3, 5, 16]), torch.Size([3, 16]), torch.Size([3, 16]))
    """

    state_keys = ("h", "c")
    _cell_cls = nn.LSTM


class GRUEncoder(RecurrentEncoder):
    """A GRU cell; state ``{"h": (B, H)}``.

    Example:
        >>> import torch
        >>> enc = GRUEncoder(8, cell_size=16)
        >>> y, state = enc(torch.zeros(3, 8), {"h": torch.zeros(3, 16)})  # one step
        >>> y.shape, list(state)
        (torch.Size([3, 16]), ['h'])
    """

    state_keys = ("h",)
    _cell_cls = nn.GRU
