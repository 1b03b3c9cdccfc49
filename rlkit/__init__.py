"""rlkit: build, inspect and teach reinforcement-learning modules in PyTorch, from Jupyter.

The core (this package minus ``rlkit.widgets`` and ``rlkit.plots``) imports only torch,
gymnasium, numpy and safetensors; the notebook layer loads when it is used.
"""

from __future__ import annotations

import gc as _gc

import gymnasium as _gymnasium  # noqa: F401  (imported first, with the collector as the user has it)
import torch as _torch  # noqa: F401

# Importing rlkit creates a few thousand objects right after torch created millions: with
# the garbage collector on, its full collections scan torch's heap and cost ~90 ms, 7x the
# imports themselves. Nothing here makes reference cycles that need collecting meanwhile.
_gc_was_enabled = _gc.isenabled()
_gc.disable()
try:
    from rlkit.checkpoints import (
        CheckpointError,
        CheckpointSummary,
        inspect_checkpoint,
        load_checkpoint,
    )
    from rlkit.check_module import ModuleCheckError, ModuleCheckReport, check_module
    from rlkit.columns import Columns
    from rlkit.models import DefaultActorCritic, DefaultModelConfig, ModelConfigError, UnsupportedSpaceError
    from rlkit.multi_rl_module import MultiRLModule, MultiRLModuleSpec
    from rlkit.rl_module import DEFAULT_MODULE_ID, RLModule, TorchRLModule
    from rlkit.rl_module_spec import RLModuleSpec
    from rlkit.rollouts import EnvRunner, Rollout, compute_gae, replay, rollout
    from rlkit.spaces import ObservationError
    from rlkit.state_loading import StateMismatchError
finally:
    if _gc_was_enabled:
        _gc.enable()

__version__ = "0.1.0"

__all__ = [
    # --- Vocabulary ---
    "Columns",
    # --- Modules and specs ---
    "RLModule",
    "TorchRLModule",
    "RLModuleSpec",
    "MultiRLModule",
    "MultiRLModuleSpec",
    "DEFAULT_MODULE_ID",
    # --- Default modules ---
    "DefaultActorCritic",
    "DefaultModelConfig",
    # --- Checking ---
    "check_module",
    "ModuleCheckReport",
    "ModuleCheckError",
    # --- Rollouts ---
    "rollout",
    "replay",
    "Rollout",
    "EnvRunner",
    "compute_gae",
    # --- Checkpoints ---
    "load_checkpoint",
    "inspect_checkpoint",
    "CheckpointSummary",
    "CheckpointError",
    # --- Errors ---
    "ObservationError",
    "StateMismatchError",
    "ModelConfigError",
    "UnsupportedSpaceError",
]
