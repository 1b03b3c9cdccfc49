"""Checkpoints: safe, atomic, self-describing folders of safetensors weights and JSON.

Modules (single or multi) use the methods ``module.save_to_path(path, **metadata)``,
``RLModule.from_checkpoint(path)`` / ``MultiRLModule.from_checkpoint(path)`` and
``module.restore_from_path(path)``, which call the functions here.

Layout of a module checkpoint folder::

    ckpt/
      rlkit_checkpoint.json   format, format_version, rlkit/torch/safetensors/python versions,
                              created (ISO UTC), kind ("rl_module"), module_class (import path),
                              spec (RLModuleSpec.to_dict(): spaces, model_config, inference_only),
                              parameter_count, metadata (the user's **metadata),
                              weights {file, sha256, crc32, size_bytes, num_tensors}
      model.safetensors       the state dict

A ``MultiRLModule`` checkpoint has ``kind: "multi_rl_module"``, the MultiRLModuleSpec dict,
``modules: {module_id: "modules/<folder>"}`` and, under ``modules/``, one module checkpoint
per module id (each loadable on its own with ``RLModule.from_checkpoint``).

Guarantees:

* **No code runs on load.** Weights are safetensors, everything else JSON; nothing is ever
  unpickled, and a folder holding ``*.pkl`` / ``*.pt``-like files, or a weights file that is
  a pickle, is refused unread (:class:`UnsafeCheckpointError`). Classes are rebuilt from
  their import path (or ``module_class=``).
* **Atomic.** A save writes a hidden temporary folder next to the target, fsyncs it and
  swaps it in (see :mod:`rlkit.checkpoints.atomic`): a process killed at any moment leaves
  the previous checkpoint or the new one, never a mix.
* **Verified.** Each file's size and hash were recorded at save time; loading checks the
  crc32 (fast; ``verify="sha256"`` for the full hash) and ``inspect_checkpoint`` the sha256.
* **Explained failures**, each naming the file and the fix: :class:`CheckpointNotFoundError`,
  :class:`CheckpointCorruptError`, :class:`CheckpointVersionError`,
  :class:`UnsafeCheckpointError`, :class:`CheckpointClassError`,
  :class:`CheckpointNotAModuleError`, and
  :class:`~rlkit.state_loading.StateMismatchError` for architecture mismatches.

Building blocks for other checkpoints (e.g. an algorithm's)::

    write_checkpoint_dir(path, tensors, metadata, extra_json=None) -> Path   # atomic
    read_checkpoint_dir(path) -> (tensors, record, extra_json)
    with atomic_directory(path) as tmp:                                      # compose
        write_checkpoint_files(tmp, optimizer_tensors, {"kind": "algorithm",
                               "module_checkpoint": "module"}, {"config": config_dict})
        save_module_files(module, tmp / "module")

``metadata`` is stored in ``rlkit_checkpoint.json`` (give it a ``"kind"``), each
``extra_json`` entry as ``<name>.json``. A checkpoint whose record has
``"module_checkpoint": "<relative folder>"`` can be passed to every module loader
(``RLModule.from_checkpoint``, ``load_checkpoint``, ``inspect_checkpoint`` shows the record).

Example:
    >>> import tempfile, gymnasium as gym
    >>> from rlkit import RLModule, RLModuleSpec
    >>> module = RLModuleSpec(observation_space=gym.spaces.Box(-1, 1, (4,)),
    ...                       action_space=gym.spaces.Discrete(2)).build()
    >>> path = module.save_to_path(tempfile.mkdtemp() + "/ckpt", note="first try")
    >>> ckpt = load_checkpoint(path)
    >>> sorted(ckpt["module_state"]) == sorted(module.state_dict()), ckpt["metadata"]
    (True, {'note': 'first try'})
    >>> deployed = RLModule.from_checkpoint(path, inference_only=True)
    >>> deployed.inference_only, hasattr(deployed, "vf_head")
    (True, False)
"""

from __future__ import annotations

from rlkit.checkpoints.atomic import atomic_directory
from rlkit.checkpoints.errors import (
    CheckpointClassError,
    CheckpointCorruptError,
    CheckpointError,
    CheckpointNotAModuleError,
    CheckpointNotFoundError,
    CheckpointVersionError,
    UnsafeCheckpointError,
)
from rlkit.checkpoints.format import (
    FORMAT_VERSION,
    METADATA_FILE,
    WEIGHTS_FILE,
    read_checkpoint_dir,
    write_checkpoint_dir,
    write_checkpoint_files,
)
from rlkit.checkpoints.inspect import CheckpointSummary, inspect_checkpoint
from rlkit.checkpoints.save_load import (
    load_checkpoint,
    load_module,
    restore_module,
    save_module,
    save_module_files,
)

#: ARCHITECTURE.md's name for :func:`save_module`.
save_checkpoint = save_module

__all__ = [
    # --- modules ---
    "save_module",
    "save_checkpoint",
    "load_module",
    "restore_module",
    "load_checkpoint",
    "inspect_checkpoint",
    "CheckpointSummary",
    # --- building blocks ---
    "write_checkpoint_dir",
    "read_checkpoint_dir",
    "write_checkpoint_files",
    "save_module_files",
    "atomic_directory",
    "FORMAT_VERSION",
    "METADATA_FILE",
    "WEIGHTS_FILE",
    # --- errors ---
    "CheckpointError",
    "CheckpointNotFoundError",
    "CheckpointCorruptError",
    "CheckpointVersionError",
    "UnsafeCheckpointError",
    "CheckpointClassError",
    "CheckpointNotAModuleError",
]
