"""Building what a PPO run needs from its config: the envs, the modules, and the checks on them.

Everything here runs inside ``PPOConfig.build()``, so a module PPO cannot train (no value
output, inference-only, wrong output shapes) fails there, with the fix, rather than in the
middle of the first iteration.
"""

from __future__ import annotations

from typing import Any, Callable

import gymnasium as gym
import torch

from rlkit.algorithms.ppo_config import AlgorithmConfigError, PPOConfig, call_env_factory
from rlkit.columns import Columns
from rlkit.multi_rl_module import MultiRLModule, MultiRLModuleSpec
from rlkit.rl_module import DEFAULT_MODULE_ID, RLModule
from rlkit.rl_module_spec import RLModuleSpec

__all__ = ["make_env", "build_modules", "check_trainable", "max_seq_len_of"]


def _is_parallel_env(env: Any) -> bool:
    return not isinstance(env, (gym.Env, gym.vector.VectorEnv)) and hasattr(env, "possible_agents")


def _make_one(config: PPOConfig) -> Any:
    env, env_config = config.env, dict(config.env_config or {})
    try:
        if isinstance(env, str):
            return gym.make(env, **env_config)
        return call_env_factory(env, env_config)
    except gym.error.Error as err:  # unknown id, deprecated version, missing extra, ...
        raise AlgorithmConfigError(
            f"The 'env' setting of PPOConfig must name an env gymnasium can make. Got {env!r} instead, "
            f"and gymnasium said: {err}"
        ) from err
    except TypeError as err:  # most often env_config keys the env does not take
        raise AlgorithmConfigError(
            f"Making the env {env!r} with env_config={env_config!r} failed: {err}. Check the "
            f"'env_config' setting of PPOConfig against the env's constructor arguments."
        ) from err


def make_env(config: PPOConfig, num_envs: int) -> tuple[Any, bool]:
    """``(env, is_multi_agent)``: a gymnasium ``SyncVectorEnv`` of ``num_envs`` copies, or the
    PettingZoo ``ParallelEnv`` itself (an AEC env is converted to a parallel one)."""
    first = _make_one(config)
    if hasattr(first, "agent_iter") and hasattr(first, "possible_agents"):  # PettingZoo AEC
        from pettingzoo.utils.conversions import aec_to_parallel

        first = aec_to_parallel(first)
    if _is_parallel_env(first):
        return first, True
    if isinstance(first, gym.vector.VectorEnv):
        return first, False
    if not isinstance(first, gym.Env):
        raise AlgorithmConfigError(
            f"The 'env' setting of PPOConfig must make a gymnasium env or a PettingZoo ParallelEnv. "
            f"Got {config.env!r}, which made a {type(first).__name__} instead."
        )
    made = [first]

    def factory() -> gym.Env:
        return made.pop() if made else _make_one(config)

    return gym.vector.SyncVectorEnv([factory] * num_envs), False


def _agent_spaces(env: Any) -> dict[str, tuple[gym.Space, gym.Space]]:
    return {a: (env.observation_space(a), env.action_space(a)) for a in env.possible_agents}


def _call_mapping(fn: Callable[..., str]) -> Callable[[Any], str]:
    """``agent_id -> module_id`` from a mapping function taking ``(agent_id)`` or, like RLlib's,
    ``(agent_id, episode, ...)`` (called with the episode id, as the sampler does)."""
    import inspect

    try:
        required = [p for p in inspect.signature(fn).parameters.values()
                    if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty]
    except (TypeError, ValueError):
        required = []
    if len(required) >= 2:
        return lambda agent_id: fn(agent_id, 0)
    return lambda agent_id: fn(agent_id)


def build_modules(config: PPOConfig, env: Any, multi_agent: bool) -> tuple[MultiRLModule, list[str], Callable | None]:
    """The :class:`MultiRLModule` to train (one id, ``default_policy``, when single-agent),
    the ids to train, and the agent -> module mapping (multi-agent)."""
    spec = config.rl_module_spec
    if not multi_agent:
        if isinstance(spec, MultiRLModuleSpec):
            raise AlgorithmConfigError(
                f"The 'rl_module_spec' setting of PPOConfig is a MultiRLModuleSpec, but {config.env!r} "
                f"is a single-agent env. Pass one RLModuleSpec, or a PettingZoo env with .multi_agent(...)."
            )
        if config.policies is not None or config.policy_mapping_fn is not None:
            name = "policies" if config.policies is not None else "policy_mapping_fn"
            raise AlgorithmConfigError(
                f"The {name!r} setting of PPOConfig is for multi-agent (PettingZoo) envs, but {config.env!r} "
                f"is a single-agent env, which trains one module, {DEFAULT_MODULE_ID!r}. Leave out "
                f".multi_agent(...), or use a PettingZoo ParallelEnv."
            )
        filled = _fill(spec or RLModuleSpec(), env.single_observation_space, env.single_action_space, config)
        module = _build(filled, DEFAULT_MODULE_ID)
        multi = MultiRLModule({DEFAULT_MODULE_ID: module})
        check_trainable(multi, [DEFAULT_MODULE_ID])
        return multi, [DEFAULT_MODULE_ID], None

    spaces = _agent_spaces(env)
    specs: dict[str, RLModuleSpec | None] = {}
    if isinstance(config.policies, dict):
        specs.update(config.policies)
    elif config.policies is not None:
        specs.update({mid: None for mid in config.policies})
    if isinstance(spec, MultiRLModuleSpec):
        for mid, s in spec.rl_module_specs.items():
            specs[mid] = specs.get(mid) or s
    elif spec is not None:  # one spec for every policy
        specs = {mid: (s or spec) for mid, s in specs.items()} if specs else {DEFAULT_MODULE_ID: spec}
    if not specs:
        specs = {DEFAULT_MODULE_ID: None}
    user_fn = config.policy_mapping_fn
    only = next(iter(specs))
    mapping = _call_mapping(user_fn) if user_fn is not None else (lambda agent_id: only)
    by_module: dict[str, list[str]] = {}
    problems = []
    for agent in env.possible_agents:
        mid = mapping(agent)
        if mid not in specs:
            problems.append(f"policy_mapping_fn({agent!r}) returned {mid!r}, which is not one of the policies {sorted(specs)}.")
            continue
        by_module.setdefault(mid, []).append(agent)
    if problems:
        raise AlgorithmConfigError("\n".join(problems) + " Add it to .multi_agent(policies=...) or fix the mapping.")
    modules = {}
    for mid, s in specs.items():
        agents = by_module.get(mid)
        if not agents:
            if s is None or s.observation_space is None or s.action_space is None:
                raise AlgorithmConfigError(
                    f"No agent of the env maps to policy {mid!r} (agents: {list(env.possible_agents)}), so its "
                    f"spaces cannot be taken from the env. Map an agent to it, drop it from policies, or give "
                    f"its RLModuleSpec both spaces."
                )
            obs_space, act_space = s.observation_space, s.action_space
        else:
            obs_space, act_space = spaces[agents[0]]
            different = [a for a in agents[1:] if spaces[a] != (obs_space, act_space)]
            if different:
                raise AlgorithmConfigError(
                    f"Agents {agents} all map to policy {mid!r}, but {different} have other spaces than "
                    f"{agents[0]!r} ({obs_space}, {act_space}); map them to different policies."
                )
        modules[mid] = _build(_fill(s or RLModuleSpec(), obs_space, act_space, config), mid)
    multi = MultiRLModule(modules)
    trainable = _policies_to_train(config, list(modules))
    check_trainable(multi, trainable)
    return multi, trainable, user_fn if user_fn is not None else (lambda agent_id: only)


def _policies_to_train(config: PPOConfig, ids: list[str]) -> list[str]:
    chosen = config.policies_to_train
    if chosen is None:
        return ids
    if callable(chosen):
        return [mid for mid in ids if chosen(mid)]
    unknown = [mid for mid in chosen if mid not in ids]
    if unknown:
        raise AlgorithmConfigError(f"policies_to_train names {unknown}, which are not policies. Policies: {sorted(ids)}.")
    return [mid for mid in ids if mid in chosen]


#: What PPO changes in rlkit's default actor-critic (the rest is DefaultModelConfig's): two
#: 64-unit layers, and a critic with its own encoder, as in the PPO paper and SB3's PPO. A
#: shared encoder lets the large early value errors swamp the policy gradient.
PPO_DEFAULT_MODEL_CONFIG = {"fcnet_hiddens": [64, 64], "vf_share_layers": False}


def _model_config(spec: RLModuleSpec, config: PPOConfig) -> Any:
    """The spec's model_config if it has one; else the config's, over PPO's defaults for the
    default actor-critic (a DefaultModelConfig object is taken as it is)."""
    if spec.model_config is not None:
        return spec.model_config
    given = config.model_config
    if spec.module_class is not None or not (given is None or isinstance(given, dict)):
        return given
    return {**PPO_DEFAULT_MODEL_CONFIG, **(given or {})}


def _fill(spec: RLModuleSpec, obs_space: gym.Space, act_space: gym.Space, config: PPOConfig) -> RLModuleSpec:
    """The spec with spaces (and model_config) taken from the env / config where left out."""
    return RLModuleSpec(
        module_class=spec.module_class,
        observation_space=spec.observation_space if spec.observation_space is not None else obs_space,
        action_space=spec.action_space if spec.action_space is not None else act_space,
        inference_only=spec.inference_only,
        model_config=_model_config(spec, config),
    )


def _build(spec: RLModuleSpec, module_id: str) -> RLModule:
    if spec.inference_only:
        raise AlgorithmConfigError(
            f"The module for {module_id!r} is inference-only (RLModuleSpec(inference_only=True)): it has "
            "no value function and cannot be trained. Build it with inference_only=False."
        )
    return spec.build()


def check_trainable(multi: MultiRLModule, module_ids: list[str]) -> None:
    """Run each module's ``forward_train`` on two sampled observations and check PPO can use it."""
    from rlkit.spaces import sample_obs_batch

    problems = []
    for mid in module_ids:
        module = multi[mid]
        name = type(module).__name__
        batch: dict[str, Any] = {Columns.OBS: sample_obs_batch(module.observation_space, 2)}
        if module.is_stateful():
            init = module.get_initial_state()
            batch[Columns.STATE_IN] = {k: v.unsqueeze(0).expand(2, *v.shape).clone() for k, v in init.items()}
        try:
            with torch.no_grad():
                out = module.forward_train(batch)
        except Exception as err:  # noqa: BLE001 - report any failure with the module's name
            problems.append(f"{name} ({mid!r}).forward_train() failed on a sampled batch of 2 observations: "
                            f"{type(err).__name__}: {err}")
            continue
        keys = sorted(map(str, out))
        if Columns.ACTION_DIST_INPUTS not in out:
            problems.append(
                f"PPO needs action distribution inputs, but {name} ({mid!r}).forward_train() returned keys "
                f"{keys} without Columns.ACTION_DIST_INPUTS ('action_dist_inputs')."
            )
        if Columns.VF_PREDS not in out:
            problems.append(
                f"PPO needs a value output, but {name} ({mid!r}).forward_train() returned keys {keys} without "
                f"Columns.VF_PREDS ('vf_preds'). Add a value head in setup() (e.g. self.value_head = "
                f"nn.Linear(hidden, 1)) and return Columns.VF_PREDS: self.value_head(h).squeeze(-1), shape (B,), "
                f"from _forward (or _forward_train)."
            )
            continue
        try:  # the sampler records V(s_t) from forward_exploration: GAE needs it there too
            explore_keys = set(map(str, module.forward_exploration(batch)))
        except Exception:  # noqa: BLE001 - a failing exploration pass is the rollout's to explain
            explore_keys = {Columns.VF_PREDS}
        if Columns.VF_PREDS not in explore_keys:
            problems.append(
                f"PPO needs a value output while sampling too, but {name} ({mid!r}).forward_exploration() "
                f"returned keys {sorted(explore_keys)} without Columns.VF_PREDS ('vf_preds'), which GAE needs "
                f"for the advantages. Return Columns.VF_PREDS from _forward (shared by every pass) or from "
                f"_forward_exploration as well as _forward_train."
            )
        vf = out[Columns.VF_PREDS]
        if not isinstance(vf, torch.Tensor) or tuple(vf.shape) != (2,):
            shape = tuple(vf.shape) if isinstance(vf, torch.Tensor) else type(vf).__name__
            hint = " Squeeze the last dim: self.value_head(h).squeeze(-1)." if shape == (2, 1) else ""
            problems.append(
                f"PPO expects Columns.VF_PREDS of shape (B,), but {name} ({mid!r}) returned {shape} for B=2.{hint}"
            )
    if problems:
        raise AlgorithmConfigError("\n".join(problems))


def max_seq_len_of(module: RLModule) -> int | None:
    """Sequence length a stateful module trains on (``model_config['max_seq_len']``, default 20);
    ``None`` for modules without recurrent state."""
    if not module.is_stateful():
        return None
    config = getattr(module, "config", None)
    value = getattr(config, "max_seq_len", None)
    if value is None:
        mc = module.model_config
        value = mc.get("max_seq_len") if isinstance(mc, dict) else getattr(mc, "max_seq_len", None)
    return int(value or 20)

