"""`MultiAgentEnvRunner`: the sampler for PettingZoo ``ParallelEnv`` s and MultiRLModules.

Each env step groups the live agents by the module that acts for them
(``policy_mapping_fn(agent_id) -> module_id``), runs one batched forward pass per module,
and appends one row per agent to that module's growable arrays. Rows of every module share
one numbering (time order), so the merged :class:`Rollout` interleaves agents per step.
"""

from __future__ import annotations

import inspect
import math
from typing import Any, Callable

import numpy as np
import torch

from rlkit.columns import Columns
from rlkit.rollouts import _recording as rec
from rlkit.rollouts.rollout import EnvRunner, check_counts
from rlkit.rollouts.rollout_data import Rollout
from rlkit.spaces import ObservationError, stack_obs

__all__ = ["MultiAgentEnvRunner"]


class MultiAgentEnvRunner(EnvRunner):
    """Samples a PettingZoo ``ParallelEnv`` (see :class:`EnvRunner` for the shared API).

    ``module`` is a :class:`~rlkit.MultiRLModule`, or one RLModule that all agents share.
    ``policy_mapping_fn`` maps an agent id to a module id: a function ``fn(agent_id)`` (or
    ``fn(agent_id, eps_id)``, called once per agent and episode) or a dict. Without one,
    agents map to the module of the same id, or all to the only module.
    ``num_steps`` counts env steps (each gives one row per live agent).
    """

    def __init__(
        self,
        module: Any,
        env: Any,
        *,
        explore: bool = True,
        seed: int | None = None,
        record_frames: bool = False,
        policy_mapping_fn: Callable[..., str] | dict | None = None,
    ) -> None:
        from rlkit.multi_rl_module import MultiRLModule
        from rlkit.rl_module import DEFAULT_MODULE_ID, RLModule

        if isinstance(module, RLModule):
            module = MultiRLModule({DEFAULT_MODULE_ID: module})
        if not isinstance(module, MultiRLModule):
            raise TypeError(f"A PettingZoo env needs a MultiRLModule (or one RLModule), got {type(module).__name__}.")
        self.module = module
        if hasattr(env, "agent_iter"):  # a PettingZoo AEC env (turn by turn): step it as a parallel one
            from pettingzoo.utils.conversions import aec_to_parallel

            env = aec_to_parallel(env)
        self.env = env
        self.owns_env = False
        self.explore = explore
        self.record_frames = record_frames
        self._name = rec.env_name(env)
        self._mapping = _mapping_fn(policy_mapping_fn, module, list(env.possible_agents))
        self._check_agents(list(env.possible_agents), eps_id=0)
        if record_frames and getattr(env, "render_mode", None) != "rgb_array":
            raise ValueError(
                f"record_frames=True needs an env that renders rgb_array frames, but {self._name} "
                f"has render_mode={getattr(env, 'render_mode', None)!r}; create it with render_mode='rgb_array'."
            )
        self._seed = seed
        self._rng_state = rec.seeded_rng_state(seed)
        self._next_eps_id = 0
        self._obs = None
        self._exact_steps = False

    # ---------------------------------------------------------------- mapping

    def _check_agents(self, agents: list[Any], eps_id: int) -> dict[Any, str]:
        """Map every agent, checking modules exist and spaces fit; raise once, listing all."""
        mapped, problems = {}, []
        for agent in agents:
            try:
                mid = self._mapping(agent, eps_id)
            except KeyError:
                problems.append(f"agent {agent!r} has no entry in the policy mapping")
                continue
            if mid not in self.module:
                problems.append(f"agent {agent!r} is mapped to module {mid!r}, which the MultiRLModule lacks")
                continue
            mapped[agent] = mid
        if problems:
            raise ValueError(
                f"The policy mapping does not cover every agent of {self._name}: {'; '.join(problems)}. "
                f"Available module ids: {sorted(self.module.keys())}. Pass policy_mapping_fn="
                f"lambda agent_id: ... returning one of them for every agent (agents: {agents})."
            )
        for agent, mid in mapped.items():
            rec.check_spaces(self.module[mid], self.env.observation_space(agent), self.env.action_space(agent),
                             f"{self._name} (agent {agent!r})", who=mid)
        return mapped

    # ---------------------------------------------------------------- sampling

    def sample(self, num_steps: int | None = None, num_episodes: int | None = None, *, explore: bool | None = None) -> Rollout:
        check_counts(num_steps, num_episodes)
        explore = self.explore if explore is None else explore
        with self._rng():
            if self._obs is None or num_episodes is not None or not self.env.agents:
                self._reset_all()
            return self._collect(num_steps, num_episodes, explore)

    def _reset_all(self) -> None:
        obs, _ = rec.unpack_reset(self.env.reset(seed=self._seed), self._name)
        self._seed = None
        self._new_episode(obs)

    def _new_episode(self, obs: dict) -> None:
        self._obs = obs
        self._eps = self._next_eps_id
        self._next_eps_id += 1
        self._agent_module = self._check_agents(list(self.env.agents), self._eps)
        self._t = {a: 0 for a in self.env.agents}
        self._state = {a: self.module[m].get_initial_state() for a, m in self._agent_module.items()}
        self._last = {}  # agent -> (module id, position) of its previous row in this sample
        self._frame = self.env.render() if self.record_frames else None

    def _join(self, agent: Any) -> None:
        mid = self._check_agents([agent], self._eps)[agent]
        self._agent_module[agent] = mid
        self._t[agent] = 0
        self._state[agent] = self.module[mid].get_initial_state()

    def _collect(self, num_steps: int | None, num_episodes: int | None, explore: bool) -> Rollout:
        env, module = self.env, self.module
        agents_all = list(env.possible_agents)
        agent_code = {a: i for i, a in enumerate(agents_all)}
        bufs = {mid: _ModuleRows(module[mid], mid) for mid in module.keys()}
        frames: list[np.ndarray] = []
        step_limit = num_steps if num_steps is not None else math.inf
        episodes_left = num_episodes if num_episodes is not None else math.inf
        k, row = 0, 0
        with torch.no_grad():
            while k < step_limit and episodes_left > 0:
                if self.record_frames:
                    frames.append(self._frame)
                live = [a for a in env.agents if a in self._obs]
                groups: dict[str, list[Any]] = {}
                for agent in live:
                    if agent not in self._agent_module:  # an agent that joined mid-episode
                        self._join(agent)
                    groups.setdefault(self._agent_module[agent], []).append(agent)
                actions, acted = {}, []
                for mid, agents in groups.items():
                    b, m = bufs[mid], module[mid]
                    obs = stack_obs([self._obs[a] for a in agents], m.observation_space)
                    state = _stack_states([self._state[a] for a in agents])
                    out = self._forward_module(m, obs, state, explore, agents)
                    dist = b.dist_cls.from_logits(out[Columns.ACTION_DIST_INPUTS])
                    act = rec.tree_map(lambda x: x.numpy(), dist.sample() if explore else dist.mode())
                    pos = b.append(obs, act, out, state, len(agents))
                    for j, agent in enumerate(agents):
                        actions[agent] = rec.tree_map(lambda x: x[j], act)
                        if state:
                            self._state[agent] = {s: v[j] for s, v in out[Columns.STATE_OUT].items()}
                        acted.append((agent, mid, pos + j))
                result = env.step(actions)
                if len(result) != 5:
                    raise rec.old_step_api_error(result, self._name)
                next_obs, rewards, terms, truncs, _ = result
                for agent, mid, pos in acted:
                    b = bufs[mid]
                    arr = b.buf.arrays
                    arr[Columns.REWARDS][pos] = rewards.get(agent, 0.0)
                    arr[Columns.TERMINATEDS][pos] = bool(terms.get(agent, False))
                    arr[Columns.TRUNCATEDS][pos] = bool(truncs.get(agent, False))
                    arr[Columns.EPS_ID][pos] = self._eps
                    arr[Columns.T][pos] = self._t[agent]
                    arr["agent"][pos] = agent_code[agent]
                    arr["row"][pos] = row
                    arr["env_step"][pos] = k
                    row += 1
                    self._t[agent] += 1
                    if agent in self._last:  # link the agent's previous row to this one
                        pmid, ppos = self._last[agent]
                        bufs[pmid].buf.arrays["next_row"][ppos] = arr["row"][pos]
                    self._last[agent] = (mid, pos)
                    if truncs.get(agent, False) and not terms.get(agent, False) and agent in next_obs:
                        self._bootstrap(b, pos, module[mid], {agent: next_obs[agent]}, agent, explore)
                self._obs = next_obs
                k += 1
                if not env.agents:  # every agent is done: the episode is over
                    episodes_left -= 1
                    if episodes_left > 0 and k < step_limit:
                        obs, _ = rec.unpack_reset(env.reset(), self._name)
                        self._new_episode(obs)
                    else:
                        self._last = {}
                        break
                elif self.record_frames:
                    self._frame = env.render()
        # Agents whose episode goes on: bootstrap from V of their current observation.
        for agent, (mid, pos) in list(self._last.items()):
            if agent in self._obs and agent in env.agents:
                self._bootstrap(bufs[mid], pos, module[mid], {agent: self._obs[agent]}, agent, explore)
        self._last = {}
        return self._finish_multi(bufs, agents_all, frames, explore)

    def _forward_module(self, m: Any, obs: Any, state: dict, explore: bool, agents: list) -> dict:
        batch = {Columns.OBS: obs, Columns.STATE_IN: state} if state else {Columns.OBS: obs}
        try:
            return rec.forward_recorded(m, batch, explore)
        except ObservationError as err:
            raise ObservationError(
                f"The observations of agents {agents} of {self._name} do not fit "
                f"{type(m).__name__}'s observation space {m.observation_space}: {err}"
            ) from None

    def _bootstrap(self, b: _ModuleRows, pos: int, m: Any, obs: dict, agent: Any, explore: bool) -> None:
        if not b.has_vf:
            return
        state = _stack_states([self._state[agent]]) if self._state.get(agent) else {}
        out = self._forward_module(m, stack_obs(list(obs.values()), m.observation_space), state, explore, [agent])
        vf = out.get(Columns.VF_PREDS)
        if vf is not None:
            b.buf.arrays["boot"][pos] = float(vf[0])

    def _finish_multi(self, bufs: dict, agents_all: list, frames: list, explore: bool) -> Rollout:
        used = {mid: b for mid, b in bufs.items() if b.n}
        total = sum(b.n for b in used.values())
        vf_all = np.zeros(total, dtype=np.float32)
        for b in used.values():
            arr = b.buf.arrays
            vf_all[arr["row"][: b.n]] = arr[Columns.VF_PREDS][: b.n]
        agent_ids = np.asarray(agents_all)
        parts = {}
        for mid, b in used.items():
            arr = {key: v[: b.n] for key, v in b.buf.arrays.items()}
            nxt, boot = arr.pop("next_row"), arr.pop("boot")
            vb = np.where(nxt >= 0, vf_all[np.maximum(nxt, 0)], boot)  # V of the agent's next obs
            vb[arr[Columns.TERMINATEDS]] = 0.0
            if b.has_vf:
                arr[Columns.VALUES_BOOTSTRAPPED] = vb.astype(np.float32)
            else:
                del arr[Columns.VF_PREDS]
            arr[Columns.AGENT_ID] = agent_ids[arr.pop("agent")]
            arr[Columns.MODULE_ID] = np.full(b.n, mid)
            step = arr.pop("env_step")
            if self.record_frames:
                arr[Columns.FRAME_INDEX] = step
            space = b.module.action_space
            actions = rec.build_tree(b.act_template, arr)
            arr.update(rec.distribution_columns(b.dist_cls, arr[Columns.ACTION_DIST_INPUTS], actions, space))
            parts[mid] = arr
        frames_arr = np.stack(frames) if self.record_frames and frames else None
        return _merge(parts, used, frames_arr, {
            "env": self._name, "explore": explore, "num_envs": 1,
            "module": type(self.module).__name__,
        })


class _ModuleRows:
    """Growable flat row arrays for the agents one module acts for."""

    def __init__(self, module: Any, mid: str) -> None:
        self.module, self.mid, self.n, self.has_vf = module, mid, 0, True
        self.dist_cls = module.get_exploration_action_dist_cls()
        self.obs_template, self.obs_specs = rec.leaf_specs(module.observation_space, Columns.OBS)
        self.act_template, self.act_specs = rec.leaf_specs(module.action_space, Columns.ACTIONS)
        self.obs_leaves = rec.leaf_getter(module.observation_space)
        self.act_leaves = rec.leaf_getter(module.action_space)
        self.buf = rec.GrowingArrays(64)
        for key, shape, dtype in self.obs_specs + self.act_specs:
            self.buf.add(key, shape, dtype)
        self.buf.add(Columns.ACTION_DIST_INPUTS, (self.dist_cls.required_input_dim(),), np.float32)
        for key, dtype, fill in ((Columns.VF_PREDS, np.float32, 0), (Columns.REWARDS, np.float32, 0),
                                 (Columns.TERMINATEDS, bool, False), (Columns.TRUNCATEDS, bool, False),
                                 (Columns.EPS_ID, np.int64, 0), (Columns.T, np.int64, 0), ("agent", np.int64, 0),
                                 ("row", np.int64, 0), ("env_step", np.int64, 0), ("next_row", np.int64, -1),
                                 ("boot", np.float32, 0.0)):
            self.buf.add(key, (), dtype, fill=fill)
        self.state_keys = list(module.get_initial_state())
        for key, value in module.get_initial_state().items():
            self.buf.add(f"{Columns.STATE_IN}/{key}", tuple(value.shape),
                         np.float32 if value.is_floating_point() else np.int64)

    def append(self, obs: Any, act: Any, out: dict, state: dict, n: int) -> int:
        """Write ``n`` rows of what the module saw and did; returns their first position."""
        pos = self.n
        self.buf.grow(pos + n)
        a = self.buf.arrays
        for (key, _, _), leaf in zip(self.obs_specs, self.obs_leaves(obs)):
            a[key][pos : pos + n] = leaf
        for (key, _, _), leaf in zip(self.act_specs, self.act_leaves(act)):
            a[key][pos : pos + n] = leaf
        a[Columns.ACTION_DIST_INPUTS][pos : pos + n] = out[Columns.ACTION_DIST_INPUTS].numpy()
        vf = out.get(Columns.VF_PREDS)
        if vf is None:
            self.has_vf = False
        else:
            a[Columns.VF_PREDS][pos : pos + n] = vf.numpy()
        for key in self.state_keys:
            a[f"{Columns.STATE_IN}/{key}"][pos : pos + n] = state[key].numpy()
        self.n += n
        return pos


def _stack_states(states: list[dict]) -> dict[str, torch.Tensor]:
    if not states or not states[0]:
        return {}
    return {k: torch.stack([s[k] for s in states]) for k in states[0]}


def _mapping_fn(fn: Any, module: Any, agents: list) -> Callable[[Any, int], str]:
    """Normalise ``policy_mapping_fn`` to ``f(agent_id, eps_id) -> module_id``."""
    if fn is None:
        ids = list(module.keys())
        if all(a in module for a in agents):
            return lambda agent, eps: agent
        if len(ids) == 1:
            return lambda agent, eps: ids[0]
        return lambda agent, eps: (_ for _ in ()).throw(KeyError(agent))
    if isinstance(fn, dict):
        return lambda agent, eps: fn[agent]
    if not callable(fn):
        raise TypeError(f"policy_mapping_fn must be a function agent_id -> module_id or a dict, got {type(fn).__name__}.")
    try:
        n_params = len([p for p in inspect.signature(fn).parameters.values()
                        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty])
    except (TypeError, ValueError):
        n_params = 1
    return (lambda agent, eps: fn(agent, eps)) if n_params >= 2 else (lambda agent, eps: fn(agent))


def _merge(parts: dict[str, dict], used: dict, frames: np.ndarray | None, metadata: dict) -> Rollout:
    """One Rollout in time order from the modules' rows; per-module Rollouts kept as parts."""
    trees = {}
    part_rollouts = {}
    for mid, arr in parts.items():
        b = used[mid]
        t = {}
        for name, template in ((Columns.OBS, b.obs_template), (Columns.ACTIONS, b.act_template)):
            if not isinstance(template, str):
                t[name] = template
        if not isinstance(b.act_template, str):
            t[Columns.GREEDY_ACTIONS] = rec.leaf_specs(b.module.action_space, Columns.GREEDY_ACTIONS)[0]
        if b.state_keys:
            t[Columns.STATE_IN] = {k: f"{Columns.STATE_IN}/{k}" for k in b.state_keys}
        trees.update(t)
        meta = {**metadata, "observation_space": b.module.observation_space, "action_space": b.module.action_space}
        part_rollouts[mid] = Rollout({k: v for k, v in arr.items() if k != "row"}, trees=t, frames=frames, metadata=meta)
    keys = set.intersection(*(set(a) for a in parts.values())) if parts else set()
    data, missing = {}, {}
    for mid, arr in parts.items():
        for key in set(arr) - keys - {"row"}:
            name = key.split("/")[0]
            missing[name] = (
                f"Column {name!r} exists only for some modules (module {mid!r} has it); "
                f"use rollout.for_module({mid!r})[{name!r}]."
            )
    total = sum(len(a["row"]) for a in parts.values())
    for key in (k for k in next(iter(parts.values())) if k in keys) if parts else ():
        cols = [parts[mid][key] for mid in parts]
        if len({(c.shape[1:], c.dtype.kind) for c in cols}) > 1:
            missing[key] = (
                f"Column {key!r} has different shapes per module "
                f"({ {mid: parts[mid][key].shape[1:] for mid in parts} }); use rollout.for_module(module_id)[{key!r}]."
            )
            continue
        col = np.empty((total, *cols[0].shape[1:]), dtype=np.result_type(*cols))
        for mid in parts:
            col[parts[mid]["row"]] = parts[mid][key]
        data[key] = col
    data.pop("row", None)
    spaces = {mid: used[mid].module.action_space for mid in parts}
    metadata = {**metadata, "action_spaces": spaces}
    first = next(iter(used.values()), None)
    if first is not None and all(rec.space_mismatch(first.module.action_space, s) == [] for s in spaces.values()):
        metadata["action_space"] = first.module.action_space
        metadata["observation_space"] = first.module.observation_space
    trees = {k: v for k, v in trees.items() if all(lf in data for lf in _leaf_keys(v))}
    return Rollout(data, trees=trees, frames=frames, metadata=metadata, parts=part_rollouts if missing else None, missing=missing)


def _leaf_keys(template: Any) -> list[str]:
    if isinstance(template, str):
        return [template]
    values = template.values() if isinstance(template, dict) else template
    return [k for t in values for k in _leaf_keys(t)]
