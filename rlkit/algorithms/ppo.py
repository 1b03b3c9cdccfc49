"""`PPO`: the training loop in the notebook: sample with the EnvRunner, learn with the PPOLearner.

Example:
    >>> from rlkit.algorithms import PPOConfig
    >>> algo = (PPOConfig().environment("CartPole-v1")
    ...         .env_runners(num_envs_per_env_runner=2).training(train_batch_size=64, minibatch_size=32, num_epochs=1)
    ...         .debugging(seed=0).build())
    >>> metrics = algo.train()
    >>> metrics["training_iteration"], metrics["num_env_steps_sampled_lifetime"] >= 64
    (1, True)
    >>> sorted(metrics["learners"]["default_policy"])[:4]
    ['clip_fraction', 'entropy', 'entropy_coeff', 'grad_norm']
"""

from __future__ import annotations

import contextlib
import math
import time
from typing import TYPE_CHECKING, Any, Callable, Iterator

import numpy as np
import torch

from rlkit.algorithms.metrics import EpisodeTracker
from rlkit.algorithms.ppo_batch import build_train_batch
from rlkit.algorithms.ppo_config import PPOConfig
from rlkit.algorithms.ppo_learner import PPOLearner
from rlkit.algorithms.components import build_modules, make_env, max_seq_len_of
from rlkit.rl_module import DEFAULT_MODULE_ID

if TYPE_CHECKING:
    import pandas as pd

    from rlkit.rl_module import RLModule

__all__ = ["PPO"]


class PPO:
    """Proximal Policy Optimization on RLModules, in this process (build it with ``PPOConfig.build()``).

    Each :meth:`train` call is one iteration: sample ``train_batch_size`` env steps from
    ``num_envs_per_env_runner`` envs with the current module(s) (:class:`rlkit.rollouts.EnvRunner`),
    compute GAE advantages, and run the :class:`~rlkit.algorithms.PPOLearner` update. It
    returns the iteration's metrics; :attr:`history` holds every iteration as a DataFrame.

    The algorithm keeps its own torch random stream (seeded by ``.debugging(seed=...)``),
    so code run between iterations in a notebook does not change its results, and a
    checkpoint (:meth:`save_to_path`) resumes with identical next-iteration metrics.
    """

    def __init__(self, config: PPOConfig) -> None:
        config.validate()
        self.config = cfg = config.copy()
        seed = cfg.seed
        if seed is not None:
            gen = torch.Generator().manual_seed(int(seed))
            self._torch_rng_state = gen.get_state()
        else:
            self._torch_rng_state = torch.get_rng_state()
        with self._context():
            self.env, self.is_multi_agent = make_env(cfg, cfg.num_envs_per_env_runner)
            self.module, self.trainable_module_ids, self._mapping_fn = build_modules(cfg, self.env, self.is_multi_agent)
            self.learner = PPOLearner(self.module, cfg, module_ids=self.trainable_module_ids)
        from rlkit.rollouts import EnvRunner

        runner_kwargs: dict[str, Any] = {"explore": True, "seed": seed}
        if self.is_multi_agent:
            runner_kwargs["policy_mapping_fn"] = self._mapping_fn
        runner_module = self.module if self.is_multi_agent else self.module[DEFAULT_MODULE_ID]
        self.env_runner = EnvRunner(runner_module, self.env, **runner_kwargs)
        self._seq_lens = {mid: max_seq_len_of(self.module[mid]) for mid in self.module.keys()}
        self._episodes = EpisodeTracker(window=cfg.metrics_num_episodes_for_smoothing)
        self._eval_runners: dict[int, Any] = {}
        self._history: list[dict[str, Any]] = []
        self.iteration = 0
        self.num_env_steps_sampled_lifetime = 0
        self.num_agent_steps_sampled_lifetime = 0
        self.time_total_s = 0.0

    # ---------------------------------------------------------------- context

    @contextlib.contextmanager
    def _context(self) -> Iterator[None]:
        """The algorithm's own torch RNG stream and thread count, the caller's restored after."""
        threads = torch.get_num_threads()
        wanted = self.config.torch_num_threads or 1
        with torch.random.fork_rng(devices=[]):
            torch.set_rng_state(self._torch_rng_state)
            if wanted != threads:
                torch.set_num_threads(wanted)
            try:
                yield
            finally:
                self._torch_rng_state = torch.get_rng_state()
                if wanted != threads:
                    torch.set_num_threads(threads)

    # ---------------------------------------------------------------- training

    def train(self) -> dict[str, Any]:
        """One iteration: sample, compute advantages, update every trainable module.

        Returns a metrics dict: ``training_iteration``; episode statistics over the last
        ``metrics_num_episodes_for_smoothing`` (100) ended episodes (``episode_return_mean`` /
        ``_min`` / ``_max``, ``episode_len_mean``; multi-agent: the sum over agents, and
        ``module_episode_return_mean`` per module), ``num_episodes`` ended this iteration;
        ``num_env_steps_sampled`` (this iteration; a vector env may add up to
        ``num_envs - 1`` steps over ``train_batch_size``) and ``..._lifetime``; timings and
        throughput (``num_env_steps_sampled_per_s``,
        ``sample_time_s``, ``learn_time_s``); and ``learners``: ``{module_id: {policy_loss,
        vf_loss, entropy, kl, clip_fraction, vf_explained_var, grad_norm, total_loss, lr, ...}}``
        (see :meth:`PPOLearner.update`). ``env_runners`` repeats the episode statistics under
        RLlib's key.
        """
        start = time.perf_counter()
        with self._context():
            rollout, num_env_steps = self._sample()
            sampled = time.perf_counter()
            batch = self._train_batches(rollout)
            learner_metrics = self.learner.update(batch, env_steps=self.num_env_steps_sampled_lifetime)
        done = time.perf_counter()
        num_ended = self._episodes.update(rollout)
        self.iteration += 1
        self.num_env_steps_sampled_lifetime += num_env_steps
        self.num_agent_steps_sampled_lifetime += len(rollout)
        took = done - start
        self.time_total_s += took
        episodes = self._episodes.summary()
        metrics: dict[str, Any] = {
            "training_iteration": self.iteration,
            **{k: v for k, v in episodes.items() if not isinstance(v, dict)},
            "num_episodes": num_ended,
            "num_episodes_lifetime": self._episodes.num_episodes_lifetime,
            "num_env_steps_sampled": num_env_steps,
            "num_env_steps_sampled_lifetime": self.num_env_steps_sampled_lifetime,
            "num_agent_steps_sampled_lifetime": self.num_agent_steps_sampled_lifetime,
            "num_env_steps_sampled_per_s": num_env_steps / took if took > 0 else math.nan,
            "sample_time_s": sampled - start,
            "learn_time_s": done - sampled,
            "time_this_iter_s": took,
            "time_total_s": self.time_total_s,
        }
        if "module_episode_return_mean" in episodes:
            metrics["module_episode_return_mean"] = episodes["module_episode_return_mean"]
        metrics["env_runners"] = {k: metrics[k] for k in ("episode_return_mean", "episode_return_min", "episode_return_max",
                                                          "episode_len_mean", "num_episodes", "num_env_steps_sampled")}
        metrics["learners"] = learner_metrics
        self._history.append(_flatten(metrics))
        return metrics

    def _sample(self) -> tuple[Any, int]:
        """``(rollout, env steps)``: at least ``train_batch_size`` env steps, in fragments of
        ``rollout_fragment_length`` steps per env unless it is ``"auto"``."""
        cfg = self.config
        frag = cfg.rollout_fragment_length
        chunk = cfg.train_batch_size if frag == "auto" else frag * (1 if self.is_multi_agent else self.env_runner.num_envs)
        parts, got = [], 0
        while got < cfg.train_batch_size:
            part = self.env_runner.sample(num_steps=chunk)
            parts.append(part)
            # single-agent rows are env steps; the multi-agent sampler steps the env exactly `chunk` times
            got += chunk if self.is_multi_agent else len(part)
        if len(parts) == 1:
            return parts[0], got
        from rlkit.rollouts import Rollout

        return Rollout.concat(parts), got

    def _train_batches(self, rollout: Any) -> dict[str, dict[str, Any]]:
        cfg = self.config
        if not self.is_multi_agent:
            mid = DEFAULT_MODULE_ID
            return {mid: build_train_batch(rollout, cfg.gamma, cfg.lambda_, self._seq_lens[mid])}
        batches = {}
        present = set(rollout.module_ids)
        for mid in self.trainable_module_ids:
            if mid in present:
                batches[mid] = build_train_batch(rollout.for_module(mid), cfg.gamma, cfg.lambda_, self._seq_lens[mid])
        return batches

    # ---------------------------------------------------------------- evaluation

    def evaluate(self, num_episodes: int = 10, explore: bool = False, seed: int | None = None) -> dict[str, Any]:
        """Run ``num_episodes`` whole episodes (greedy unless ``explore=True``) on separate envs.

        Training is not affected (own envs, own random stream). Returns
        ``episode_return_mean`` / ``_std`` / ``_min`` / ``_max``, ``episode_len_mean``,
        ``num_episodes`` and the list ``episode_returns``.
        """
        from rlkit.rollouts import EnvRunner

        n_envs = max(1, min(int(num_episodes), self.config.num_envs_per_env_runner))
        key = n_envs if seed is None else (n_envs, seed)
        runner = self._eval_runners.get(key)
        if runner is None:
            base = self.config.seed
            eval_seed = seed if seed is not None else (None if base is None else base + 1_000_003)
            env, _ = make_env(self.config, n_envs)
            kwargs: dict[str, Any] = {"explore": explore, "seed": eval_seed}
            if self.is_multi_agent:
                kwargs["policy_mapping_fn"] = self._mapping_fn
            runner = EnvRunner(self.module if self.is_multi_agent else self.module[DEFAULT_MODULE_ID], env, **kwargs)
            self._eval_runners[key] = runner
        threads = torch.get_num_threads()
        with torch.random.fork_rng(devices=[]):
            torch.set_num_threads(self.config.torch_num_threads or 1)
            try:
                rollout = runner.sample(num_episodes=int(num_episodes), explore=explore)
            finally:
                torch.set_num_threads(threads)
        tracker = EpisodeTracker(window=int(num_episodes))
        tracker.update(rollout)
        returns = np.asarray(tracker.returns, dtype=np.float64)
        lengths = np.asarray(tracker.lengths, dtype=np.float64)
        out = {
            "episode_return_mean": float(returns.mean()) if len(returns) else math.nan,
            "episode_return_std": float(returns.std()) if len(returns) else math.nan,
            "episode_return_min": float(returns.min()) if len(returns) else math.nan,
            "episode_return_max": float(returns.max()) if len(returns) else math.nan,
            "episode_len_mean": float(lengths.mean()) if len(lengths) else math.nan,
            "num_episodes": int(len(returns)),
            "episode_returns": returns.tolist(),
        }
        summary = tracker.summary()
        if "module_episode_return_mean" in summary:
            out["module_episode_return_mean"] = summary["module_episode_return_mean"]
        return out

    # ---------------------------------------------------------------- access

    def get_module(self, module_id: str | None = None) -> RLModule:
        """The trained module: ``module_id`` (default: the single-agent module, or the only one)."""
        if module_id is None:
            if DEFAULT_MODULE_ID in self.module:
                return self.module[DEFAULT_MODULE_ID]
            if len(self.module) == 1:
                return next(iter(self.module.values()))
            raise ValueError(
                f"This algorithm trains several modules {sorted(self.module.keys())}; pass one: "
                f"algo.get_module({sorted(self.module.keys())[0]!r})."
            )
        return self.module[module_id]

    @property
    def history(self) -> pd.DataFrame:
        """Every iteration's metrics, one row each; learner metrics as ``"<module_id>/<metric>"``."""
        import pandas as pd

        return pd.DataFrame(self._history)

    # ---------------------------------------------------------------- fit

    def fit(
        self,
        target_return: float | None = None,
        max_env_steps: int | None = None,
        *,
        max_iterations: int | None = None,
        max_time_s: float | None = None,
        eval_interval: int | None = None,
        eval_episodes: int = 10,
        callback: Callable[[pd.DataFrame], Any] | None = None,
        progress: bool = True,
    ) -> pd.DataFrame:
        """Train until ``target_return`` is reached or a budget runs out; returns :attr:`history`."""
        from rlkit.algorithms.fit import fit

        return fit(self, target_return=target_return, max_env_steps=max_env_steps, max_iterations=max_iterations,
                   max_time_s=max_time_s, eval_interval=eval_interval, eval_episodes=eval_episodes,
                   callback=callback, progress=progress)

    # ---------------------------------------------------------------- checkpoints

    def save_to_path(self, path: Any) -> Any:
        """Save modules, optimiser states, config, counters, RNG and env states (safe, atomic)."""
        from rlkit.algorithms.algorithm_checkpoint import save_algorithm

        return save_algorithm(self, path)

    def restore_from_path(self, path: Any) -> None:
        """Load a checkpoint of this algorithm (same config) into it."""
        from rlkit.algorithms.algorithm_checkpoint import restore_algorithm

        restore_algorithm(self, path)

    @classmethod
    def from_checkpoint(cls, path: Any, **overrides: Any) -> PPO:
        """Rebuild the algorithm saved at ``path`` and restore its state. ``overrides`` (``env=``,
        ``policy_mapping_fn=``, ``module_class=``) supply objects that could not be stored by name."""
        from rlkit.algorithms.algorithm_checkpoint import load_algorithm

        return load_algorithm(cls, path, **overrides)

    def stop(self) -> None:
        """Close the envs."""
        for env in [self.env, *(r.env for r in self._eval_runners.values())]:
            with contextlib.suppress(Exception):
                env.close()

    def __repr__(self) -> str:
        modules = ", ".join(f"{mid}: {type(m).__name__}" for mid, m in self.module.items())
        env = self.config.env if isinstance(self.config.env, str) else getattr(self.config.env, "__name__", "env")
        return (f"PPO(env={env!r}, modules={{{modules}}}, iteration={self.iteration}, "
                f"env_steps={self.num_env_steps_sampled_lifetime})")


def _flatten(metrics: dict[str, Any]) -> dict[str, Any]:
    """One history row: scalars as they are, per-module dicts as ``"<module_id>/<metric>"``."""
    row = {k: v for k, v in metrics.items() if not isinstance(v, dict)}
    for mid, values in metrics.get("learners", {}).items():
        row.update({f"{mid}/{k}": v for k, v in values.items()})
    for mid, value in metrics.get("module_episode_return_mean", {}).items():
        row[f"{mid}/episode_return_mean"] = value
    return row
