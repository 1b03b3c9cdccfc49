"""rlkit: build, inspect and teach reinforcement-learning modules in PyTorch, from Jupyter.

The core (this package minus ``rlkit.widgets`` and ``rlkit.plots``) imports only torch,
gymnasium, numpy and safetensors; the notebook layer loads when it is used.
"""

from __future__ import annotations

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
