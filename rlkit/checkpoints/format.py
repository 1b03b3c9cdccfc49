"""The checkpoint folder layout: the JSON metadata file, its format version, and the
low-level ``write_checkpoint_dir`` / ``read_checkpoint_dir`` that every rlkit checkpoint
(modules, multi-modules, algorithms) is made of."""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import re
from pathlib import Path
from typing import Any, Mapping

import torch

from rlkit.checkpoints.atomic import atomic_directory, read_consistently, recover_missing
from rlkit.checkpoints.errors import (
    CheckpointCorruptError,
    CheckpointError,
    CheckpointNotFoundError,
    CheckpointVersionError,
    UnsafeCheckpointError,
)
from rlkit.checkpoints.weights import read_weights, sha256_of, write_weights

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "METADATA_FILE",
    "WEIGHTS_FILE",
    "write_checkpoint_files",
    "write_checkpoint_dir",
    "read_checkpoint_dir",
    "read_record",
    "checkpoint_dir",
    "folder_of",
    "inside_checkpoint",
]

#: The ``"format"`` tag of the metadata file.
FORMAT_NAME = "rlkit-checkpoint"
#: Bump when the layout changes incompatibly; readers refuse versions above theirs.
FORMAT_VERSION = 1
#: The metadata file every checkpoint folder holds (its presence marks a complete folder).
METADATA_FILE = "rlkit_checkpoint.json"
#: The weights file (safetensors).
WEIGHTS_FILE = "model.safetensors"

# Written by rlkit itself; the metadata passed by callers may not override them.
_RESERVED = (
    "format", "format_version", "rlkit_version", "torch_version", "safetensors_version",
    "python_version", "created", "weights", "extra_json",
)
# File types that hold pickles: never read, and their presence makes a folder suspect.
_PICKLE_SUFFIXES = (".pkl", ".pickle", ".pt", ".pth", ".ckpt", ".bin", ".joblib", ".dill", ".cloudpickle")
_EXTRA_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$")


def _versions() -> dict[str, str]:
    import safetensors

    import rlkit  # lazily: rlkit/__init__ imports the modules that import this package

    return {
        "rlkit_version": str(getattr(rlkit, "__version__", "unknown")),
        "torch_version": torch.__version__,
        "safetensors_version": safetensors.__version__,
        "python_version": platform.python_version(),
    }


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _write_json(file: Path, data: Any) -> str:
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    raw = text.encode("utf-8")
    with open(file, "wb") as f:
        f.write(raw)
    return sha256_of(raw)


# ------------------------------------------------------------------------------ writing


def write_checkpoint_files(
    directory: str | os.PathLike,
    tensors: Mapping[str, torch.Tensor] | None,
    metadata: Mapping[str, Any],
    extra_json: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Write one checkpoint into ``directory`` (created if needed), NOT atomically and
    without fsync: use it inside :func:`~rlkit.checkpoints.atomic.atomic_directory`, which
    fsyncs the whole folder before swapping it in (e.g. to put a module sub-checkpoint
    inside an algorithm checkpoint). Writes ``model.safetensors`` (unless ``tensors`` is None), one ``<name>.json`` per
    ``extra_json`` entry, and, last, ``rlkit_checkpoint.json``. Returns the record written.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    clash = sorted(set(metadata) & set(_RESERVED))
    if clash:
        raise ValueError(f"Checkpoint metadata keys {clash} are reserved (rlkit writes them); rename them.")
    record: dict[str, Any] = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, **_versions(), "created": _now()}
    record.update(metadata)
    if tensors is not None:
        info = write_weights(directory / WEIGHTS_FILE, tensors)
        record["weights"] = info.to_json()
    else:
        record["weights"] = None
    extras: dict[str, Any] = {}
    for name, value in (extra_json or {}).items():
        if not isinstance(name, str) or not _EXTRA_NAME.match(name) or name + ".json" == METADATA_FILE:
            raise ValueError(
                f"extra_json names become file names: use letters, digits, '_', '-', '.' "
                f"(not {METADATA_FILE!r}), got {name!r}."
            )
        file = directory / f"{name}.json"
        extras[name] = {"file": file.name, "sha256": _write_json(file, value)}
    record["extra_json"] = extras
    try:
        _write_json(directory / METADATA_FILE, record)
    except (TypeError, ValueError) as err:
        raise TypeError(
            f"Checkpoint metadata must be plain JSON (numbers, strings, lists, dicts): {err}."
        ) from None
    return record


def write_checkpoint_dir(
    path: str | os.PathLike,
    tensors: Mapping[str, torch.Tensor] | None,
    metadata: Mapping[str, Any],
    extra_json: Mapping[str, Any] | None = None,
) -> Path:
    """Atomically write a checkpoint folder: tensors in safetensors, plain JSON beside them.

    Args:
        path: the folder to create or replace (an existing non-checkpoint folder is refused).
        tensors: ``{name: tensor}``, or None for a folder without weights.
        metadata: JSON fields stored in ``rlkit_checkpoint.json`` (e.g. ``{"kind": "algorithm"}``).
        extra_json: ``{name: json_data}``, each stored as ``<name>.json`` (hash recorded).

    Returns:
        The absolute path of the folder.

    Example:
        >>> import tempfile, torch
        >>> path = write_checkpoint_dir(tempfile.mkdtemp() + "/ck", {"w": torch.ones(2)}, {"kind": "demo"},
        ...                             {"config": {"lr": 0.1}})
        >>> tensors, record, extra = read_checkpoint_dir(path)
        >>> tensors["w"].tolist(), record["kind"], extra["config"]
        ([1.0, 1.0], 'demo', {'lr': 0.1})
    """
    with atomic_directory(path) as tmp:
        write_checkpoint_files(tmp, tensors, metadata, extra_json)
    return Path(path).expanduser().resolve()


# ------------------------------------------------------------------------------ reading


def inside_checkpoint(folder: Path, relative: str) -> Path:
    """``folder / relative`` for a sub-checkpoint named in a record; refuses paths that
    would leave the checkpoint folder (``..``, absolute paths)."""
    parts = relative.split("/") if isinstance(relative, str) else [""]
    if not relative or relative.startswith("/") or any(p in ("", ".", "..") or "\\" in p or ":" in p for p in parts):
        raise CheckpointCorruptError(
            f"{folder / METADATA_FILE} names the sub-checkpoint {relative!r}, which is not a folder "
            f"inside the checkpoint; the file was edited. Re-save the checkpoint."
        )
    return folder.joinpath(*parts)


def _checkpoints_near(folder: Path) -> list[str]:
    try:
        return sorted(p.name for p in folder.iterdir() if (p / METADATA_FILE).is_file())[:8]
    except OSError:
        return []


def folder_of(path: str | os.PathLike) -> Path:
    """The absolute folder ``path`` names (``path`` may name a file inside the folder)."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"A checkpoint path must be a str or os.PathLike, got {type(path).__name__}.")
    folder = Path(path).expanduser().absolute()
    if folder.name in (METADATA_FILE, WEIGHTS_FILE) and folder.is_file():
        folder = folder.parent
    return folder


def checkpoint_dir(path: str | os.PathLike) -> Path:
    """The checkpoint folder ``path`` names (the folder, or a file inside it), checked.

    Raises:
        CheckpointNotFoundError: no such folder (after trying to recover an interrupted save).
        UnsafeCheckpointError: the folder holds pickle files.
    """
    folder = folder_of(path)
    if not os.path.lexists(folder):
        found = recover_missing(folder)
        if found is None:
            near = _checkpoints_near(folder.parent)
            hint = f" Checkpoints in {folder.parent}: {', '.join(near)}." if near else ""
            raise CheckpointNotFoundError(
                f"No checkpoint at {folder}: the folder does not exist (relative paths start at "
                f"{Path.cwd()}).{hint} Check the path, or create one with module.save_to_path({str(path)!r})."
            )
        folder = found
    if not folder.is_dir():
        if folder.suffix in _PICKLE_SUFFIXES:
            raise UnsafeCheckpointError(
                f"Refusing to load {folder}: it is a pickle-based file (a torch.save checkpoint?), "
                f"and rlkit never unpickles, since unpickling can run arbitrary code. rlkit checkpoints "
                f"are folders written by save_to_path(); if you trust this file, load it with "
                f"torch.load(path, weights_only=True) yourself."
            )
        raise CheckpointNotFoundError(
            f"{folder} is a file, but an rlkit checkpoint is a folder (holding {METADATA_FILE} and "
            f"{WEIGHTS_FILE}). Pass the folder that save_to_path() wrote."
        )
    _refuse_pickles(folder)
    return folder


def _refuse_pickles(folder: Path) -> None:
    planted = sorted(p.name for p in folder.iterdir() if p.suffix.lower() in _PICKLE_SUFFIXES)
    if planted:
        raise UnsafeCheckpointError(
            f"Refusing to load the checkpoint {folder}: it contains {', '.join(planted)}, pickle-based "
            f"file(s) that rlkit checkpoints never hold. rlkit never unpickles (unpickling can run "
            f"arbitrary code) and did not open them. Delete them if you did not put them there, and "
            f"re-save the checkpoint if you are unsure it was not tampered with."
        )


def read_record(path: str | os.PathLike) -> tuple[Path, dict[str, Any]]:
    """``(folder, record)``: the checked contents of ``rlkit_checkpoint.json`` (no weights read)."""
    folder = checkpoint_dir(path)
    file = folder / METADATA_FILE
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        entries = sorted(os.listdir(folder))
        shown = ", ".join(entries[:8]) + (", ..." if len(entries) > 8 else "") if entries else "nothing"
        raise CheckpointNotFoundError(
            f"{file} is missing, so {folder} is not an rlkit checkpoint folder (it contains {shown}). "
            f"Pass the folder that save_to_path() wrote; if that was this folder, its save did not "
            f"finish or the file was deleted, so re-save it."
        ) from None
    try:
        record = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointCorruptError(
            f"{file} is not valid JSON ({err}): it was damaged or edited by hand. "
            f"Re-save the checkpoint or restore it from a backup."
        ) from None
    if not isinstance(record, dict) or record.get("format") != FORMAT_NAME:
        raise CheckpointCorruptError(
            f"{file} is not rlkit checkpoint metadata (expected \"format\": {FORMAT_NAME!r}, got "
            f"{record.get('format') if isinstance(record, dict) else type(record).__name__!r}). "
            f"Pass a folder written by save_to_path()."
        )
    version = record.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise CheckpointCorruptError(f"{file} has an invalid format_version {version!r}; re-save the checkpoint.")
    if version > FORMAT_VERSION:
        from rlkit import __version__

        raise CheckpointVersionError(
            f"{file} has format_version {version}, but this rlkit ({__version__}) reads format "
            f"versions up to {FORMAT_VERSION}: the checkpoint was written by a newer rlkit "
            f"({record.get('rlkit_version', 'unknown')}). Upgrade rlkit (pip install -U rlkit) to load it."
        )
    return folder, record


def read_checkpoint_dir(
    path: str | os.PathLike, *, verify: str = "crc32"
) -> tuple[dict[str, torch.Tensor], dict[str, Any], dict[str, Any]]:
    """Read a folder written by :func:`write_checkpoint_dir`: ``(tensors, record, extra_json)``.

    Every file is checked against the hash recorded when it was written (``verify="crc32"``
    is fast; ``"sha256"`` checks the cryptographic hash). Nothing is unpickled. If the
    folder is replaced by a concurrent save while it is being read, the read is retried.
    """
    return read_consistently(folder_of(path), lambda: _read_dir_once(path, verify))


def _read_dir_once(path: str | os.PathLike, verify: str) -> tuple[dict[str, torch.Tensor], dict[str, Any], dict[str, Any]]:
    folder, record = read_record(path)
    weights = record.get("weights")
    tensors: dict[str, torch.Tensor] = {}
    if weights is not None:
        if not isinstance(weights, Mapping) or weights.get("file") != WEIGHTS_FILE:
            raise CheckpointCorruptError(
                f"{folder / METADATA_FILE} has an invalid \"weights\" entry ({weights!r}); re-save the checkpoint."
            )
        tensors = read_weights(folder / WEIGHTS_FILE, weights, verify=verify)
    extras: dict[str, Any] = {}
    for name, entry in (record.get("extra_json") or {}).items():
        file_name = entry.get("file", "") if isinstance(entry, Mapping) else ""
        if not _EXTRA_NAME.match(file_name) or not file_name.endswith(".json"):
            raise CheckpointCorruptError(f"{folder / METADATA_FILE} names an invalid extra file {file_name!r}.")
        file = folder / file_name
        try:
            raw = file.read_bytes()
        except FileNotFoundError:
            raise CheckpointNotFoundError(
                f"{file} is missing: the checkpoint folder is incomplete. Copy the whole folder, or re-save it."
            ) from None
        if sha256_of(raw) != entry.get("sha256"):
            raise CheckpointCorruptError(
                f"{file} is corrupt: hash mismatch with the sha256 recorded in {METADATA_FILE}. "
                f"It was modified after saving; re-save the checkpoint or restore it from a backup."
            )
        extras[name] = json.loads(raw)
    return tensors, record, extras
