"""`DefaultModelConfig`: the validated settings of rlkit's default models (RLlib's field names)."""

from __future__ import annotations

import dataclasses
import difflib
import math
from typing import Any, Mapping, Sequence

import torch
from torch import nn

__all__ = [
    "DefaultModelConfig",
    "ModelConfigError",
    "resolve_model_config",
    "ACTIVATIONS",
    "INITIALIZERS",
    "get_activation",
    "get_initializer",
]


class ModelConfigError(ValueError, TypeError):
    """A ``model_config`` entry has a wrong type or value (every problem listed at once).

    It is both a ``ValueError`` and a ``TypeError`` (like scikit-learn's parameter errors), so
    ``except ValueError`` catches a wrong value and a wrong type alike.
    """


#: Activations by name (configs stay JSON: name the activation, not the torch class).
ACTIVATIONS: dict[str, type[nn.Module] | None] = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "swish": nn.SiLU,
    "leaky_relu": nn.LeakyReLU,
    "sigmoid": nn.Sigmoid,
    "softplus": nn.Softplus,
    "linear": None,  # no activation
}

#: Weight initialisers by name: the ``torch.nn.init`` function of that name (trailing ``_``).
INITIALIZERS: dict[str, Any] = {
    "xavier_uniform": nn.init.xavier_uniform_,
    "xavier_normal": nn.init.xavier_normal_,
    "kaiming_uniform": nn.init.kaiming_uniform_,
    "kaiming_normal": nn.init.kaiming_normal_,
    "orthogonal": nn.init.orthogonal_,
    "normal": nn.init.normal_,
    "trunc_normal": nn.init.trunc_normal_,
    "uniform": nn.init.uniform_,
    "constant": nn.init.constant_,
    "zeros": nn.init.zeros_,
    "ones": nn.init.ones_,
}

_LAYER_GROUPS = ("fcnet", "conv", "head_fcnet")


def get_activation(name: str | None) -> nn.Module | None:
    """A fresh activation layer for ``name`` (``None`` / ``"linear"``: no layer).

    Example:
        >>> get_activation("tanh")
        Tanh()
    """
    key = "linear" if name is None else str(name).lower()
    if key not in ACTIVATIONS:
        raise ModelConfigError(_choice_message("activation", name, ACTIVATIONS))
    cls = ACTIVATIONS[key]
    return None if cls is None else cls()


def get_initializer(name: str | None, kwargs: Mapping[str, Any] | None = None):
    """``fn(tensor)`` that initialises a weight in place, or ``None`` for torch's default.

    Example:
        >>> import torch
        >>> w = torch.empty(2, 2)
        >>> get_initializer("zeros")(w).sum().item()
        0.0
    """
    if name is None:
        return None
    key = str(name).lower().rstrip("_")
    if key not in INITIALIZERS:
        raise ModelConfigError(_choice_message("initializer", name, INITIALIZERS))
    fn, kw = INITIALIZERS[key], dict(kwargs or {})
    return lambda tensor: fn(tensor, **kw)


def _choice_message(what: str, got: Any, choices: Mapping[str, Any]) -> str:
    close = difflib.get_close_matches(str(got).lower(), list(choices), n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return f"Unknown {what} {got!r}; choose one of {sorted(choices)}.{hint}"


@dataclasses.dataclass(frozen=True, repr=False)
class DefaultModelConfig:
    """Settings of rlkit's default encoders and heads; RLlib's ``DefaultModelConfig`` names.

    Every field is plain JSON data (activations and initialisers by name), so a spec holding
    the config round-trips through JSON. A plain dict with the same keys works wherever a
    ``DefaultModelConfig`` does. Values are checked on construction: a bad one raises
    :class:`ModelConfigError` naming the entry, the rule and the value.

    Attributes:
        fcnet_hiddens: widths of the MLP that encodes the (preprocessed) observation.
        fcnet_activation: activation between those layers (see :data:`ACTIVATIONS`).
        conv_filters: CNN layers for image observations, ``[out_channels, kernel, stride]``
            (optionally a 4th entry, the padding); kernel and stride may be ``[h, w]`` pairs.
            ``None`` picks filters from the image size.
        conv_activation: activation after each conv layer.
        head_fcnet_hiddens: hidden widths inside the policy and value heads (``[]``: one
            linear layer).
        head_fcnet_activation: activation between head layers.
        vf_share_layers: the value function reads the policy's encoder (``True``) or has its
            own encoder (``False``).
        free_log_std: for ``Box`` actions, the log std is a learned parameter independent of
            the observation (the head then outputs the mean only and appends the log std).
        log_std_clip_param: ``Box`` actions: the log std is clipped to
            ``[-log_std_clip_param, log_std_clip_param]``.
        use_lstm / use_gru: put an LSTM / GRU cell (``lstm_cell_size`` units) after the MLP;
            the module then carries recurrent state. At most one of the two.
        lstm_cell_size: hidden size of the LSTM or GRU cell.
        max_seq_len: length of the sequences a recurrent module trains on.
        part_encoders: ``Dict`` / ``Tuple`` observations only: per-part encoder choices, keyed
            by the part's path (``"image"``, ``"0"``, nested ``"sensors/lidar"``), each a dict
            with ``"encoder"`` (``"auto"``, ``"cnn"``, ``"flatten"`` or ``"one_hot"``),
            ``"conv_filters"`` / ``"conv_activation"`` for that part's CNN, and
            ``"fcnet_hiddens"`` / ``"fcnet_activation"`` for an MLP on that part alone (before
            the parts are concatenated). ``None``: every part gets its default. Used by
            ``rlkit.widgets.ModuleComposer``.
        {fcnet,conv,head_fcnet}_{kernel,bias}_initializer: ``torch.nn.init`` function name
            (e.g. ``"orthogonal"``; ``None``: torch's default), with ``..._kwargs`` for it
            (e.g. ``{"gain": 1.41}``).

    Example:
        >>> cfg = DefaultModelConfig(fcnet_hiddens=[64, 64], vf_share_layers=False)
        >>> cfg  # shows what differs from the defaults
        DefaultModelConfig(fcnet_hiddens=(64, 64), vf_share_layers=False)
        >>> cfg.fcnet_hiddens, cfg.fcnet_activation
        ((64, 64), 'tanh')
        >>> DefaultModelConfig(fcnet_hiddens=[64, 0])
        Traceback (most recent call last):
        ...
        rlkit.models.config.ModelConfigError: The 'fcnet_hiddens' entry of model_config must be a sequence of positive ints. Got [64, 0] instead.
    """

    fcnet_hiddens: Sequence[int] = (256, 256)
    fcnet_activation: str | None = "tanh"
    fcnet_kernel_initializer: str | None = None
    fcnet_kernel_initializer_kwargs: Mapping[str, Any] | None = None
    fcnet_bias_initializer: str | None = None
    fcnet_bias_initializer_kwargs: Mapping[str, Any] | None = None
    conv_filters: Sequence[Sequence[Any]] | None = None
    conv_activation: str | None = "relu"
    conv_kernel_initializer: str | None = None
    conv_kernel_initializer_kwargs: Mapping[str, Any] | None = None
    conv_bias_initializer: str | None = None
    conv_bias_initializer_kwargs: Mapping[str, Any] | None = None
    head_fcnet_hiddens: Sequence[int] = ()
    head_fcnet_activation: str | None = "relu"
    head_fcnet_kernel_initializer: str | None = None
    head_fcnet_kernel_initializer_kwargs: Mapping[str, Any] | None = None
    head_fcnet_bias_initializer: str | None = None
    head_fcnet_bias_initializer_kwargs: Mapping[str, Any] | None = None
    vf_share_layers: bool = True
    free_log_std: bool = False
    log_std_clip_param: float = 20.0
    use_lstm: bool = False
    use_gru: bool = False
    lstm_cell_size: int = 256
    max_seq_len: int = 20
    part_encoders: Mapping[str, Mapping[str, Any]] | None = None

    def __post_init__(self) -> None:
        problems: list[str] = []
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            try:
                normalised = _check_field(f.name, value)
            except _Invalid as bad:
                problems.append(
                    f"The {f.name!r} entry of model_config must be {bad.rule}. Got {value!r} instead."
                    + (f" {bad.hint}" if bad.hint else "")
                )
                continue
            object.__setattr__(self, f.name, normalised)
        problems += _check_initializer_calls(self, problems)
        if self.use_lstm is True and self.use_gru is True:
            problems.append(
                "The 'use_lstm' and 'use_gru' entries of model_config cannot both be True. "
                "Got use_lstm=True and use_gru=True instead; pick one recurrent cell."
            )
        if problems:
            raise ModelConfigError("\n".join(problems))

    def __repr__(self) -> str:
        # Only what differs from the defaults, like scikit-learn's print_changed_only.
        changed = [
            f"{f.name}={getattr(self, f.name)!r}"
            for f in dataclasses.fields(self)
            if getattr(self, f.name) != _DEFAULTS[f.name]
        ]
        return f"DefaultModelConfig({', '.join(changed)})"

    # ------------------------------------------------------------------ conversions

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DefaultModelConfig:
        """Build from a plain dict; unknown keys are an error (with the closest known key)."""
        known = [f.name for f in dataclasses.fields(cls)]
        unknown = [k for k in data if k not in known]
        if unknown:
            lines = []
            for key in unknown:
                close = difflib.get_close_matches(str(key), known, n=1)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                lines.append(f"model_config has an unknown entry {key!r}.{hint}")
            lines.append(f"DefaultModelConfig takes: {', '.join(known)}.")
            raise ModelConfigError("\n".join(lines))
        return cls(**dict(data))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data (tuples become lists); ``from_dict(to_dict())`` gives it back."""
        from rlkit.rl_module_spec import config_to_json

        return config_to_json(self)

    @property
    def recurrent_cell(self) -> str | None:
        """``"lstm"``, ``"gru"`` or ``None``."""
        return "lstm" if self.use_lstm else "gru" if self.use_gru else None

    def initializers(self, group: str) -> tuple[Any, Any]:
        """``(kernel_init, bias_init)`` functions for ``group`` in fcnet / conv / head_fcnet."""
        if group not in _LAYER_GROUPS:
            raise ValueError(f"expected a layer group in {_LAYER_GROUPS}, got {group!r}.")
        return (
            get_initializer(getattr(self, f"{group}_kernel_initializer"), getattr(self, f"{group}_kernel_initializer_kwargs")),
            get_initializer(getattr(self, f"{group}_bias_initializer"), getattr(self, f"{group}_bias_initializer_kwargs")),
        )


_DEFAULTS = {f.name: f.default for f in dataclasses.fields(DefaultModelConfig)}


def resolve_model_config(model_config: Any) -> DefaultModelConfig:
    """``None``, a dict or a :class:`DefaultModelConfig` -> a validated ``DefaultModelConfig``.

    Example:
        >>> resolve_model_config({"fcnet_hiddens": [32]}).fcnet_hiddens
        (32,)
    """
    if model_config is None:
        return DefaultModelConfig()
    if isinstance(model_config, DefaultModelConfig):
        return model_config
    if isinstance(model_config, Mapping):
        return DefaultModelConfig.from_dict(model_config)
    raise ModelConfigError(
        f"model_config must be None, a dict or a DefaultModelConfig. Got "
        f"{type(model_config).__name__} ({model_config!r}) instead."
    )


# --------------------------------------------------------------------------------------
# Field rules
# --------------------------------------------------------------------------------------


class _Invalid(Exception):
    def __init__(self, rule: str, hint: str = ""):
        self.rule, self.hint = rule, hint


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _positive_ints(value: Any) -> tuple[int, ...]:
    rule = "a sequence of positive ints"
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise _Invalid(rule)
    if not all(_is_int(v) and v > 0 for v in value):
        raise _Invalid(rule)
    return tuple(int(v) for v in value)


def _int_or_pair(x: Any) -> bool:
    if _is_int(x):
        return x > 0
    return isinstance(x, Sequence) and not isinstance(x, str) and len(x) == 2 and all(_is_int(v) and v > 0 for v in x)


def _conv_filters(value: Any) -> tuple | None:
    if value is None:
        return None
    rule = (
        "None (filters chosen from the image size) or a non-empty list of "
        "[out_channels, kernel, stride] layers (kernel and stride: positive int or [h, w]; "
        "optional 4th entry: padding, a non-negative int, [h, w] or 'same'/'valid')"
    )
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or not value:
        raise _Invalid(rule, "Example: [[16, 4, 2], [32, 4, 2]].")
    layers = []
    for layer in value:
        if isinstance(layer, (str, bytes)) or not isinstance(layer, Sequence) or len(layer) not in (3, 4):
            raise _Invalid(rule, "Example: [[16, 4, 2], [32, 4, 2]].")
        out_ch, kernel, stride = layer[:3]
        padding = layer[3] if len(layer) == 4 else 0
        pad_ok = (
            (_is_int(padding) and padding >= 0)
            or padding in ("same", "valid")
            or (isinstance(padding, Sequence) and not isinstance(padding, str) and len(padding) == 2
                and all(_is_int(p) and p >= 0 for p in padding))
        )
        if not (_is_int(out_ch) and out_ch > 0 and _int_or_pair(kernel) and _int_or_pair(stride) and pad_ok):
            raise _Invalid(rule, "Example: [[16, 4, 2], [32, 4, 2]].")
        tup = lambda v: tuple(v) if isinstance(v, Sequence) and not isinstance(v, str) else v  # noqa: E731
        layers.append((int(out_ch), tup(kernel), tup(stride), tup(padding)) if len(layer) == 4 else (int(out_ch), tup(kernel), tup(stride)))
    return tuple(layers)


def _activation(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str) and value.lower() in ACTIVATIONS:
        return value.lower()
    close = difflib.get_close_matches(str(value).lower(), list(ACTIVATIONS), n=1) if isinstance(value, str) else []
    hint = f"Did you mean {close[0]!r}?" if close else ""
    if isinstance(value, type) and issubclass(value, nn.Module):
        hint = f"Name it as a string, e.g. {value.__name__.lower()!r}, so the config stays JSON."
    raise _Invalid(f"one of {sorted(ACTIVATIONS)} (or None for no activation)", hint)


def _initializer(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str) and value.lower().rstrip("_") in INITIALIZERS:
        return value.lower().rstrip("_")
    close = difflib.get_close_matches(str(value).lower(), list(INITIALIZERS), n=1) if isinstance(value, str) else []
    hint = f"Did you mean {close[0]!r}?" if close else ""
    if callable(value):
        hint = "Name the torch.nn.init function as a string (e.g. 'orthogonal') so the config stays JSON."
    raise _Invalid(f"None (torch's default) or one of {sorted(INITIALIZERS)}", hint)


def _plain_kwargs(value: Any) -> dict | None:
    if value is None:
        return None
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise _Invalid("None or a dict of keyword arguments for the initializer, e.g. {'gain': 1.41}")
    for v in value.values():
        if not (v is None or isinstance(v, (bool, int, float, str)) or (hasattr(v, "item") and getattr(v, "ndim", 1) == 0)):
            raise _Invalid("None or a dict of plain (JSON) keyword arguments for the initializer, e.g. {'gain': 1.41}")
    return dict(value)


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _Invalid("True or False")
    return value


def _positive_int(value: Any) -> int:
    if not (_is_int(value) and value > 0):
        raise _Invalid("a positive int")
    return int(value)


def _positive_number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (value > 0) or math.isnan(value):
        raise _Invalid("a positive number")
    return float(value)


#: Encoder kinds a part of a Dict / Tuple observation can ask for in ``part_encoders``.
PART_ENCODER_KINDS = ("auto", "cnn", "flatten", "one_hot")


def _part_kind(value: Any) -> str:
    if value not in PART_ENCODER_KINDS:
        raise _Invalid(f"an encoder kind, one of {list(PART_ENCODER_KINDS)}")
    return value


_PART_RULES = {
    "encoder": _part_kind,
    "conv_filters": _conv_filters,
    "conv_activation": _activation,
    "fcnet_hiddens": _positive_ints,
    "fcnet_activation": _activation,
}


def _part_encoders(value: Any) -> dict | None:
    """None, or {part path: {entry: value}} with the entries of :data:`_PART_RULES`."""
    if value is None:
        return None
    rule = (f"None or a dict {{part path: {{entry: value}}}} with entries from {sorted(_PART_RULES)}, e.g. "
            "{'image': {'encoder': 'cnn', 'conv_filters': [[16, 4, 2]]}, 'pos': {'fcnet_hiddens': [32]}}")
    if not isinstance(value, Mapping) or not all(isinstance(k, str) and isinstance(v, Mapping) for k, v in value.items()):
        raise _Invalid(rule)
    out = {}
    for key, part in value.items():
        unknown = [k for k in part if k not in _PART_RULES]
        if unknown:
            raise _Invalid(rule, f"Part {key!r} has unknown entries {unknown}.")
        try:
            out[key] = {k: _PART_RULES[k](v) for k, v in part.items()}
        except _Invalid as bad:
            raise _Invalid(rule, f"Part {key!r}: expected {bad.rule}.") from None
    return out


_RULES = {
    "fcnet_hiddens": _positive_ints,
    "head_fcnet_hiddens": _positive_ints,
    "conv_filters": _conv_filters,
    "fcnet_activation": _activation,
    "conv_activation": _activation,
    "head_fcnet_activation": _activation,
    "vf_share_layers": _bool,
    "free_log_std": _bool,
    "use_lstm": _bool,
    "use_gru": _bool,
    "lstm_cell_size": _positive_int,
    "max_seq_len": _positive_int,
    "part_encoders": _part_encoders,
    "log_std_clip_param": _positive_number,
}


def _check_initializer_calls(cfg: DefaultModelConfig, earlier: list[str]) -> list[str]:
    """Try each named initializer with its kwargs on a small tensor, so that a bad keyword
    fails here, when the config is made, not deep inside module construction."""
    problems = []
    for group in _LAYER_GROUPS:
        for part in ("kernel", "bias"):
            name = f"{group}_{part}_initializer"
            if any(f"'{name}" in p for p in earlier) or getattr(cfg, name) is None:
                continue
            init, kwargs = getattr(cfg, name), getattr(cfg, f"{name}_kwargs") or {}
            probe = torch.empty(4, 4) if part == "kernel" else torch.empty(4)  # weight (out, in), bias (out,)
            try:
                INITIALIZERS[init](probe, **kwargs)
            except TypeError as err:
                problems.append(
                    f"The {name + '_kwargs'!r} entry of model_config must be keyword arguments that "
                    f"torch.nn.init.{init}_ accepts. Got {kwargs!r} instead ({err})."
                )
            except (ValueError, RuntimeError) as err:
                hint = " Biases are 1-D: use e.g. 'zeros', 'constant' or 'normal'." if part == "bias" else ""
                problems.append(
                    f"The {name!r} entry of model_config must be an initializer that works on a "
                    f"{part} tensor (with kwargs {kwargs!r}). Got {init!r} instead ({err}).{hint}"
                )
    return problems


def _check_field(name: str, value: Any) -> Any:
    if name in _RULES:
        return _RULES[name](value)
    if name.endswith("_initializer"):
        return _initializer(value)
    if name.endswith("_initializer_kwargs"):
        kwargs = _plain_kwargs(value)
        return kwargs
    raise AssertionError(f"no rule for model_config field {name!r}")  # a bug in rlkit, not user input
