"""`EnvRunner` and `rollout()`: run a module in a gymnasium env and record every forward output.

The loop does only what must happen per step: one batched forward pass over all sub-envs,
one sample from the action distribution, ``env.step``, and writes into preallocated numpy
arrays (time-major ``(K, N, ...)``, grown by doubling). logp, entropy, the greedy action and
the distribution summary are computed afterwards in one batched pass over the recorded
``ACTION_DIST_INPUTS`` (the same numbers, a fraction of the cost).
"""

from __future__ import annotations

import contextlib
import math
from typing import Any, Callable, Iterator

import gymnasium as gym
import numpy as np
import torch

from rlkit.columns import Columns
from rlkit.rollouts import _recording as rec
from rlkit.rollouts.rollout_data import Rollout
from rlkit.spaces import ObservationError, add_batch_dim

__all__ = ["EnvRunner", "rollout"]


def _is_parallel_env(env: Any) -> bool:
    return not isinstance(env, (gym.Env, gym.vector.VectorEnv, str)) and hasattr(env, "possible_agents")


def check_counts(num_steps: int | None, num_episodes: int | None) -> None:
    if num_steps is None and num_episodes is None:
        raise rec.RolloutLengthError(
            "rollout needs num_steps or num_episodes (got neither): pass num_steps=1000 for a "
            "fixed number of steps, or num_episodes=5 for whole episodes."
        )
    for name, value in (("num_steps", num_steps), ("num_episodes", num_episodes)):
        if value is not None and (not isinstance(value, (int, np.integer)) or value < 1):
            raise rec.RolloutLengthError(f"{name} must be a positive int, got {value!r}.")


class EnvRunner:
    """A reusable sampler: ``sample()`` continues where the previous call stopped.

    ``env`` is a gymnasium env, an env id (made with ``render_mode="rgb_array"`` when
    frames are recorded; the runner then owns and closes it), or a gymnasium vector env
    (one batched forward pass over its sub-envs). A PettingZoo ``ParallelEnv`` gives a
    :class:`~rlkit.rollouts.multi_agent.MultiAgentEnvRunner`. Episodes that end are reset
    and sampling goes on; a recurrent module's state is threaded through the steps and
    reset (``module.get_initial_state()``) for the sub-envs whose episode ended.

    ``sample(num_steps=...)`` continues the running episodes (their ``eps_id`` and ``t``
    carry on, so :meth:`Rollout.concat` of successive samples joins them);
    ``sample(num_episodes=...)`` starts fresh episodes and returns only whole ones, spread
    evenly over the sub-envs (no bias towards short episodes).

    For a learner: rows come sub-env by sub-env, each in time order, with ``OBS``,
    ``ACTIONS``, ``ACTION_LOGP``, ``VF_PREDS``, ``REWARDS``, ``TERMINATEDS``, ``TRUNCATEDS``
    and ``VALUES_BOOTSTRAPPED`` = ``V(s_{t+1})`` for every row: the next row's value while
    the episode goes on, ``V(final obs)`` where it was truncated, ``V(current obs)`` where
    the sample stopped mid-episode, 0 where it terminated. Vector envs in every gymnasium
    autoreset mode (``NEXT_STEP``, ``SAME_STEP``, ``DISABLED``) give the same columns.

    Example:
        >>> import gymnasium as gym
        >>> from rlkit import RLModuleSpec
        >>> envs = gym.make_vec("CartPole-v1", num_envs=4)
        >>> module = RLModuleSpec(observation_space=envs.single_observation_space,
        ...                       action_space=envs.single_action_space).build()
        >>> runner = EnvRunner(module, envs, seed=0)
        >>> first, second = runner.sample(num_steps=64), runner.sample(num_steps=64)
        >>> len(first) >= 64, first.bootstrap_values.shape == (len(first),)
        (True, True)
    """

    def __new__(cls, module: Any, env: Any, **kwargs: Any) -> EnvRunner:
        if cls is EnvRunner and _is_parallel_env(env):
            from rlkit.rollouts.multi_agent import MultiAgentEnvRunner

            return super().__new__(MultiAgentEnvRunner)
        return super().__new__(cls)

    def __init__(
        self,
        module: Any,
        env: Any,
        *,
        explore: bool = True,
        seed: int | None = None,
        record_frames: bool = False,
        policy_mapping_fn: Callable[..., str] | None = None,
    ) -> None:
        if policy_mapping_fn is not None:
            raise ValueError(
                "policy_mapping_fn maps the agents of a multi-agent (PettingZoo ParallelEnv) env to "
                f"modules; {type(env).__name__} is a single-agent env, so leave it out."
            )
        self.module = rec.single_module(module)
        self.owns_env = isinstance(env, str)
        if self.owns_env:
            env = gym.make(env, render_mode="rgb_array" if record_frames else None)
        if not hasattr(env, "step") or not hasattr(env, "observation_space"):
            raise TypeError(
                f"rollout needs an env: a gymnasium env, an env id such as 'CartPole-v1', a gymnasium "
                f"vector env or a PettingZoo ParallelEnv; got {type(env).__name__} {env!r:.80}."
            )
        self.env = env
        self.explore = explore
        self.record_frames = record_frames
        self._name = rec.env_name(env)
        self.is_vector = isinstance(env, gym.vector.VectorEnv)
        self.num_envs = int(env.num_envs) if self.is_vector else 1
        obs_space = env.single_observation_space if self.is_vector else env.observation_space
        act_space = env.single_action_space if self.is_vector else env.action_space
        rec.check_spaces(self.module, obs_space, act_space, self._name)
        self.observation_space = self.module.observation_space or obs_space
        self.action_space = self.module.action_space or act_space
        mode = env.metadata.get("autoreset_mode", gym.vector.AutoresetMode.NEXT_STEP) if self.is_vector else None
        self.autoreset_mode = gym.vector.AutoresetMode(mode) if mode is not None else None
        if record_frames and getattr(env, "render_mode", None) != "rgb_array":
            raise ValueError(
                f"record_frames=True needs an env that renders rgb_array frames, but {self._name} "
                f"has render_mode={getattr(env, 'render_mode', None)!r}. Make it with "
                f"gym.make(env_id, render_mode='rgb_array') (or pass the env id and rlkit does)."
            )
        self._seed = seed
        self._rng_state = rec.seeded_rng_state(seed)
        self._next_eps_id = 0
        self._obs: Any = None  # current observation batch; None until the first reset
        self._exact_steps = False  # rollout() sets it: trim a vector env's surplus rows

    # ---------------------------------------------------------------- public

    def sample(self, num_steps: int | None = None, num_episodes: int | None = None, *, explore: bool | None = None) -> Rollout:
        """Step the env and return the recorded :class:`Rollout`.

        Args:
            num_steps: record at least this many rows, fewer than ``num_steps + num_envs``
                (a vector env adds one row per sub-env and step, except sub-envs whose step
                only resets them); running episodes are cut and go on in the next call, so
                no transition is lost between calls. :func:`rollout` returns exactly
                ``num_steps`` rows.
            num_episodes: stop after this many whole episodes (started by this call).
                With both, whichever comes first.
            explore: sample actions (True) or take the greedy mode (False); defaults to
                the runner's ``explore``.
        """
        check_counts(num_steps, num_episodes)
        explore = self.explore if explore is None else explore
        with self._rng():
            if self._obs is None or num_episodes is not None:
                self._reset_all()
            return self._collect(num_steps, num_episodes, explore)

    def close(self) -> None:
        """Close the env if the runner made it (from an env id)."""
        if self.owns_env:
            self.env.close()

    # ---------------------------------------------------------------- setup

    @contextlib.contextmanager
    def _rng(self) -> Iterator[None]:
        """Seeded runs draw from their own torch RNG stream and leave the global one alone."""
        if self._rng_state is None:
            yield
            return
        with torch.random.fork_rng(devices=[]):
            torch.set_rng_state(self._rng_state)
            try:
                yield
            finally:
                self._rng_state = torch.get_rng_state()

    def _reset_all(self) -> None:
        N = self.num_envs
        obs, _ = rec.unpack_reset(self.env.reset(seed=self._seed), self._name)
        self._seed = None  # later resets continue the env's own RNG
        self._obs = obs if self.is_vector else add_batch_dim(obs, self.observation_space)
        self._state = self._initial_state(N)
        self._eps = np.arange(self._next_eps_id, self._next_eps_id + N, dtype=np.int64)
        self._next_eps_id += N
        self._t = np.zeros(N, dtype=np.int64)
        self._resetting = np.zeros(N, dtype=bool)  # NEXT_STEP autoreset: this step only resets
        self._frame = self._render() if self.record_frames else None

    def _initial_state(self, n: int) -> dict[str, torch.Tensor]:
        init = self.module.get_initial_state()
        return {k: v.unsqueeze(0).repeat(n, *([1] * v.dim())) for k, v in init.items()}

    def _render(self) -> np.ndarray:
        frame = self.env.render()
        return np.stack(frame) if self.is_vector else np.asarray(frame)[None]

    def _forward(self, obs: Any, state: dict[str, torch.Tensor], explore: bool) -> dict[str, Any]:
        batch: dict[str, Any] = {Columns.OBS: obs}
        if state:
            batch[Columns.STATE_IN] = state
        try:
            return rec.forward_recorded(self.module, batch, explore)
        except ObservationError as err:
            raise ObservationError(
                f"The observations of {self._name} do not fit {type(self.module).__name__}'s "
                f"observation space {self.module.observation_space}: {err}"
            ) from None

    # ---------------------------------------------------------------- the loop

    def _collect(self, num_steps: int | None, num_episodes: int | None, explore: bool) -> Rollout:
        N, env = self.num_envs, self.env
        single, next_step = not self.is_vector, self.autoreset_mode == gym.vector.AutoresetMode.NEXT_STEP
        module = self.module
        dist_cls = module.get_exploration_action_dist_cls()
        fwd = module.forward_exploration if explore else module.forward_inference
        stateful = bool(self._state)
        simple_obs = not rec.is_structured(self.observation_space)
        structured_act = rec.is_structured(self.action_space)
        # num_episodes: sub-env i records its share of the episodes, then only steps (so
        # short episodes are not over-represented); num_steps: everyone records throughout.
        if num_episodes is not None:
            quota = np.full(N, num_episodes // N) + (np.arange(N) < num_episodes % N)
        else:
            quota = np.full(N, np.iinfo(np.int64).max)
        completed = np.zeros(N, dtype=np.int64)
        recording = quota > 0
        step_limit = num_steps if num_steps is not None else math.inf

        cap = math.ceil(num_steps / N) + (2 if next_step else 0) if num_steps is not None else 64
        buf = rec.GrowingArrays(cap + 1)  # one spare row: the observation after the last step
        obs_specs = rec.leaf_specs(self.observation_space, Columns.OBS)[1]
        act_template, act_specs = rec.leaf_specs(self.action_space, Columns.ACTIONS)
        obs_leaves, act_leaves = rec.leaf_getter(self.observation_space), rec.leaf_getter(self.action_space)
        for key, shape, dtype in obs_specs + act_specs:
            buf.add(key, (N, *shape), dtype)
        for key, dtype in ((Columns.REWARDS, np.float32), (Columns.TERMINATEDS, bool), (Columns.TRUNCATEDS, bool),
                           (Columns.VF_PREDS, np.float32), ("final_vf", np.float32)):
            buf.add(key, (N,), dtype)
        buf.add("valid", (N,), bool, fill=True)
        buf.add(Columns.ACTION_DIST_INPUTS, (N, dist_cls.required_input_dim()), np.float32)
        state_keys = [(f"{Columns.STATE_IN}/{k}", k) for k in self._state]
        for key, k in state_keys:
            v = self._state[k]
            buf.add(key, tuple(v.shape), np.float32 if v.is_floating_point() else np.int64)
        if self.record_frames:
            buf.add("frames", (N, *self._frame.shape[1:]), np.uint8)
        obs, state = self._obs, self._state
        if simple_obs:
            buf.arrays[Columns.OBS][0] = obs
        eps_start, t_start, first_new_id = self._eps.copy(), self._t.copy(), self._next_eps_id
        resetting = self._resetting  # NEXT_STEP: these sub-envs only reset on this step
        any_resetting, any_recording = bool(resetting.any()), True
        valid = recording & ~resetting  # (N,) rows that belong to an episode we keep
        n_valid, all_valid = int(valid.sum()), bool(valid.all())
        has_vf, frames = True, self.record_frames
        values_fn = rec.values_fn(module)  # for modules whose forward_inference skips the critic
        rows, k = 0, 0

        a = buf.arrays
        obs_b = a[Columns.OBS] if simple_obs else None
        rew_b, term_b, trunc_b, valid_b = a[Columns.REWARDS], a[Columns.TERMINATEDS], a[Columns.TRUNCATEDS], a["valid"]
        # The forward outputs (and a single env's rewards and flags) are held as they come for
        # up to rec.CHUNK steps, then stacked into the numpy buffers at once (one copy instead
        # of a .numpy() and a write per step).
        p_adi: list[torch.Tensor] = []
        p_vf: list[torch.Tensor] = []
        p_act: list[torch.Tensor] = []
        pending: dict[str, list[Any]] = {Columns.ACTION_DIST_INPUTS: p_adi, Columns.VF_PREDS: p_vf}
        if not structured_act:
            pending[Columns.ACTIONS] = p_act
        scalar_action = single and isinstance(self.action_space, gym.spaces.Discrete)
        p_rew: list[Any] = []
        p_term: list[Any] = []
        p_trunc: list[Any] = []
        if single:
            pending.update({Columns.REWARDS: p_rew, Columns.TERMINATEDS: p_term, Columns.TRUNCATEDS: p_trunc})
        flushed, chunk = 0, rec.CHUNK
        # forward_* enter no_grad themselves; holding it here saves a context switch per step.
        with torch.no_grad():
            try:
                while rows < step_limit and any_recording:
                    if k - flushed == chunk:
                        flushed = rec.flush(pending, a, flushed)
                    if k + 1 >= buf.capacity:
                        buf.grow(k + 2)
                        a = buf.arrays
                        obs_b = a[Columns.OBS] if simple_obs else None
                        rew_b, term_b, trunc_b, valid_b = a[Columns.REWARDS], a[Columns.TERMINATEDS], a[Columns.TRUNCATEDS], a["valid"]
                    if simple_obs:
                        obs = obs_b[k]  # (N, *obs_shape) view: the env wrote it there last step
                    else:
                        for (key, _, _), leaf in zip(obs_specs, obs_leaves(obs)):
                            a[key][k] = leaf
                    batch = {Columns.OBS: obs, Columns.STATE_IN: state} if stateful else {Columns.OBS: obs}
                    out = fwd(batch)
                    dist_inputs = out[Columns.ACTION_DIST_INPUTS]
                    dist = dist_cls.from_logits(dist_inputs)
                    action_t = dist.sample() if explore else dist.mode()
                    # --- record what the module saw and did
                    p_adi.append(dist_inputs)
                    vf = out.get(Columns.VF_PREDS)
                    if vf is None and values_fn is not None:
                        vf = values_fn(batch, out)
                    if vf is not None:
                        p_vf.append(vf)
                    else:
                        has_vf = False
                    if structured_act:
                        action = rec.tree_map(lambda x: x.numpy(), action_t)
                        for (key, _, _), leaf in zip(act_specs, act_leaves(action)):
                            a[key][k] = leaf
                    else:
                        p_act.append(action_t)
                        action = action_t.numpy()[0] if scalar_action else action_t.numpy()  # np.int64: gymnasium's fast contains() path
                    if not all_valid:
                        valid_b[k] = valid
                    if stateful:
                        for key, sk in state_keys:
                            a[key][k] = state[sk].numpy()
                        state = out[Columns.STATE_OUT]
                        if any_resetting:  # NEXT_STEP: the old episode's state gave V(final obs)
                            state = self._reset_state_rows(state, resetting)
                    if frames:
                        a["frames"][k] = self._frame
                    # --- step the env
                    if single:
                        if scalar_action:
                            result = env.step(action)
                        else:
                            result = env.step(rec.tree_map(lambda x: x[0], action) if structured_act else action[0])
                    else:
                        result = env.step(action)
                    if len(result) != 5:
                        raise rec.old_step_api_error(result, self._name)
                    next_obs, reward, term, trunc, info = result
                    if single:  # Python scalars: a list append now, one array write per chunk
                        p_rew.append(reward)
                        p_term.append(term)
                        p_trunc.append(trunc)
                    else:
                        rew_b[k] = reward
                        term_b[k] = term
                        trunc_b[k] = trunc
                    rows += n_valid
                    if (term or trunc) if single else (any_resetting or term.any() or trunc.any()):
                        done = np.atleast_1d(np.logical_or(term, trunc))
                        completed += done & valid
                        recording = recording & (completed < quota)
                        any_recording = bool(recording.any())
                        if done.any():
                            next_obs, state = self._episodes_ended(
                                k, a, next_obs, state, done, np.atleast_1d(trunc), info, explore, has_vf
                            )
                        if next_step:
                            resetting, any_resetting = done, bool(done.any())
                        valid = recording & ~resetting
                        n_valid, all_valid = int(valid.sum()), bool(valid.all())
                    if simple_obs:
                        try:
                            obs_b[k + 1] = next_obs
                        except (ValueError, TypeError):
                            raise self._obs_error(next_obs) from None
                    else:
                        obs = add_batch_dim(next_obs, self.observation_space) if single else next_obs
                    if frames:
                        self._frame = self._render()
                    k += 1
            except ObservationError as err:
                if getattr(err, "_explained", False):  # from _obs_error: already says which env and how
                    raise
                raise ObservationError(
                    f"The observations of {self._name} do not fit {type(module).__name__}'s "
                    f"observation space {module.observation_space}: {err}"
                ) from None
        rec.flush(pending, a, flushed)
        if simple_obs:
            obs = obs_b[k].copy()
        self._obs, self._state, self._resetting = obs, state, resetting
        # V(obs the rollout stopped at): bootstraps episodes cut by the end of this sample.
        end_vf = self._forward(obs, state, explore).get(Columns.VF_PREDS) if has_vf else None
        return self._finish(buf, k, end_vf, dist_cls, act_template, has_vf, explore, eps_start, t_start, first_new_id,
                            num_steps)

    def _obs_error(self, obs: Any) -> ObservationError:
        """The error for an observation that does not fit the observation space (from step)."""
        from rlkit.spaces import obs_to_tensor

        batch = add_batch_dim(obs, self.observation_space) if not self.is_vector else obs
        try:
            obs_to_tensor(batch, self.observation_space)
            detail = f"got {np.asarray(obs).dtype} values that cannot be stored as {self.observation_space.dtype}"
        except ObservationError as err:
            detail = str(err)
        error = ObservationError(
            f"The observations of {self._name} do not fit {type(self.module).__name__}'s observation "
            f"space {self.observation_space}: step() returned one that does not: {detail}"
        )
        error._explained = True  # the loop's handler re-raises it as is instead of prefixing it again
        return error

    def _reset_state_rows(self, state: dict[str, torch.Tensor], rows: np.ndarray) -> dict[str, torch.Tensor]:
        init = self.module.get_initial_state()
        idx = torch.from_numpy(np.flatnonzero(rows))
        state = {k: v.clone() for k, v in state.items()}
        for k, v in state.items():
            v[idx] = init[k].to(v.dtype)
        return state

    def _episodes_ended(self, k, a, next_obs, state, done, trunc, info, explore, has_vf):
        """Bookkeeping when some sub-envs end an episode: bootstrap, reset, new ids."""
        mode = self.autoreset_mode
        n_done = int(done.sum())
        new_ids = np.arange(self._next_eps_id, self._next_eps_id + n_done)
        self._next_eps_id += n_done
        if mode == gym.vector.AutoresetMode.NEXT_STEP:
            # The env resets these sub-envs on the next step; V(final obs) comes from that step.
            self._eps[done] = new_ids
            return next_obs, state
        if mode is None:  # a single env: reset it ourselves
            final_obs = add_batch_dim(next_obs, self.observation_space)
            next_obs = rec.unpack_reset(self.env.reset(), self._name)[0]  # unbatched, like step's
        elif mode == gym.vector.AutoresetMode.SAME_STEP:
            final_obs = rec.final_obs_batch(info, next_obs, done, self.observation_space)
        else:  # DISABLED: the final obs is what step returned; reset the done sub-envs now
            final_obs = next_obs
            next_obs = rec.unpack_reset(self.env.reset(options={"reset_mask": done}), self._name)[0]
        if has_vf and trunc.any():
            # Truncated: V(final obs) with the state the episode reached, for bootstrapping.
            rows = np.flatnonzero(trunc)
            sub_obs = rec.tree_map(lambda x: np.asarray(x)[rows], final_obs)
            sub_state = {s: v[torch.from_numpy(rows)] for s, v in state.items()}
            vf = self._forward(sub_obs, sub_state, explore).get(Columns.VF_PREDS)
            if vf is not None:
                a["final_vf"][k, rows] = vf.numpy()
        if state:
            state = self._reset_state_rows(state, done)
        self._eps[done] = new_ids
        return next_obs, state

    # ---------------------------------------------------------------- after the loop

    def _step_in_episode(self, eps: np.ndarray, valid: np.ndarray, eps_start, t_start) -> np.ndarray:
        """``t`` of every (K, N) row from the episode ids, and the runner's ``t`` to go on from."""
        v = valid.astype(np.int64)  # (K, N)
        before = np.cumsum(v, axis=0) - v  # (K, N) recorded rows of this sub-env before row k
        new_episode = np.ones(eps.shape, dtype=bool)
        new_episode[1:] = eps[1:] != eps[:-1]
        base = np.maximum.accumulate(np.where(new_episode, before, 0), axis=0)  # count at episode start
        offset = np.where(eps == eps_start, t_start, 0)  # an episode running since an earlier sample
        t = before - base + offset  # (K, N)
        t_end = before[-1] + v[-1] - base[-1] + offset[-1]  # (N,) t of the next row of that episode
        self._t = np.where(self._eps == eps[-1], t_end, 0)
        return t

    def _finish(self, buf, K, end_vf, dist_cls, act_template, has_vf, explore, eps_start, t_start, first_new_id,
                num_steps) -> Rollout:
        a = {key: arr[:K] for key, arr in buf.arrays.items()}
        N = self.num_envs
        a[Columns.EPS_ID] = rec.episode_ids(a[Columns.TERMINATEDS] | a[Columns.TRUNCATEDS], eps_start, first_new_id)
        a[Columns.T] = self._step_in_episode(a[Columns.EPS_ID], a["valid"], eps_start, t_start)
        if has_vf:
            vf = a[Columns.VF_PREDS]
            nxt = np.empty_like(vf)  # (K, N) V(s_{t+1}) per step
            nxt[:-1] = vf[1:]  # the next row of the same sub-env (NEXT_STEP: V(final obs) too)
            nxt[K - 1] = end_vf.numpy() if K else 0.0
            if self.autoreset_mode != gym.vector.AutoresetMode.NEXT_STEP:
                cut = a[Columns.TRUNCATEDS]
                nxt[cut] = a["final_vf"][cut]  # truncated: V(final obs), computed at that step
            nxt[a[Columns.TERMINATEDS]] = 0.0  # terminal: nothing to bootstrap
            a[Columns.VALUES_BOOTSTRAPPED] = nxt
        else:
            del a[Columns.VF_PREDS]
        del a["final_vf"]
        keep = a.pop("valid").T  # (N, K): env-major row order, each episode contiguous
        excess = int(keep.sum()) - num_steps if num_steps is not None and self._exact_steps else 0
        if excess > 0:
            # rollout(): exactly num_steps rows; drop the surplus of the last vector step (the
            # runner is thrown away, so nothing goes missing). Every VALUES_BOOTSTRAPPED stays.
            last = np.flatnonzero(keep[:, -1])[-excess:]
            keep[last, -1] = False
        data = {key: np.ascontiguousarray(arr.swapaxes(0, 1)[keep]) for key, arr in a.items()}
        data[Columns.ENV_INDEX] = np.broadcast_to(np.arange(N)[:, None], keep.shape)[keep]
        frames = None
        if self.record_frames:
            frames = data.pop("frames")
            data[Columns.FRAME_INDEX] = np.arange(len(frames), dtype=np.int64)
        actions = rec.build_tree(act_template, data)
        data.update(rec.distribution_columns(dist_cls, data[Columns.ACTION_DIST_INPUTS], actions, self.action_space))
        trees = {}
        for name, space in ((Columns.OBS, self.observation_space), (Columns.ACTIONS, self.action_space),
                            (Columns.GREEDY_ACTIONS, self.action_space)):
            if rec.is_structured(space):
                trees[name] = rec.leaf_specs(space, name)[0]
        if self._state:
            trees[Columns.STATE_IN] = {k: f"{Columns.STATE_IN}/{k}" for k in self._state}
        metadata = {
            "env": self._name,
            "num_envs": N,
            "explore": explore,
            "module": type(self.module).__name__,
            "observation_space": self.observation_space,
            "action_space": self.action_space,
            "stateful": bool(self._state),
        }
        return Rollout(data, trees=trees, frames=frames, metadata=metadata)


def rollout(
    module: Any,
    env: Any,
    *,
    num_steps: int | None = None,
    num_episodes: int | None = None,
    explore: bool = True,
    seed: int | None = None,
    record_frames: bool = False,
    policy_mapping_fn: Callable[..., str] | None = None,
) -> Rollout:
    """Run ``module`` in ``env`` and record every step and forward output as a :class:`Rollout`.

    A thin wrapper around a fresh :class:`EnvRunner` (see there for ``env`` kinds and
    ``num_steps`` / ``num_episodes``). PettingZoo ``ParallelEnv`` s take a
    :class:`~rlkit.MultiRLModule` (or one shared RLModule) and ``policy_mapping_fn``
    (agent id -> module id). The same ``seed``, module and env give the same rollout.

    Example:
        >>> from rlkit import RLModuleSpec, Columns
        >>> import gymnasium as gym
        >>> space_env = gym.make("CartPole-v1")
        >>> module = RLModuleSpec(observation_space=space_env.observation_space,
        ...                       action_space=space_env.action_space).build()
        >>> r = rollout(module, "CartPole-v1", num_steps=100, seed=0)
        >>> len(r), r[Columns.ACTION_DIST_INPUTS].shape, r.to_dataframe().shape[0]
        (100, (100, 2), 100)
    """
    runner = EnvRunner(
        module, env, explore=explore, seed=seed, record_frames=record_frames, policy_mapping_fn=policy_mapping_fn
    )
    check_counts(num_steps, num_episodes)
    runner._exact_steps = True
    try:
        return runner.sample(num_steps=num_steps, num_episodes=num_episodes)
    finally:
        runner.close()
