"""Algorithm checkpoints: everything a PPO run needs to resume, in rlkit's safe checkpoint format.

Layout (one atomic folder; see :mod:`rlkit.checkpoints`)::

    algo_ckpt/
      rlkit_checkpoint.json   kind "algorithm", algorithm "PPO", counters,
                              module_checkpoint "module" (module loaders follow it)
      model.safetensors       tensors of the training state: Adam moments and steps,
                              the torch RNG state, recurrent states, env arrays
      config.json             PPOConfig.to_dict()
      training_state.json     the rest of the training state as JSON, with references
                              into model.safetensors: optimiser hyper-parameters, KL
                              coefficients, episode statistics, the sampler and env
                              state (numpy generators included), counters
      history.json            algo.history, one dict per iteration
      module/                 the MultiRLModule checkpoint (one sub-folder per module id)

Nothing is pickled: tensors go to safetensors, everything else is JSON. Resuming restores
the modules, the optimisers, the algorithm's torch random stream, and the envs' plain
state (see :mod:`rlkit.algorithms.env_state`), so the next iteration after
``PPO.from_checkpoint(path)`` gives the same metrics as it would have without the break.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rlkit.algorithms.env_state import capture_env_state, restore_env_state
from rlkit.algorithms.state_tree import join_tree, split_tree

if TYPE_CHECKING:
    from rlkit.algorithms.ppo import PPO

__all__ = ["save_algorithm", "restore_algorithm", "load_algorithm", "KIND_ALGORITHM"]

KIND_ALGORITHM = "algorithm"
_MODULE_DIR = "module"


def _training_state(algo: PPO) -> dict[str, Any]:
    return {
        "counters": {
            "iteration": algo.iteration,
            "num_env_steps_sampled_lifetime": algo.num_env_steps_sampled_lifetime,
            "num_agent_steps_sampled_lifetime": algo.num_agent_steps_sampled_lifetime,
            "time_total_s": algo.time_total_s,
        },
        "learner": algo.learner.get_state(),
        "torch_rng_state": algo._torch_rng_state,
        "episodes": algo._episodes.get_state(),
        "sampler": capture_env_state(algo.env_runner),
    }


def _json_safe(value: Any) -> Any:
    """NaN / inf become None (strict JSON), recursively."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def save_algorithm(algo: PPO, path: Any) -> Path:
    """Write ``algo``'s checkpoint to the folder ``path`` atomically; returns its absolute path."""
    from rlkit.checkpoints import atomic_directory, save_module_files, write_checkpoint_files

    state = _training_state(algo)
    skipped = state["sampler"]["skipped"]
    if skipped:
        warnings.warn(
            f"Part of the env's state is not plain data and is not in the checkpoint: {skipped}. "
            "Training resumed from it continues from these attributes as a freshly built env has "
            "them, so the next iterations may differ from an uninterrupted run.",
            RuntimeWarning,
            stacklevel=3,
        )
    tree, tensors = split_tree(state, "state")
    record = {
        "kind": KIND_ALGORITHM,
        "algorithm": type(algo).__name__,
        "module_checkpoint": _MODULE_DIR,
        "training_iteration": algo.iteration,
        "num_env_steps_sampled_lifetime": algo.num_env_steps_sampled_lifetime,
        "module_ids": list(algo.module.keys()),
    }
    extra = {"config": algo.config.to_dict(), "training_state": tree, "history": _json_safe(algo._history)}
    with atomic_directory(path) as tmp:
        save_module_files(algo.module, Path(tmp) / _MODULE_DIR)
        write_checkpoint_files(tmp, tensors, record, extra)  # the record last: it marks the folder complete
    return Path(path).expanduser().resolve()


def _read(path: Any) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    from rlkit.checkpoints import read_checkpoint_dir

    tensors, record, extra = read_checkpoint_dir(path)
    if record.get("kind") != KIND_ALGORITHM:
        raise ValueError(
            f"{path} is a {record.get('kind')!r} checkpoint, not an algorithm checkpoint. Load modules "
            f"with RLModule.from_checkpoint(path); algorithm checkpoints come from algo.save_to_path(path)."
        )
    return tensors, record, extra


def restore_algorithm(algo: PPO, path: Any) -> None:
    """Load the checkpoint at ``path`` into ``algo`` (built from the same config)."""
    from rlkit.checkpoints import restore_module

    tensors, record, extra = _read(path)
    if record.get("algorithm") != type(algo).__name__:
        raise ValueError(f"{path} holds a {record.get('algorithm')} checkpoint, not {type(algo).__name__}.")
    saved_ids, ids = record.get("module_ids", []), list(algo.module.keys())
    if sorted(saved_ids) != sorted(ids):
        raise ValueError(
            f"The checkpoint at {path} trains modules {sorted(saved_ids)}, this algorithm {sorted(ids)}. "
            "Build it from the same config (PPO.from_checkpoint(path) does)."
        )
    state = join_tree(extra["training_state"], tensors)
    restore_module(algo.module, Path(path) / _MODULE_DIR)
    algo.learner.set_state(state["learner"])
    algo._torch_rng_state = state["torch_rng_state"]
    algo._episodes.set_state(state["episodes"])
    restore_env_state(algo.env_runner, state["sampler"])
    counters = state["counters"]
    algo.iteration = int(counters["iteration"])
    algo.num_env_steps_sampled_lifetime = int(counters["num_env_steps_sampled_lifetime"])
    algo.num_agent_steps_sampled_lifetime = int(counters["num_agent_steps_sampled_lifetime"])
    algo.time_total_s = float(counters["time_total_s"])
    algo._history = [{k: (math.nan if v is None else v) for k, v in row.items()} for row in extra.get("history", [])]


def load_algorithm(cls: type[PPO], path: Any, **overrides: Any) -> PPO:
    """Rebuild the algorithm saved at ``path`` from its stored config, then restore its state."""
    from rlkit.algorithms.ppo_config import PPOConfig

    _, _, extra = _read(path)
    config = PPOConfig.from_dict(extra["config"], **overrides)
    algo = cls(config)
    restore_algorithm(algo, path)
    return algo
