"""The errors a checkpoint can raise: each names the file at fault and the fix."""

from __future__ import annotations

from rlkit.import_path import ClassImportError

__all__ = [
    "CheckpointError",
    "CheckpointNotFoundError",
    "CheckpointCorruptError",
    "CheckpointVersionError",
    "UnsafeCheckpointError",
    "CheckpointClassError",
    "CheckpointNotAModuleError",
]


class CheckpointError(Exception):
    """Base class of every checkpoint problem (catch this to handle them all)."""


class CheckpointNotFoundError(CheckpointError, FileNotFoundError):
    """The checkpoint folder, or a file it needs, does not exist."""


class CheckpointCorruptError(CheckpointError, ValueError):
    """A checkpoint file is truncated, damaged or was edited: its content does not match the
    hash recorded when it was saved, or it cannot be parsed."""


class CheckpointVersionError(CheckpointError, ValueError):
    """The checkpoint was written in a format newer than this rlkit reads."""


class UnsafeCheckpointError(CheckpointError, ValueError):
    """The checkpoint holds (or is) a pickle: refused, because unpickling can run any code."""


class CheckpointClassError(CheckpointError, ClassImportError):
    """The module class recorded in the checkpoint cannot be imported."""


class CheckpointNotAModuleError(CheckpointError, TypeError):
    """The class recorded in the checkpoint imports, but it is not an RLModule subclass."""
