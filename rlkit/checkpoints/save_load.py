"""Saving modules to checkpoint folders and loading them back: ``save_module``,
``load_module``, ``restore_module`` and ``load_checkpoint``."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Mapping

import torch

from rlkit.checkpoints.atomic import atomic_directory, read_consistently
from rlkit.checkpoints.errors import (
    CheckpointClassError,
    CheckpointCorruptError,
    CheckpointError,
    CheckpointNotAModuleError,
)
from rlkit.checkpoints.format import (
    METADATA_FILE,
    WEIGHTS_FILE,
    folder_of,
    inside_checkpoint,
    read_checkpoint_dir,
    read_record,
    write_checkpoint_files,
)
from rlkit.import_path import ClassImportError, class_from_path, class_to_path
from rlkit.multi_rl_module import MultiRLModule
from rlkit.rl_module import RLModule
from rlkit.rl_module_spec import RLModuleSpec, config_to_json
from rlkit.state_loading import StateMismatchError, format_mismatch, load_state_strict, state_mismatches

__all__ = ["save_module", "save_module_files", "load_module", "restore_module", "load_checkpoint", "KIND_MODULE", "KIND_MULTI"]

#: ``"kind"`` of the checkpoint of one :class:`RLModule` / of a :class:`MultiRLModule`.
KIND_MODULE = "rl_module"
KIND_MULTI = "multi_rl_module"
#: Sub-folder of a MultiRLModule checkpoint holding one module checkpoint per module id.
MODULES_DIR = "modules"

_SAFE_FOLDER = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$")

# ------------------------------------------------------------------------------ saving


def _module_record(module: RLModule, metadata: Mapping[str, Any], module_id: str | None = None) -> dict[str, Any]:
    spec = RLModuleSpec.from_module(module).to_dict()
    record: dict[str, Any] = {
        "kind": KIND_MODULE,
        "module_class": spec["module_class"],
        "spec": spec,
        "parameter_count": sum(p.numel() for p in module.parameters()),
        "metadata": dict(metadata),
    }
    if module_id is not None:
        record["module_id"] = module_id
    return record


def _folder_names(module_ids: list[str]) -> dict[str, str]:
    """A safe, distinct (also on case-insensitive filesystems) folder name per module id."""
    names: dict[str, str] = {}
    taken: set[str] = set()
    for i, mid in enumerate(module_ids):
        name = mid if _SAFE_FOLDER.match(mid) else f"module_{i}"
        if name.lower() in taken:
            name = f"{name}_{i}"
        taken.add(name.lower())
        names[mid] = name
    return names


def _check_module(module: Any, caller: str) -> None:
    if not isinstance(module, (RLModule, MultiRLModule)):
        raise TypeError(
            f"{caller}() expects an RLModule or a MultiRLModule, got {type(module).__name__}. For "
            f"other tensors use rlkit.checkpoints.write_checkpoint_dir(path, tensors, metadata)."
        )


def _json_metadata(metadata: Mapping[str, Any]) -> dict[str, Any]:
    try:
        return config_to_json(dict(metadata), where="metadata")
    except ValueError as err:
        raise ValueError(f"{err} (the keyword arguments of save_to_path(path, **metadata))") from None


def save_module_files(module: RLModule | MultiRLModule, directory: str | os.PathLike, **metadata: Any) -> dict[str, Any]:
    """Write ``module``'s checkpoint into ``directory`` NOT atomically (for composing larger
    checkpoints inside :func:`~rlkit.checkpoints.atomic.atomic_directory`). Returns the record."""
    _check_module(module, "save_module_files")
    directory = Path(directory)
    metadata = _json_metadata(metadata)
    if isinstance(module, RLModule):
        return write_checkpoint_files(directory, module.state_dict(), _module_record(module, metadata))
    folders = _folder_names(list(module.keys()))
    record = {
        "kind": KIND_MULTI,
        "module_class": class_to_path(type(module)),
        "spec": module.get_spec().to_dict(),
        "modules": {mid: f"{MODULES_DIR}/{folders[mid]}" for mid in module.keys()},
        "parameter_count": sum(p.numel() for p in module.parameters()),
        "metadata": metadata,
    }
    for mid, sub in module.items():
        write_checkpoint_files(directory / MODULES_DIR / folders[mid], sub.state_dict(), _module_record(sub, {}, mid))
    return write_checkpoint_files(directory, None, record)  # the record last: it marks the folder complete


def save_module(module: RLModule | MultiRLModule, path: str | os.PathLike, **metadata: Any) -> Path:
    """Save ``module`` (weights, spec, versions) atomically to the folder ``path``.

    ``metadata`` (plain JSON values, e.g. ``step=1000``) is stored alongside and comes
    back as ``load_checkpoint(path)["metadata"]``. Saving over an existing checkpoint
    replaces it whole; a folder that is not a checkpoint is never overwritten.

    Returns:
        The absolute path of the checkpoint folder.

    Example:
        >>> import tempfile, gymnasium as gym, torch
        >>> from rlkit import Columns, RLModule, RLModuleSpec
        >>> module = RLModuleSpec(observation_space=gym.spaces.Box(-1, 1, (4,)),
        ...                       action_space=gym.spaces.Discrete(2)).build()
        >>> path = save_module(module, tempfile.mkdtemp() + "/ckpt", step=100)
        >>> sorted(p.name for p in path.iterdir())
        ['model.safetensors', 'rlkit_checkpoint.json']
        >>> again = RLModule.from_checkpoint(path)
        >>> batch = {Columns.OBS: torch.ones(1, 4)}
        >>> bool((again.forward_inference(batch)[Columns.ACTION_DIST_INPUTS]
        ...       == module.forward_inference(batch)[Columns.ACTION_DIST_INPUTS]).all())
        True
        >>> load_checkpoint(path)["metadata"]
        {'step': 100}
    """
    _check_module(module, "save_module")
    metadata = _json_metadata(metadata)  # fail before touching the disk
    with atomic_directory(path) as tmp:
        save_module_files(module, tmp, **metadata)
    return Path(path).expanduser().resolve()


# ------------------------------------------------------------------------------ reading


def _module_folder(path: str | os.PathLike) -> tuple[Path, dict[str, Any]]:
    """The folder and record of a module checkpoint; follows ``"module_checkpoint"`` (a
    relative folder) in other checkpoints, e.g. an algorithm's."""
    folder, record = read_record(path)
    pointer = record.get("module_checkpoint")
    if record.get("kind") not in (KIND_MODULE, KIND_MULTI) and isinstance(pointer, str):
        return _module_folder(inside_checkpoint(folder, pointer))
    if record.get("kind") not in (KIND_MODULE, KIND_MULTI):
        raise CheckpointError(
            f"{folder / METADATA_FILE} describes a {record.get('kind')!r} checkpoint, not a module "
            f"checkpoint ({KIND_MODULE!r} or {KIND_MULTI!r}). Load it with the tool that wrote it."
        )
    return folder, record


def _sub_folders(folder: Path, record: Mapping[str, Any]) -> dict[str, Path]:
    modules = record.get("modules")
    if not isinstance(modules, Mapping):
        raise CheckpointCorruptError(f"{folder / METADATA_FILE} lacks its \"modules\" table; re-save the checkpoint.")
    return {mid: inside_checkpoint(folder, rel) for mid, rel in modules.items()}


def _resolve_class(record: Mapping[str, Any], file: Path, module_class: Any, module_id: str | None) -> type | None:
    """The class to build: ``module_class`` if given, else the stored import path (None = default)."""
    if isinstance(module_class, Mapping):
        module_class = module_class.get(module_id) if module_id is not None else None
    if module_class is not None:
        if not (isinstance(module_class, type) and issubclass(module_class, RLModule)):
            raise TypeError(f"module_class must be an RLModule subclass, got {module_class!r}.")
        return module_class
    spec = record.get("spec") if isinstance(record.get("spec"), Mapping) else {}
    path = spec.get("module_class")
    if path is None:
        return None  # rlkit's default actor-critic
    try:
        cls = class_from_path(path)
    except ClassImportError as err:
        name = str(path).rpartition(":")[2].rpartition(".")[2] or "MyModule"
        how = f"module_class={{{module_id!r}: {name}}}" if module_id is not None else f"module_class={name}"
        raise CheckpointClassError(
            f"Cannot rebuild the module saved in {file}: {err} To supply the class yourself: "
            f"from_checkpoint(path, {how})."
        ) from None
    if not (isinstance(cls, type) and issubclass(cls, RLModule)):
        bases = ", ".join(b.__name__ for b in getattr(cls, "__mro__", ())[1:4])
        raise CheckpointNotAModuleError(
            f"{file} names {path!r} as the module class, but {cls.__name__} is not an RLModule "
            f"subclass (it derives from {bases or 'nothing'}). The file may have been edited or the "
            f"name now refers to another class; pass the right class with module_class=..."
        )
    return cls


def _spec_hints(record: Mapping[str, Any], module: RLModule) -> list[str]:
    """Lines saying how the saved module differs from ``module`` (class, spaces, config)."""
    saved = record.get("spec") if isinstance(record.get("spec"), Mapping) else {}
    try:
        here = RLModuleSpec.from_module(module).to_dict()
    except Exception:  # a config that is not JSON: nothing to compare
        return []
    hints = []
    for key in ("module_class", "observation_space", "action_space", "model_config", "inference_only"):
        if saved.get(key) != here.get(key):
            hints.append(f"  {key}: saved {saved.get(key)!r}, this module has {here.get(key)!r}")
    if hints:
        hints.insert(0, "The saved module differs from this one:")
    if saved.get("inference_only") and not module.inference_only:
        hints.append("  (an inference-only checkpoint has no weights for the training-only parts)")
    return hints


def _check_fit(module: RLModule, tensors: Mapping[str, torch.Tensor]):
    """(missing, unexpected, wrong_shape, state) for loading ``tensors`` into ``module``;
    inference-only modules drop the critic-only keys by name, as ``load_state_dict`` does."""
    drop = tuple(f"{a}." for a in module.get_non_inference_attributes()) if module.inference_only else ()
    expected = module.state_dict()
    state = {k: v for k, v in tensors.items() if not (drop and k.startswith(drop) and k not in expected)}
    return (*state_mismatches(expected, state), state)


def _load_into(modules: dict[str | None, tuple[RLModule, dict, Path, dict]]) -> None:
    """Check every module first, raise one error listing every problem, then load them all."""
    problems, missing, unexpected, wrong = [], [], [], {}
    fits = {}
    for mid, (module, tensors, weights_file, record) in modules.items():
        miss, unexp, shape, state = _check_fit(module, tensors)
        fits[mid] = state
        if miss or unexp or shape:
            target = type(module).__name__ + (f" (module id {mid!r})" if mid is not None else "")
            text = format_mismatch(target, miss, unexp, shape, str(weights_file)).splitlines()[:-1]
            problems += text + _spec_hints(record, module)
            tag = f"{mid}." if mid is not None else ""
            missing += [tag + k for k in miss]
            unexpected += [tag + k for k in unexp]
            wrong.update({tag + k: v for k, v in shape.items()})
    if problems:
        problems.append(
            "Build the module with the same class, spaces and model_config as the saved one "
            "(rlkit.inspect_checkpoint(path) shows them), or rebuild it with from_checkpoint(path)."
        )
        raise StateMismatchError("\n".join(problems), missing, unexpected, wrong)
    for mid, (module, _, weights_file, _) in modules.items():
        load_state_strict(module, fits[mid], source=str(weights_file))


def _load_one(folder: Path, module_class: Any, inference_only: bool | None, module_id: str | None, verify: str) -> RLModule:
    tensors, record, _ = read_checkpoint_dir(folder, verify=verify)
    file = folder / METADATA_FILE
    if record.get("kind") != KIND_MODULE or not isinstance(record.get("spec"), Mapping):
        raise CheckpointCorruptError(f"{file} is not a single-module checkpoint record; re-save the checkpoint.")
    cls = _resolve_class(record, file, module_class, module_id)
    spec = RLModuleSpec.from_dict(record["spec"], module_class=cls)
    if inference_only is False and spec.inference_only:
        raise ValueError(
            f"{file} was saved from an inference-only module, which has no weights for the "
            f"training-only parts (e.g. the value function), so it cannot build a full module. "
            f"Load it with inference_only=True (or leave inference_only unset)."
        )
    if inference_only is not None:
        spec.inference_only = bool(inference_only)
    try:
        module = spec.build()
    except Exception as err:
        if hasattr(err, "add_note"):
            err.add_note(f"(raised while rebuilding the module saved in {file})")
        raise
    _load_into({module_id: (module, tensors, folder / WEIGHTS_FILE, record)})
    return module


def load_module(
    path: str | os.PathLike,
    *,
    module_class: type[RLModule] | Mapping[str, type[RLModule]] | None = None,
    inference_only: bool | None = None,
    verify: str = "crc32",
) -> RLModule | MultiRLModule:
    """Rebuild the module saved at ``path`` from its spec and load its weights.

    Args:
        path: a checkpoint folder written by ``save_to_path`` / :func:`save_module`.
        module_class: the RLModule class to build instead of the stored import path, e.g.
            a class defined in a notebook; for a MultiRLModule checkpoint, one class for
            every module or ``{module_id: class}``.
        inference_only: ``True`` builds the inference-only variant (critic-only weights
            are dropped by name); ``None`` keeps what was saved.
        verify: ``"crc32"`` (fast) or ``"sha256"``: how the weights are checked.
    """
    return read_consistently(folder_of(path), lambda: _load_module(path, module_class, inference_only, verify))


def _load_module(path, module_class, inference_only, verify) -> RLModule | MultiRLModule:
    folder, record = _module_folder(path)
    if record["kind"] == KIND_MODULE:
        return _load_one(folder, module_class, inference_only, None, verify)
    file = folder / METADATA_FILE
    try:
        multi_cls = class_from_path(record.get("module_class") or "rlkit.multi_rl_module:MultiRLModule")
    except ClassImportError as err:
        raise CheckpointClassError(f"Cannot rebuild the MultiRLModule saved in {file}: {err}") from None
    if not (isinstance(multi_cls, type) and issubclass(multi_cls, MultiRLModule)):
        raise TypeError(f"{file} names {record.get('module_class')!r}, which is not a MultiRLModule subclass.")
    modules = {
        mid: _load_one(sub, module_class, inference_only, mid, verify)
        for mid, sub in _sub_folders(folder, record).items()
    }
    return multi_cls(rl_modules=modules)


def restore_module(module: RLModule | MultiRLModule, path: str | os.PathLike, *, verify: str = "crc32") -> None:
    """Load the weights saved at ``path`` into ``module`` (strict; nothing changes on error).

    Raises:
        StateMismatchError: listing every missing, unexpected and wrongly-shaped key (with
            both shapes) and the weights file; for a MultiRLModule, across all modules.
    """
    if not isinstance(module, (RLModule, MultiRLModule)):
        raise TypeError(f"restore_module() expects an RLModule or MultiRLModule, got {type(module).__name__}.")
    read_consistently(folder_of(path), lambda: _restore(module, path, verify))


def _restore(module: RLModule | MultiRLModule, path: str | os.PathLike, verify: str) -> None:
    folder, record = _module_folder(path)
    if isinstance(module, RLModule):
        if record["kind"] != KIND_MODULE:
            ids = sorted(record.get("modules") or {})
            raise TypeError(
                f"{folder} holds a MultiRLModule checkpoint (module ids {ids}), not a single module. "
                f"Restore it into a MultiRLModule, or restore one of its modules with "
                f"module.restore_from_path({str(folder / MODULES_DIR / (ids[0] if ids else '<id>'))!r})."
            )
        tensors, record, _ = read_checkpoint_dir(folder, verify=verify)
        _load_into({None: (module, tensors, folder / WEIGHTS_FILE, record)})
        return
    if record["kind"] != KIND_MULTI:
        raise TypeError(
            f"{folder} holds a single-module checkpoint, not a MultiRLModule one. Restore it into "
            f"one module: multi[module_id].restore_from_path({str(folder)!r})."
        )
    subs = _sub_folders(folder, record)
    missing = sorted(set(module.keys()) - set(subs))
    extra = sorted(set(subs) - set(module.keys()))
    if missing or extra:
        raise StateMismatchError(
            f"The MultiRLModule checkpoint {folder / METADATA_FILE} holds module ids {sorted(subs)}, "
            f"this MultiRLModule has {sorted(module.keys())}: missing from the checkpoint {missing}, "
            f"not in this MultiRLModule {extra}. Add or remove modules so the ids match, or "
            f"rebuild it with MultiRLModule.from_checkpoint(path).",
            missing=missing,
            unexpected=extra,
        )
    loaded = {}
    for mid, sub in subs.items():
        tensors, sub_record, _ = read_checkpoint_dir(sub, verify=verify)
        loaded[mid] = (module[mid], tensors, sub / WEIGHTS_FILE, sub_record)
    _load_into(loaded)


def load_checkpoint(path: str | os.PathLike, *, verify: str = "crc32") -> dict[str, Any]:
    """The contents of a module checkpoint as plain data, without building any module.

    Returns:
        ``{"module_state": {name: tensor}`` (a MultiRLModule checkpoint: ``{module_id:
        {name: tensor}}``), ``"spec"`` (the spec dict), ``"metadata"`` (what was passed to
        ``save_to_path(path, **metadata)``), and ``"kind"``, ``"module_class"``,
        ``"parameter_count"``, ``"format_version"``, ``"rlkit_version"``,
        ``"torch_version"``, ``"created"``, ``"path"``}``.
    """
    return read_consistently(folder_of(path), lambda: _load_checkpoint(path, verify))


def _load_checkpoint(path: str | os.PathLike, verify: str) -> dict[str, Any]:
    folder, record = _module_folder(path)
    if record["kind"] == KIND_MODULE:
        state, record, _ = read_checkpoint_dir(folder, verify=verify)
    else:
        state = {mid: read_checkpoint_dir(sub, verify=verify)[0] for mid, sub in _sub_folders(folder, record).items()}
    out = {"module_state": state, "spec": record.get("spec"), "metadata": record.get("metadata") or {}}
    for key in ("kind", "module_class", "parameter_count", "format_version", "rlkit_version", "torch_version", "created"):
        out[key] = record.get(key)
    out["path"] = str(folder)
    return out
