"""The rules every :class:`~rlkit.algorithms.PPOConfig` setting must follow, checked at build().

Each rule returns ``None`` when the value is fine, else the phrase that completes
"The 'name' setting of PPOConfig must be ...", so every message has one shape:
"The 'clip_param' setting of PPOConfig must be a positive float. Got -0.2 instead."
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from rlkit.algorithms.ppo_config import PPOConfig

__all__ = ["check_settings"]


def _number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and not math.isnan(x)


def _int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _positive_float(x: Any) -> str | None:
    return None if _number(x) and 0 < x < math.inf else "a positive float"


def _non_negative_float(x: Any) -> str | None:
    return None if _number(x) and 0 <= x < math.inf else "a non-negative float"


def _unit_interval(x: Any) -> str | None:
    return None if _number(x) and 0 <= x <= 1 else "a float in [0, 1]"


def _positive_int(x: Any) -> str | None:
    return None if _int(x) and x > 0 else "a positive int"


def _optional_positive_float(x: Any) -> str | None:
    return None if x is None or (_number(x) and 0 < x) else "a positive float or None"


def _optional_positive_int(x: Any) -> str | None:
    return None if x is None or (_int(x) and x > 0) else "a positive int or None"


def _bool(x: Any) -> str | None:
    return None if isinstance(x, bool) else "True or False"


def _schedule(rule: Callable[[Any], str | None], what: str) -> Callable[[Any], str | None]:
    """A number following ``rule`` (``what`` says it), or a piecewise-linear schedule."""

    def check(x: Any) -> str | None:
        if not isinstance(x, (list, tuple)):
            return None if rule(x) is None else f"{what} or a schedule [[0, value], [env_step, value], ...]"
        pairs_ok = all(
            isinstance(p, (list, tuple)) and len(p) == 2 and _int(p[0]) and p[0] >= 0
            and _non_negative_float(p[1]) is None for p in x
        )
        steps = [p[0] for p in x] if pairs_ok else []
        if not x or not pairs_ok or steps[0] != 0 or any(b <= a for a, b in zip(steps, steps[1:])):
            return (
                f"{what} or a schedule: a list of [env_step, value] pairs with increasing "
                "int env steps starting at 0 and non-negative values, e.g. [[0, 1e-3], [20000, 1e-4]]"
            )
        return None

    return check


def _fragment(x: Any) -> str | None:
    return None if x == "auto" or (_int(x) and x > 0) else "'auto' or a positive int"


def _num_env_runners(x: Any) -> str | None:
    if x == 0:
        return None
    return (
        "0: rlkit samples in the notebook's own process (to step several envs at once, "
        "raise num_envs_per_env_runner instead)"
    )


def _env(x: Any) -> str | None:
    if x is None:
        return "set with .environment(env): a gymnasium id such as 'CartPole-v1', an env class or a factory"
    if isinstance(x, str) or callable(x):
        return None
    return (
        "a gymnasium id such as 'CartPole-v1', an env class or a factory function (rlkit makes "
        "several copies of the env, so an env instance cannot be used)"
    )


def _env_config(x: Any) -> str | None:
    return None if isinstance(x, Mapping) and all(isinstance(k, str) for k in x) else "a dict with str keys"


def _seed(x: Any) -> str | None:
    return None if x is None or (_int(x) and x >= 0) else "a non-negative int or None"


def _rl_module_spec(x: Any) -> str | None:
    from rlkit.multi_rl_module import MultiRLModuleSpec
    from rlkit.rl_module_spec import RLModuleSpec

    if x is None or isinstance(x, (RLModuleSpec, MultiRLModuleSpec)):
        return None
    if isinstance(x, type):
        return f"an RLModuleSpec or MultiRLModuleSpec (wrap the class: RLModuleSpec(module_class={x.__name__}))"
    return "an RLModuleSpec or MultiRLModuleSpec (or None for rlkit's default actor-critic)"


def _model_config(x: Any) -> str | None:
    import dataclasses

    if x is None or isinstance(x, Mapping) or (dataclasses.is_dataclass(x) and not isinstance(x, type)):
        return None
    return "None, a dict or a DefaultModelConfig"


def _policies(x: Any) -> str | None:
    from rlkit.rl_module_spec import RLModuleSpec

    rule = "None, a list of module ids, or a dict {module_id: RLModuleSpec or None}"
    if x is None:
        return None
    if isinstance(x, Mapping):
        ok = all(isinstance(k, str) and k for k in x) and all(v is None or isinstance(v, RLModuleSpec) for v in x.values())
        return None if ok and x else rule
    if isinstance(x, (list, tuple, set, frozenset)) and x and all(isinstance(k, str) and k for k in x):
        return None
    return rule


def _mapping_fn(x: Any) -> str | None:
    return None if x is None or callable(x) else "a function agent_id -> module_id (or None)"


def _policies_to_train(x: Any) -> str | None:
    if x is None or callable(x):
        return None
    if isinstance(x, (list, tuple, set, frozenset)) and all(isinstance(k, str) for k in x):
        return None
    return "None (all policies), a list of module ids, or a function module_id -> bool"


_RULES: dict[str, Callable[[Any], str | None]] = {
    "env": _env,
    "env_config": _env_config,
    "num_envs_per_env_runner": _positive_int,
    "rollout_fragment_length": _fragment,
    "num_env_runners": _num_env_runners,
    "lr": _schedule(_positive_float, "a positive float"),
    "gamma": _unit_interval,
    "lambda_": _unit_interval,
    "clip_param": _positive_float,
    "vf_clip_param": _optional_positive_float,
    "vf_loss_coeff": _non_negative_float,
    "entropy_coeff": _schedule(_non_negative_float, "a non-negative float"),
    "num_epochs": _positive_int,
    "minibatch_size": _optional_positive_int,
    "train_batch_size": _positive_int,
    "grad_clip": _optional_positive_float,
    "normalize_advantages": _bool,
    "use_kl_loss": _bool,
    "kl_coeff": _non_negative_float,
    "kl_target": _positive_float,
    "rl_module_spec": _rl_module_spec,
    "model_config": _model_config,
    "policies": _policies,
    "policy_mapping_fn": _mapping_fn,
    "policies_to_train": _policies_to_train,
    "seed": _seed,
    "metrics_num_episodes_for_smoothing": _positive_int,
    "torch_num_threads": _optional_positive_int,
}


def check_settings(config: PPOConfig) -> list[str]:
    """Every problem with ``config``'s settings, one sentence each (empty when all is well)."""
    problems = []
    for name, rule in _RULES.items():
        value = getattr(config, name)
        broken = rule(value)
        if broken is not None:
            got = "nothing" if name == "env" and value is None else repr(value)
            problems.append(f"The {name!r} setting of PPOConfig must be {broken}. Got {got} instead.")
    bad = {p.split("'")[1] for p in problems}
    batch, mb = config.train_batch_size, config.minibatch_size
    if not {"train_batch_size", "minibatch_size"} & bad and mb is not None and mb > batch:
        problems.append(
            f"The 'minibatch_size' setting of PPOConfig must be at most train_batch_size ({batch}). "
            f"Got {mb} instead. Lower minibatch_size or raise train_batch_size."
        )
    if not {"policies", "policy_mapping_fn", "rl_module_spec"} & bad:
        from rlkit.multi_rl_module import MultiRLModuleSpec

        n_policies = len(config.policies) if config.policies is not None else 0
        multi_spec = isinstance(config.rl_module_spec, MultiRLModuleSpec)
        n_specs = len(config.rl_module_spec.rl_module_specs) if multi_spec else 0
        if config.policy_mapping_fn is None and max(n_policies, n_specs) > 1:
            problems.append(
                "The 'policy_mapping_fn' setting of PPOConfig must be a function agent_id -> module_id "
                "when there are several policies. Got None instead. Pass it with "
                ".multi_agent(policies=[...], policy_mapping_fn=lambda agent_id, *args: ...)."
            )
        if config.policy_mapping_fn is not None and config.policies is None and not multi_spec:
            problems.append(
                "The 'policies' setting of PPOConfig must name the module ids that "
                "policy_mapping_fn returns. Got None instead. Pass .multi_agent(policies=['a', 'b'], "
                "...) or a MultiRLModuleSpec to .rl_module(rl_module_spec=...)."
            )
    return problems
