"""Heads: the policy head (sized from the action distribution), the value head and the Q head."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Callable, Mapping, Sequence

import gymnasium as gym
import torch
from torch import nn

from rlkit.distributions import required_input_dim
from rlkit.models.layers import check_positive_int, check_positive_ints, dense_layers, init_layer, make_initializer

__all__ = ["PolicyHead", "ValueHead", "QHead", "action_input_layout"]


def action_input_layout(action_space: gym.Space) -> list[tuple[str, gym.Space, int, int]]:
    """``(path, leaf space, start, width)`` of each action component in ``ACTION_DIST_INPUTS``.

    Components follow the space's order (a ``Dict`` in its key order), as the composite
    distribution reads them. A ``Box`` component's block is its mean, then its log std.

    Example:
        >>> import gymnasium as gym
        >>> space = gym.spaces.Tuple((gym.spaces.Discrete(3), gym.spaces.Box(-1, 1, (2,))))
        >>> [(path, start, width) for path, _, start, width in action_input_layout(space)]
        [('[0]', 0, 3), ('[1]', 3, 4)]
    """
    out: list[tuple[str, gym.Space, int, int]] = []

    def walk(space: gym.Space, path: str) -> None:
        if isinstance(space, gym.spaces.Dict):
            for key, sub in space.spaces.items():
                walk(sub, f"{path}[{key!r}]")
        elif isinstance(space, gym.spaces.Tuple):
            for i, sub in enumerate(space.spaces):
                walk(sub, f"{path}[{i}]")
        else:
            start = out[-1][2] + out[-1][3] if out else 0
            out.append((path, space, start, required_input_dim(space)))

    walk(action_space, "")
    return out


class _Head(nn.Sequential):
    """Optional hidden layers, then the linear output layer ``out``: ``(*B, input_dim) -> (*B, width)``.

    A ``Sequential`` (no wrapper around an inner net), so a head costs one module call on top
    of its layers: heads sit on the per-step path of ``act()``.
    """

    def __init__(self, input_dim, width, hidden_sizes, activation, kernel_initializer, kernel_initializer_kwargs,
                 bias_initializer, bias_initializer_kwargs, extra: dict[str, nn.Module] | None = None) -> None:
        owner = type(self).__name__
        input_dim = check_positive_int(input_dim, "input_dim", owner)
        hidden_sizes = check_positive_ints(hidden_sizes, "hidden_sizes", owner)
        kernel_init = make_initializer(kernel_initializer, kernel_initializer_kwargs)
        bias_init = make_initializer(bias_initializer, bias_initializer_kwargs)
        layers = dense_layers(input_dim, hidden_sizes, activation, kernel_init, bias_init)
        last = hidden_sizes[-1] if hidden_sizes else input_dim
        named = OrderedDict((str(i), layer) for i, layer in enumerate(layers))
        named["out"] = init_layer(nn.Linear(last, width), kernel_init, bias_init)  # (*B, last) -> (*B, width)
        named.update(extra or {})
        super().__init__(named)
        self.input_dim = input_dim
        self.hidden_sizes = hidden_sizes
        self.activation = activation

    def _hidden_repr(self) -> str:
        return f", hidden_sizes={self.hidden_sizes}, activation={self.activation!r}" if self.hidden_sizes else ""


class LogStd(nn.Module):
    """The Box log-std columns of ACTION_DIST_INPUTS: optionally a free parameter, always clipped."""

    def __init__(self, width: int, log_std_cols: list[int], free: bool, clip: float | None) -> None:
        super().__init__()
        self.free = free
        self.clip = clip
        if free:
            #: One learned log std per Box action dimension, independent of the observation.
            self.free_log_std = nn.Parameter(torch.zeros(len(log_std_cols)))
            other_cols = [c for c in range(width) if c not in set(log_std_cols)]
            # cat([net outputs, log_std]) holds columns other_cols + log_std_cols; `inverse`
            # puts each back into its place.
            order = torch.tensor(other_cols + log_std_cols)
            inverse = torch.empty(width, dtype=torch.int64)
            inverse[order] = torch.arange(width)
            self._permute = not torch.equal(inverse, torch.arange(width))
            self.register_buffer("_inverse", inverse, persistent=False)
        if clip is not None:
            low = torch.full((width,), float("-inf"))
            low[log_std_cols] = -float(clip)
            self.register_buffer("_low", low, persistent=False)  # (n,): -clip on log std columns
            self.register_buffer("_high", -low, persistent=False)  # (n,): +clip on log std columns

    def forward(self, out: torch.Tensor) -> torch.Tensor:
        if self.free:
            log_std = self.free_log_std.expand(*out.shape[:-1], -1)  # (k,) -> (*B, k)
            out = torch.cat([out, log_std], dim=-1)  # (*B, n), log stds last
            if self._permute:
                out = out.index_select(-1, self._inverse)  # each log std back into its Box block
        if self.clip is not None:
            out = torch.clamp(out, self._low, self._high)  # clip log stds only (others: +-inf)
        return out

    def extra_repr(self) -> str:
        return f"free={self.free}, clip={self.clip}"


class PolicyHead(_Head):
    """Maps an embedding to ``ACTION_DIST_INPUTS``: ``(*B, input_dim) -> (*B, output_dim)``.

    ``output_dim = required_input_dim(action_space)``: logits for ``Discrete`` /
    ``MultiDiscrete`` / ``MultiBinary``, mean and log std for ``Box``, the components'
    blocks side by side for ``Tuple`` / ``Dict``. Every ``Box`` log std is clipped to
    ``[-log_std_clip_param, log_std_clip_param]``; with ``free_log_std=True`` it is a learned
    parameter (one per action dimension, initialised to 0) that does not depend on the input.

    Args:
        input_dim: width of the embedding.
        action_space: the action space (any space rlkit has a distribution for).
        hidden_sizes, activation: hidden layers before the output layer (default none).
        free_log_std, log_std_clip_param: see above.
        kernel_initializer / bias_initializer: ``torch.nn.init`` name or callable.

    Example:
        >>> import gymnasium as gym, torch
        >>> head = PolicyHead(64, gym.spaces.Box(-1, 1, (2,)), free_log_std=True)
        >>> head
        PolicyHead(
          input_dim=64, action_space=Box(-1.0, 1.0, (2,), float32), output_dim=4, free_log_std=True
          (out): Linear(in_features=64, out_features=2, bias=True)
          (log_std): LogStd(free=True, clip=20.0)
        )
        >>> out = head(torch.zeros(5, 64))  # the mean (2), then the free log std (2)
        >>> out.shape, out[0, 2:]
        (torch.Size([5, 4]), tensor([0., 0.], grad_fn=<SliceBackward0>))
    """

    def __init__(
        self,
        input_dim: int,
        action_space: gym.Space,
        hidden_sizes: Sequence[int] = (),
        activation: str | None = "relu",
        *,
        free_log_std: bool = False,
        log_std_clip_param: float | None = 20.0,
        kernel_initializer: str | Callable | None = None,
        kernel_initializer_kwargs: Mapping[str, Any] | None = None,
        bias_initializer: str | Callable | None = None,
        bias_initializer_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        layout = action_input_layout(action_space)
        width = layout[-1][2] + layout[-1][3]
        # Columns of the log stds of the Box components (the second half of each Box block).
        log_std_cols = [c for _, s, start, w in layout if isinstance(s, gym.spaces.Box) for c in range(start + w // 2, start + w)]
        if free_log_std and not log_std_cols:
            raise ValueError(
                f"free_log_std=True needs a Box in the action space, got {action_space}: only Box "
                "actions have a log std. Set free_log_std=False."
            )
        net_width = width - len(log_std_cols) if free_log_std else width
        clip = log_std_clip_param if log_std_cols else None
        extra = {"log_std": LogStd(width, log_std_cols, bool(free_log_std), clip)} if (free_log_std or clip is not None) else None
        super().__init__(input_dim, net_width, hidden_sizes, activation, kernel_initializer,
                         kernel_initializer_kwargs, bias_initializer, bias_initializer_kwargs, extra)
        self.action_space = action_space
        self.free_log_std = bool(free_log_std)
        self.log_std_clip_param = log_std_clip_param
        #: Width of ACTION_DIST_INPUTS for the action space.
        self.output_dim = width

    def extra_repr(self) -> str:
        extra = ", free_log_std=True" if self.free_log_std else ""
        return f"input_dim={self.input_dim}, action_space={self.action_space}, output_dim={self.output_dim}{self._hidden_repr()}{extra}"


class ValueHead(_Head):
    """State value ``V(s)``: ``(*B, input_dim) -> (*B,)`` (the last dim squeezed).

    Example:
        >>> import torch
        >>> ValueHead(64)(torch.zeros(5, 64)).shape
        torch.Size([5])
    """

    output_dim = 1

    def __init__(
        self,
        input_dim: int,
        hidden_sizes: Sequence[int] = (),
        activation: str | None = "relu",
        *,
        kernel_initializer: str | Callable | None = None,
        kernel_initializer_kwargs: Mapping[str, Any] | None = None,
        bias_initializer: str | Callable | None = None,
        bias_initializer_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(input_dim, 1, hidden_sizes, activation, kernel_initializer,
                         kernel_initializer_kwargs, bias_initializer, bias_initializer_kwargs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x).squeeze(-1)  # (*B, 1) -> (*B,)

    def extra_repr(self) -> str:
        return f"input_dim={self.input_dim}, output_dim=1{self._hidden_repr()}"


class QHead(_Head):
    """Action values ``Q(s, a)`` for every action of a ``Discrete`` space: ``(*B, input_dim) -> (*B, n)``.

    Example:
        >>> import gymnasium as gym, torch
        >>> QHead(64, gym.spaces.Discrete(3))(torch.zeros(5, 64)).shape
        torch.Size([5, 3])
    """

    def __init__(
        self,
        input_dim: int,
        action_space: gym.spaces.Discrete,
        hidden_sizes: Sequence[int] = (),
        activation: str | None = "relu",
        *,
        kernel_initializer: str | Callable | None = None,
        kernel_initializer_kwargs: Mapping[str, Any] | None = None,
        bias_initializer: str | Callable | None = None,
        bias_initializer_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        if not isinstance(action_space, gym.spaces.Discrete):
            raise TypeError(
                f"QHead needs a Discrete action space (one value per action), got {action_space}. "
                "For continuous actions use a critic that takes the action as an input."
            )
        super().__init__(input_dim, int(action_space.n), hidden_sizes, activation, kernel_initializer,
                         kernel_initializer_kwargs, bias_initializer, bias_initializer_kwargs)
        self.action_space = action_space
        #: Number of actions.
        self.output_dim = int(action_space.n)

    def extra_repr(self) -> str:
        return f"input_dim={self.input_dim}, action_space={self.action_space}, output_dim={self.output_dim}{self._hidden_repr()}"
