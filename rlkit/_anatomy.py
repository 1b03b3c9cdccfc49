"""Anatomy of an RLModule: its parts and layers, output shapes on a sample observation, parameters.

This is the data behind the rich reprs (:mod:`rlkit.reprs`) and the composer's live summary.
It runs one forward pass on a seeded sample observation (batch of one, eval mode, no autograd)
with temporary forward hooks, and leaves the module exactly as it found it: training mode,
weights, hooks and the global RNGs are untouched.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from rlkit.columns import Columns

__all__ = ["Anatomy", "Part", "LayerRow", "module_anatomy", "full_forward", "shape_str", "count_params"]

#: Top-level part roles, in the order the diagram draws them.
ROLES = ("encoder", "actor encoder", "critic encoder", "policy head", "value head", "other")

_WORDS = re.compile(r"[a-z]+")
_ENCODER_WORDS = {"encoder", "encoders", "backbone", "trunk", "torso", "body", "features", "embed", "embedding", "base", "lstm", "gru", "rnn", "cnn", "mlp"}
_CRITIC_WORDS = {"vf", "value", "values", "critic", "v", "baseline"}
_ACTOR_WORDS = {"pi", "policy", "actor", "logits", "action", "actions", "mu", "mean"}


@dataclasses.dataclass
class LayerRow:
    """One row of the layer table: a submodule, its first output shape and own parameters."""

    name: str  # qualified name inside the module, e.g. "encoder.net.0"
    kind: str  # class name, e.g. "Linear"
    detail: str  # short extra_repr, e.g. "in_features=4, out_features=64, bias=True"
    depth: int  # 1 for top-level parts
    out_shape: str | None  # "(B, 64)", or None when it did not run in the sample pass
    n_params: int  # parameters held directly by this layer (not by its children)
    calls: int  # how often it ran in the sample pass


@dataclasses.dataclass
class Part:
    """A top-level child of the module, with the role it plays in the diagram."""

    name: str
    role: str  # one of ROLES
    kind: str
    n_params: int
    n_trainable: int
    out_shape: str | None
    inference: bool  # False: listed in get_non_inference_attributes() (critic-only)
    feeds: list[str]  # parts that read this part's output in the sample pass
    reads_obs: bool  # read the observation directly
    text: str  # torch's repr of the part


@dataclasses.dataclass
class Anatomy:
    """What a module is made of; see :func:`module_anatomy`."""

    module_class: str
    observation_space: str
    action_space: str
    inference_only: bool
    stateful: bool
    obs_shapes: list[tuple[str, str]]  # (path, "(B, 4)") per observation leaf
    parts: list[Part]
    layers: list[LayerRow]
    outputs: dict[str, str]  # forward output key -> shape
    dist: str | None  # the action distribution, e.g. "Categorical for Discrete(2)"
    n_params: int
    n_trainable: int
    n_inference: int  # parameters an inference-only copy keeps
    shared: list[str]  # plain-language notes on what is shared
    status: str | None  # "trained", "untrained", "loaded from ..." when known
    error: str | None  # why the sample forward pass failed, if it did


def count_params(module: nn.Module) -> tuple[int, int]:
    """``(total, trainable)`` parameter counts, each shared tensor counted once."""
    params = list(module.parameters())  # parameters() already drops duplicates
    return sum(p.numel() for p in params), sum(p.numel() for p in params if p.requires_grad)


def shape_str(x: Any) -> str | None:
    """The shape of a tensor output with the batch dim as ``B``: ``(B, 64)``; tuples joined."""
    if isinstance(x, torch.Tensor):
        dims = [str(d) for d in x.shape]
        if dims and dims[0] == "1":  # the sample pass uses a batch of one
            dims[0] = "B"
        return "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"
    if isinstance(x, Mapping):
        shapes = {k: shape_str(v) for k, v in x.items()}
        shapes = {k: v for k, v in shapes.items() if v}
        if not shapes:
            return None
        if len(set(shapes.values())) == 1:  # {h, c}: (B, 32)
            return "{" + ", ".join(map(str, shapes)) + "}: " + next(iter(shapes.values()))
        return "{" + ", ".join(f"{k}: {v}" for k, v in shapes.items()) + "}"
    if isinstance(x, (tuple, list)):
        parts = [s for s in (shape_str(v) for v in x) if s]
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else parts[0] + " + " + ", ".join(parts[1:])
    return None


def _tensors(x: Any):
    if isinstance(x, torch.Tensor):
        yield x
    elif isinstance(x, Mapping):
        for v in x.values():
            yield from _tensors(v)
    elif isinstance(x, (tuple, list)):
        for v in x:
            yield from _tensors(v)


def _storages(x: Any) -> set[int]:
    return {t.untyped_storage().data_ptr() for t in _tensors(x) if t.numel()}


def sample_batch(module: nn.Module, seed: int = 0) -> dict[str, Any]:
    """A batch of one seeded sample observation (plus the initial state for recurrent modules)."""
    from rlkit.spaces import sample_obs_batch

    batch: dict[str, Any] = {Columns.OBS: sample_obs_batch(module.observation_space, 1, seed=seed)}
    state = module.get_initial_state()
    if state:
        batch[Columns.STATE_IN] = {k: v.unsqueeze(0) for k, v in state.items()}
    return batch


def to_module_device(x: Any, module: nn.Module) -> Any:
    """Tensors in ``x`` (nested dicts / tuples) moved to the device of ``module``'s parameters."""
    param = next(module.parameters(), None)
    if param is None or param.device.type == "cpu":
        return x

    def move(v: Any) -> Any:
        if isinstance(v, torch.Tensor):
            return v.to(param.device)
        if isinstance(v, Mapping):
            return {k: move(u) for k, u in v.items()}
        if isinstance(v, tuple):
            return tuple(move(u) for u in v)
        return v

    return move(x)


def full_forward(module: nn.Module, batch: Mapping[str, Any]) -> dict[str, Any]:
    """One forward pass that runs every head (the value head too), without side effects.

    Eval mode (restored afterwards) and no autograd; the training-phase forward is used so
    that value heads run, falling back to inference when the module is inference-only or its
    training forward needs more than observations.
    """
    modes = [(m, m.training) for m in module.modules()]  # restored one by one: mixed modes survive
    module.eval()
    try:
        with torch.no_grad():
            prepared = to_module_device(module._prepare_batch(batch), module)
            if not module.inference_only:
                try:
                    return module._forward_train(prepared)
                except Exception:  # e.g. a training forward that needs actions; fall back
                    pass
            return module._forward_inference(prepared)
    finally:
        for m, training in modes:
            m.training = training


def _role(name: str, non_inference: set[str]) -> str:
    words = set(_WORDS.findall(name.lower()))
    encoder, critic, actor = words & _ENCODER_WORDS, words & _CRITIC_WORDS, words & _ACTOR_WORDS
    if encoder and critic:
        return "critic encoder"
    if encoder and actor:
        return "actor encoder"
    if encoder:
        return "encoder"
    if critic or name in non_inference:
        return "value head"
    if actor:
        return "policy head"
    return "other"


def training_status(module: nn.Module) -> str | None:
    """"trained" / "untrained" / "loaded from <path>" when the module says so, else None.

    rlkit marks a module with ``_rlkit_status`` (a short string) when it knows: trainers and
    checkpoint loaders set it; a module never marked is shown without a status.
    """
    status = getattr(module, "_rlkit_status", None)
    return str(status) if status else None


def module_anatomy(module: nn.Module, *, run_forward: bool = True, seed: int = 0) -> Anatomy:
    """Describe ``module``: parts with roles, a layer table with output shapes, parameter counts.

    Example:
        >>> import gymnasium as gym
        >>> from rlkit import RLModuleSpec
        >>> m = RLModuleSpec(observation_space=gym.spaces.Box(-1, 1, (4,)), action_space=gym.spaces.Discrete(2)).build()
        >>> a = module_anatomy(m)
        >>> a.outputs["action_dist_inputs"], a.n_params == sum(p.numel() for p in m.parameters())
        ('(B, 2)', True)
    """
    non_inference = set(module.get_non_inference_attributes()) if hasattr(module, "get_non_inference_attributes") else set()
    children = list(module.named_children())
    shapes: dict[str, str | None] = {}
    calls: dict[str, int] = {}
    part_in: dict[str, set[int]] = {}
    part_out: dict[str, set[int]] = {}
    keep: list[Any] = []  # hold outputs so storages are not reused during the pass
    outputs: dict[str, str] = {}
    error = None
    obs_storages: set[int] = set()
    head_storages: dict[str, set[int]] = {}

    if run_forward and getattr(module, "observation_space", None) is not None:
        def hook(mod, inputs, output, *, name):
            calls[name] = calls.get(name, 0) + 1
            if name not in shapes:
                shapes[name] = shape_str(output)
            if name in part_names:
                keep.append((inputs, output))
                part_in.setdefault(name, set()).update(_storages(inputs))
                part_out.setdefault(name, set()).update(_storages(output))

        part_names = {n for n, _ in children}
        handles = []
        try:
            for name, sub in module.named_modules():
                if name:
                    handles.append(sub.register_forward_hook(lambda m, i, o, name=name: hook(m, i, o, name=name)))
            batch = sample_batch(module, seed=seed)
            prepared = to_module_device(module._prepare_batch(batch), module)
            obs_storages = _storages(prepared[Columns.OBS])
            keep.append(prepared)
            out = full_forward(module, prepared)
            if isinstance(out, Mapping):
                head_storages = {
                    "policy head": _storages(out.get(Columns.ACTION_DIST_INPUTS)),
                    "value head": _storages(out.get(Columns.VF_PREDS)),
                }
            for key, value in (out.items() if isinstance(out, Mapping) else []):
                s = shape_str(value)
                if s:
                    outputs[str(key)] = s
        except Exception as err:  # shown in the repr / summary, never raised from a repr
            error = f"{type(err).__name__}: {err}"
        finally:
            for h in handles:
                h.remove()

    parts = []
    for name, child in children:
        total, trainable = count_params(child)
        feeds = [other for other, _ in children if other != name and part_out.get(name, set()) & part_in.get(other, set())]
        parts.append(Part(
            name=name, role=_role(name, non_inference), kind=type(child).__name__,
            n_params=total, n_trainable=trainable, out_shape=shapes.get(name),
            inference=name not in non_inference, feeds=feeds,
            reads_obs=bool(obs_storages & part_in.get(name, set())), text=repr(child),
        ))
    produces = {name: [role for role, st in head_storages.items() if st & part_out.get(name, set())]
                for name, _ in children}
    _refine_roles(parts, produces)

    layers = []
    for name, sub in module.named_modules():
        if not name:
            continue
        own = sum(p.numel() for p in sub.parameters(recurse=False))
        detail = sub.extra_repr()
        layers.append(LayerRow(
            name=name, kind=type(sub).__name__, detail=detail if len(detail) <= 80 else detail[:77] + "...",
            depth=name.count(".") + 1, out_shape=shapes.get(name), n_params=own, calls=calls.get(name, 0),
        ))

    total, trainable = count_params(module)
    skip = [p for n, c in children if n in non_inference for p in c.parameters()]
    skip_ids = {id(p) for p in skip}
    n_inference = sum(p.numel() for p in module.parameters() if id(p) not in skip_ids)
    return Anatomy(
        module_class=type(module).__name__,
        observation_space=repr(getattr(module, "observation_space", None)),
        action_space=repr(getattr(module, "action_space", None)),
        inference_only=bool(getattr(module, "inference_only", False)),
        stateful=bool(module.is_stateful()) if hasattr(module, "is_stateful") else False,
        obs_shapes=_obs_shapes(getattr(module, "observation_space", None)),
        parts=parts, layers=layers, outputs=outputs, dist=_dist_name(module),
        n_params=total, n_trainable=trainable, n_inference=n_inference,
        shared=_shared_notes(module, parts), status=training_status(module), error=error,
    )


def _refine_roles(parts: list[Part], produces: dict[str, list[str]]) -> None:
    """Use the data flow of the sample pass where names are silent or ambiguous.

    ``produces[name]``: the head roles whose forward output (ACTION_DIST_INPUTS -> policy
    head, VF_PREDS -> value head) shares storage with that part's output.
    """
    by_name = {p.name: p for p in parts}
    for p in parts:
        if p.role == "other" and len(produces.get(p.name, [])) == 1:
            p.role = produces[p.name][0]

    def reach(p: Part, seen: set[str]) -> set[str]:  # head roles downstream of p
        out: set[str] = set()
        for f in p.feeds:
            if f in seen:
                continue
            seen.add(f)
            q = by_name[f]
            if q.role in ("policy head", "value head"):
                out.add(q.role)
            out |= reach(q, seen)
        return out

    downstream = {p.name: reach(p, {p.name}) for p in parts}
    has_critic_encoder = any(p.role == "critic encoder" for p in parts)
    for p in parts:
        heads = downstream[p.name]
        if p.role == "other" and heads == {"policy head", "value head"}:
            p.role = "encoder"
        elif p.role in ("other", "encoder") and heads == {"policy head"} and (has_critic_encoder or p.role == "other"):
            p.role = "actor encoder"
        elif p.role in ("other", "encoder") and heads == {"value head"}:
            p.role = "critic encoder"
        elif p.role == "other" and p.reads_obs and p.feeds:
            p.role = "encoder"


def _shared_notes(module: nn.Module, parts: list[Part]) -> list[str]:
    notes = []
    roles = {p.role for p in parts}
    for p in parts:
        heads = sorted({q.role for q in parts if q.name in p.feeds and q.role in ("policy head", "value head")})
        if heads == ["policy head", "value head"]:
            notes.append(f"'{p.name}' is shared: the policy head and the value head both read its output.")
    if not notes and "encoder" in roles and {"policy head", "value head"} <= roles and not (
        {"actor encoder", "critic encoder"} & roles
    ):
        enc = [p.name for p in parts if p.role == "encoder"]
        notes.append(f"{', '.join(repr(e) for e in enc)} feeds both the policy and the value head (shared encoder).")
    if {"actor encoder", "critic encoder"} <= roles:
        notes.append("The actor and the critic have separate encoders: no layers are shared between them.")
    # tied weights: one Parameter reachable under several names
    seen: dict[int, str] = {}
    for name, param in module.named_parameters(remove_duplicate=False):
        if id(param) in seen and seen[id(param)] != name:
            notes.append(f"Tied parameter: '{name}' is the same tensor as '{seen[id(param)]}'.")
        else:
            seen.setdefault(id(param), name)
    return notes


def _obs_shapes(space: Any, path: str = "obs") -> list[tuple[str, str]]:
    import gymnasium as gym

    if space is None:
        return []
    if isinstance(space, gym.spaces.Dict):
        return [row for k, s in space.spaces.items() for row in _obs_shapes(s, f"{path}[{k!r}]")]
    if isinstance(space, gym.spaces.Tuple):
        return [row for i, s in enumerate(space.spaces) for row in _obs_shapes(s, f"{path}[{i}]")]
    shape = () if isinstance(space, gym.spaces.Discrete) else tuple(space.shape)
    return [(path, "(" + ", ".join(["B", *map(str, shape)]) + ("," if not shape else "") + ")")]


def _dist_name(module: nn.Module) -> str | None:
    try:
        return module.get_inference_action_dist_cls()._describe()
    except Exception:
        return None
