"""`check_module`: the conformance checker users run on their own RLModules."""

from __future__ import annotations

import dataclasses
import html
from typing import Any, Callable

import torch

from rlkit.columns import Columns
from rlkit.distributions import required_input_dim
from rlkit.rl_module import RLModule
from rlkit.spaces import sample_obs_batch

__all__ = ["check_module", "ModuleCheckError", "ModuleCheckReport"]


class ModuleCheckError(AssertionError):
    """``check_module`` found problems; ``.report`` holds every check and its outcome."""

    def __init__(self, report: ModuleCheckReport):
        super().__init__(report.as_text())
        self.report = report


@dataclasses.dataclass
class CheckResult:
    name: str
    ok: bool
    detail: str = ""


@dataclasses.dataclass
class ModuleCheckReport:
    """Every check ``check_module`` ran, with its outcome; renders as a table in notebooks."""

    module_name: str
    results: list[CheckResult]

    @property
    def problems(self) -> list[CheckResult]:
        return [r for r in self.results if not r.ok]

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_text(self) -> str:
        if self.ok:
            return f"{self.module_name}: all {len(self.results)} checks passed."
        lines = [f"{self.module_name} failed {len(self.problems)} of {len(self.results)} checks:"]
        lines += [f"  - {r.name}: {r.detail}" for r in self.problems]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.as_text()

    def _repr_html_(self) -> str:
        from rlkit.reprs import html_block, html_table, ok_mark

        rows = [(ok_mark(r.ok), r.name, r.detail) for r in self.results]
        title = html.escape(self.as_text().splitlines()[0])
        inner = f"<b>{title}</b>" + html_table(["", "check", "detail"], rows, raw=(0,))
        return f"<div class='rlkit-check-report'>{html_block(inner, self.as_text())}</div>"


def _tensors(out: Any):
    if isinstance(out, torch.Tensor):
        yield out
    elif isinstance(out, dict):
        for v in out.values():
            yield from _tensors(v)
    elif isinstance(out, (list, tuple)):
        for v in out:
            yield from _tensors(v)


def _expand_state(state: dict[str, torch.Tensor], batch_size: int) -> dict[str, torch.Tensor]:
    return {k: v.unsqueeze(0).expand(batch_size, *v.shape).contiguous() for k, v in state.items()}


def _first_sample(action: Any, i: int) -> Any:
    if isinstance(action, dict):
        return {k: _first_sample(a, i) for k, a in action.items()}
    if isinstance(action, tuple):
        return tuple(_first_sample(a, i) for a in action)
    return action[i].numpy()


def check_module(module: RLModule, *, batch_size: int = 3, seed: int = 0, raise_on_error: bool = True) -> ModuleCheckReport:
    """Check that ``module`` honours the RLModule contract; report every problem at once.

    Checks the output keys, shapes and dtypes of the three forward passes, that inference and
    exploration record no autograd graph, that training does, the recurrent state's structure,
    a ``get_state`` / ``set_state`` round trip, and that sampled and greedy actions lie inside
    the action space.

    Raises:
        ModuleCheckError: listing every failed check (unless ``raise_on_error=False``).

    Example:
        >>> import gymnasium as gym
        >>> from rlkit import RLModuleSpec
        >>> m = RLModuleSpec(observation_space=gym.spaces.Box(-1, 1, (4,)), action_space=gym.spaces.Discrete(2)).build()
        >>> check_module(m).ok
        True
    """
    name = type(module).__name__
    results: list[CheckResult] = []

    def check(title: str, fn: Callable[[], str | None]) -> None:
        try:
            problem = fn()
        except Exception as err:  # every failure is reported, not just the first
            problem = f"raised {type(err).__name__}: {err}"
        results.append(CheckResult(title, problem is None, problem or ""))

    if not isinstance(module, RLModule):
        results.append(CheckResult("is an RLModule", False, f"got {type(module).__name__}; subclass rlkit.RLModule"))
        report = ModuleCheckReport(name, results)
        if raise_on_error:
            raise ModuleCheckError(report)
        return report

    obs_space, act_space = module.observation_space, module.action_space
    torch.manual_seed(seed)
    obs = sample_obs_batch(obs_space, batch_size, seed=seed)
    stateful = module.is_stateful()
    init_state = module.get_initial_state()

    def make_batch() -> dict[str, Any]:
        batch: dict[str, Any] = {Columns.OBS: obs}
        if stateful:
            batch[Columns.STATE_IN] = _expand_state(init_state, batch_size)
        return batch

    n_inputs = required_input_dim(act_space)
    outputs: dict[str, dict] = {}

    def check_outputs(phase: str) -> str | None:
        out = getattr(module, f"forward_{phase}")(make_batch())
        outputs[phase] = out
        problems = []
        if not isinstance(out, dict):
            return f"returned {type(out).__name__}, expected a dict keyed by Columns"
        adi = out.get(Columns.ACTION_DIST_INPUTS)
        if adi is None:
            problems.append(f"no Columns.ACTION_DIST_INPUTS in the output (keys: {sorted(out)})")
        elif not isinstance(adi, torch.Tensor):
            problems.append(f"ACTION_DIST_INPUTS is {type(adi).__name__}, expected a tensor")
        else:
            if tuple(adi.shape) != (batch_size, n_inputs):
                problems.append(
                    f"ACTION_DIST_INPUTS has shape {tuple(adi.shape)}, expected {(batch_size, n_inputs)} "
                    f"for {act_space}"
                )
            if not adi.is_floating_point():
                problems.append(f"ACTION_DIST_INPUTS has dtype {adi.dtype}, expected a float dtype")
            elif not torch.isfinite(adi).all():
                problems.append("ACTION_DIST_INPUTS contains NaN or inf")
        vf = out.get(Columns.VF_PREDS)
        if vf is not None:
            if not isinstance(vf, torch.Tensor) or tuple(vf.shape) != (batch_size,):
                shape = tuple(vf.shape) if isinstance(vf, torch.Tensor) else type(vf).__name__
                problems.append(f"VF_PREDS has shape {shape}, expected {(batch_size,)} (squeeze the last dim)")
            elif not vf.is_floating_point():
                problems.append(f"VF_PREDS has dtype {vf.dtype}, expected a float dtype")
        if phase != "train":
            grads = [t for t in _tensors(out) if t.requires_grad]
            if grads:
                problems.append(f"{len(grads)} output tensor(s) require grad; forward_{phase} must run without autograd")
        elif any(p.requires_grad for p in module.parameters()) and isinstance(adi, torch.Tensor) and not adi.requires_grad:
            problems.append("ACTION_DIST_INPUTS does not require grad; forward_train must keep autograd")
        if stateful:
            state_out = out.get(Columns.STATE_OUT)
            if not isinstance(state_out, dict):
                problems.append("stateful module returned no Columns.STATE_OUT dict")
            else:
                for k, v in init_state.items():
                    want = (batch_size, *v.shape)
                    got = tuple(state_out[k].shape) if k in state_out else None
                    if got != want:
                        problems.append(f"STATE_OUT[{k!r}] has shape {got}, expected {want}")
        return "; ".join(problems) or None

    check("forward_inference outputs", lambda: check_outputs("inference"))
    check("forward_exploration outputs", lambda: check_outputs("exploration"))
    if module.inference_only:
        def train_refused() -> str | None:
            try:
                module.forward_train(make_batch())
            except RuntimeError:
                return None
            return "forward_train ran on an inference-only module; it must raise RuntimeError"

        check("forward_train refused (inference-only)", train_refused)
    else:
        check("forward_train outputs", lambda: check_outputs("train"))

    def actions_in_space() -> str | None:
        out = outputs.get("exploration") or module.forward_exploration(make_batch())
        dist = module.get_exploration_action_dist_cls().from_logits(out[Columns.ACTION_DIST_INPUTS])
        bad = []
        for label, action in (("sampled", dist.sample()), ("greedy", dist.mode())):
            for i in range(batch_size):
                a = _first_sample(action, i)
                if not act_space.contains(a):
                    bad.append(f"{label} action {a!r} is not in {act_space}")
                    break
        return "; ".join(bad) or None

    check("actions inside the action space", actions_in_space)

    def state_round_trip() -> str | None:
        state = module.get_state()
        if not all(isinstance(v, torch.Tensor) for v in state.values()):
            return "get_state() must return {name: tensor}"
        before = module.forward_inference(make_batch())[Columns.ACTION_DIST_INPUTS]
        try:
            fresh = type(module)(
                observation_space=obs_space, action_space=act_space,
                inference_only=module.inference_only, model_config=module.model_config,
            )
        except TypeError:
            fresh = module
        fresh.set_state(state)
        after = fresh.forward_inference(make_batch())[Columns.ACTION_DIST_INPUTS]
        if not torch.equal(before, after):
            return "forward_inference differs after set_state(get_state()) into a fresh module"
        return None

    check("get_state / set_state round trip", state_round_trip)

    def act_single() -> str | None:
        single = obs_space.sample()
        action = module.act(single)
        if stateful:
            action = action[0]
        if not act_space.contains(action):
            return f"act() returned {action!r}, not in {act_space}"
        return None

    check("act() on one observation", act_single)

    report = ModuleCheckReport(name, results)
    if raise_on_error and not report.ok:
        raise ModuleCheckError(report)
    return report
