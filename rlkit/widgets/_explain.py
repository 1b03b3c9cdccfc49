"""One forward pass laid open: every layer's output for one observation, then the distribution.

Pure torch (no widgets): :func:`explain_forward` is what :class:`ForwardExplainer` draws, and
what its tests compare with a direct forward pass. Hooks are registered for the one pass and
removed afterwards; the module's mode, weights and the global RNG are left as they were.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import torch
from torch import nn

from rlkit._anatomy import full_forward
from rlkit.columns import Columns
from rlkit.spaces import add_batch_dim

__all__ = ["ForwardPass", "LayerOutput", "explain_forward", "first_tensor"]


@dataclasses.dataclass
class LayerOutput:
    name: str  # qualified name inside the module ("encoder.net.0"); "obs..." for inputs
    kind: str  # layer class name
    shape: tuple[int, ...]  # without the batch dim
    values: np.ndarray  # float64, that shape


@dataclasses.dataclass
class ForwardPass:
    """What one forward pass computed for one observation (batch dim removed)."""

    layers: list[LayerOutput]  # in the order they ran, first call of each leaf layer
    outputs: dict[str, Any]  # the module's forward outputs (tensors, batch of one)
    summary: dict[str, np.ndarray]  # the distribution's readable summary, batch dim removed
    greedy: Any  # the mode, as env.step takes it
    sampled: Any  # one sample (seeded), as env.step takes it
    value: float | None  # V(s) when the module has a value head
    entropy: float | None
    logp_greedy: float | None

    @property
    def action_dist_inputs(self) -> np.ndarray:
        return self.outputs[Columns.ACTION_DIST_INPUTS][0].double().cpu().numpy()


def first_tensor(x: Any) -> torch.Tensor | None:
    """The first tensor in a (nested) module output: LSTM's ``(out, (h, c))`` gives ``out``."""
    if isinstance(x, torch.Tensor):
        return x
    if isinstance(x, dict):
        x = list(x.values())
    if isinstance(x, (tuple, list)):
        for v in x:
            t = first_tensor(v)
            if t is not None:
                return t
    return None


def _leaf_layers(module: nn.Module) -> list[tuple[str, nn.Module]]:
    return [(n, m) for n, m in module.named_modules() if n and next(m.children(), None) is None]


def _to_numpy_action(action: Any, space: Any) -> Any:
    from rlkit.rl_module import _to_numpy_action as convert

    def cpu(a: Any) -> Any:
        if isinstance(a, dict):
            return {k: cpu(v) for k, v in a.items()}
        if isinstance(a, tuple):
            return tuple(cpu(v) for v in a)
        return a.cpu()

    return convert(cpu(action), space, True)


def explain_forward(module: nn.Module, obs: Any, *, state: dict[str, torch.Tensor] | None = None,
                    sample_seed: int = 0, leaves: list[tuple[str, nn.Module]] | None = None) -> ForwardPass:
    """Run ``module`` on one observation and record every leaf layer's output.

    ``state`` is a recurrent state without batch dim (default: the module's initial state).

    Example:
        >>> import gymnasium as gym, numpy as np
        >>> from rlkit import RLModuleSpec
        >>> m = RLModuleSpec(observation_space=gym.spaces.Box(-1, 1, (4,)), action_space=gym.spaces.Discrete(2)).build()
        >>> fp = explain_forward(m, np.zeros(4, np.float32))
        >>> fp.summary["probs"].shape, round(float(fp.summary["probs"].sum()), 6)
        ((2,), 1.0)
    """
    space = module.observation_space
    batch: dict[str, Any] = {Columns.OBS: add_batch_dim(obs, space)}
    init = module.get_initial_state() if state is None else state
    if init:
        batch[Columns.STATE_IN] = {k: v.unsqueeze(0) for k, v in init.items()}  # (...) -> (1, ...)

    captured: dict[str, LayerOutput] = {}

    def hook(mod: nn.Module, inputs: Any, output: Any, *, name: str) -> None:
        if name in captured:
            return
        t = first_tensor(output)
        if t is None:
            return
        t = t.detach()
        row = t[0] if t.dim() >= 1 and t.shape[0] == 1 else t  # drop the batch-of-one dim
        captured[name] = LayerOutput(name, type(mod).__name__, tuple(row.shape), row.double().cpu().numpy())

    handles = [m.register_forward_hook(lambda m, i, o, name=n: hook(m, i, o, name=name))
               for n, m in (leaves if leaves is not None else _leaf_layers(module))]
    try:
        out = full_forward(module, batch)
    finally:
        for h in handles:
            h.remove()

    inputs = _input_rows(obs, space)
    adi = out[Columns.ACTION_DIST_INPUTS]
    dist = module.get_inference_action_dist_cls().from_logits(adi)
    summary = {k: v[0].double().cpu().numpy() for k, v in dist.summary().items()}
    mode = dist.mode()
    with torch.random.fork_rng(devices=[]):  # a reproducible sample that leaves the user's RNG alone
        torch.default_generator.manual_seed(sample_seed)  # CPU only: no lazy CUDA seeding
        sample = dist.sample()
    vf = out.get(Columns.VF_PREDS)
    value = float(vf.reshape(-1)[0]) if isinstance(vf, torch.Tensor) else None
    try:
        entropy = float(dist.entropy()[0])
        logp = float(dist.logp(mode)[0])
    except Exception:  # e.g. a deterministic distribution without entropy
        entropy = logp = None
    return ForwardPass(
        layers=inputs + list(captured.values()), outputs=out, summary=summary,
        greedy=_to_numpy_action(mode, module.action_space), sampled=_to_numpy_action(sample, module.action_space),
        value=value, entropy=entropy, logp_greedy=logp,
    )


def _input_rows(obs: Any, space: Any, label: str = "obs") -> list[LayerOutput]:
    import gymnasium as gym

    if isinstance(space, gym.spaces.Dict):
        return [r for k, s in space.spaces.items() for r in _input_rows(obs[k], s, f"{label}[{k!r}]")]
    if isinstance(space, gym.spaces.Tuple):
        return [r for i, s in enumerate(space.spaces) for r in _input_rows(obs[i], s, f"{label}[{i}]")]
    arr = np.asarray(obs, dtype=np.float64)
    return [LayerOutput(label, f"input {type(space).__name__}", tuple(arr.shape), arr)]
