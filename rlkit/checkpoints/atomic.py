"""Atomic folder writes: a checkpoint folder is replaced whole, or not at all.

``with atomic_directory(path) as tmp:`` yields an empty temporary folder *next to* ``path``
(same filesystem; a symlinked ``path`` is resolved first). Write into it (no need to fsync);
on a clean exit every file and folder in it is fsynced and it is swapped into place:

* on Linux, ``renameat2(RENAME_EXCHANGE)`` swaps the two folders in one atomic step, and
  the previous checkpoint (now under the temporary name) is deleted;
* elsewhere, the previous folder is renamed aside (``.<name>.<id>.rlkit-old-<pid>-<rand>``),
  the new one renamed into place, and the old one deleted.

The previous checkpoint is deleted on a background thread after the swap (``rmdir`` can
take milliseconds on a busy disk); the interpreter's exit waits for it, and a process killed
first leaves it for the next save to delete. ``wait_for_cleanup()`` waits for it explicitly.

A process killed at any moment therefore leaves ``path`` holding the previous checkpoint or
the new one. Leftovers of a killed save are hidden folders next to ``path``; the next save
removes them, and a load that finds ``path`` missing in the middle of the two-rename swap
renames the previous checkpoint back (:func:`recover`). Saves to one parent folder are
serialised by an advisory lock on that folder (``flock``; skipped where unsupported).
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import os
import re
import secrets
import shutil
import sys
import threading
from concurrent.futures import Future
from pathlib import Path
from typing import Callable, Iterator, TypeVar

from rlkit.checkpoints import workers
from rlkit.checkpoints.errors import CheckpointError

__all__ = [
    "atomic_directory",
    "read_consistently",
    "recover",
    "wait_for_cleanup",
    "leftovers",
    "fsync_dir",
    "fsync_tree",
    "USE_RENAME_EXCHANGE",
    "FSYNC",
]

T = TypeVar("T")

#: Use Linux's atomic folder exchange when available (tests switch it off to cover the fallback).
USE_RENAME_EXCHANGE = True
#: fsync files and folders before and after the swap, so that a saved checkpoint also survives
#: a power loss or OS crash. With ``False`` saves are still atomic against a killed process
#: (and several times faster on a busy disk), but an OS crash may lose the latest save.
FSYNC = True

_MARKER = "rlkit_checkpoint.json"  # a folder holding this file is a complete checkpoint


# ------------------------------------------------------------------------------ names


def _prefix(target: Path) -> str:
    # Short, unique per target name: long names stay under the 255-byte file-name limit.
    digest = hashlib.sha1(target.name.encode("utf-8", "surrogateescape")).hexdigest()[:8]
    return f".{target.name[:64]}.{digest}.rlkit-"


def _leftover_name(target: Path, kind: str) -> Path:
    return target.parent / f"{_prefix(target)}{kind}-{os.getpid()}-{secrets.token_hex(4)}"


def leftovers(target: str | os.PathLike) -> list[tuple[Path, str, int]]:
    """``(folder, "tmp" | "old", pid)`` for every leftover of an interrupted save to ``target``."""
    target = Path(target)
    pattern = re.compile(re.escape(_prefix(target)) + r"(tmp|old)-(\d+)-[0-9a-f]{8}$")
    try:
        names = os.listdir(target.parent)
    except OSError:
        return []
    found = []
    for name in names:
        match = pattern.match(name)
        if match:
            found.append((target.parent / name, match.group(1), int(match.group(2))))
    return found


# ------------------------------------------------------------------------------ fsync


def fsync_dir(directory: str | os.PathLike) -> None:
    """Make a folder's entries (created / renamed files) durable; a no-op where unsupported."""
    if not FSYNC:
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _fsync_file(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)  # an error here means the data may not be on disk: let it raise
    finally:
        os.close(fd)


def fsync_tree(root: str | os.PathLike) -> None:
    """Make every file and folder under ``root`` durable.

    The fsyncs run concurrently: the filesystem then commits them together (one journal
    commit instead of one per file), which makes a checkpoint save several times faster on
    a busy disk.
    """
    if not FSYNC:
        return
    files: list[str] = []
    folders: list[str] = []
    for dirpath, _, filenames in os.walk(root):
        files += [os.path.join(dirpath, name) for name in filenames]
        folders.append(dirpath)
    jobs = [(_fsync_file, f) for f in files] + [(fsync_dir, d) for d in folders]
    futures = [workers.submit(fn, arg) for fn, arg in jobs[1:]]
    for fn, arg in jobs[:1]:
        fn(arg)  # this thread does one of them
    for future in futures:
        future.result()


# ------------------------------------------------------------------------------ locking

_lock_guard = threading.Lock()
_locks: dict[tuple[int, int], list] = {}  # (st_dev, st_ino) -> [RLock, depth, fd or None]


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[bool]:
    """Hold the lock of ``directory``: a thread lock (re-entrant) plus an ``flock`` shared
    with other processes. Yields whether other processes are locked out too."""
    st = os.stat(directory)
    key = (st.st_dev, st.st_ino)
    with _lock_guard:
        entry = _locks.setdefault(key, [threading.RLock(), 0, None])
    entry[0].acquire()
    try:
        if entry[1] == 0:
            entry[2] = _flock(directory)
        entry[1] += 1
        try:
            yield entry[2] is not None
        finally:
            entry[1] -= 1
            if entry[1] == 0 and entry[2] is not None:
                os.close(entry[2])  # closing the descriptor releases the flock
                entry[2] = None
    finally:
        entry[0].release()


def _flock(directory: Path) -> int | None:
    try:
        import fcntl
    except ImportError:  # Windows
        return None
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
    except OSError:  # e.g. a network filesystem without flock
        os.close(fd)
        return None
    return fd


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


# ------------------------------------------------------------------------------ recovery


def recover(target: str | os.PathLike, *, exclusive: bool = True) -> None:
    """Tidy up after a save that was killed. Call with the parent folder's lock held.

    If ``target`` is missing but the previous checkpoint was renamed aside (killed between
    the two renames of the fallback swap), rename it back. Then delete every leftover
    temporary folder; with ``exclusive=False`` (no inter-process lock) only those of
    processes that are no longer running.
    """
    target = Path(target)
    found = [f for f in leftovers(target) if not _being_removed(f[0])]
    if not os.path.lexists(target):
        previous = [
            p for p, kind, pid in found
            if kind == "old" and (p / _MARKER).is_file() and (exclusive or not _pid_alive(pid))
        ]
        if previous:
            newest = max(previous, key=lambda p: p.stat().st_mtime)
            os.rename(newest, target)
            fsync_dir(target.parent)
            found = [f for f in found if f[0] != newest]
    for folder, _, pid in found:
        if exclusive or not _pid_alive(pid):
            shutil.rmtree(folder, ignore_errors=True)


def recover_missing(target: str | os.PathLike) -> Path | None:
    """For loaders: if ``target`` is missing, recover it (see :func:`recover`).

    Returns the folder to read: ``target`` once recovered, a leftover when the parent
    folder is read-only, or ``None`` when there is nothing to recover.
    """
    target = Path(target)
    if os.path.lexists(target) or not target.parent.is_dir():
        return target if os.path.lexists(target) else None
    if not any(kind == "old" for _, kind, _ in leftovers(target)):
        return None
    try:
        with _locked(target.parent):
            if not os.path.lexists(target):
                previous = [p for p, kind, _ in leftovers(target) if kind == "old" and (p / _MARKER).is_file()]
                if previous:
                    os.rename(max(previous, key=lambda p: p.stat().st_mtime), target)
                    fsync_dir(target.parent)
    except OSError:  # read-only folder: read the previous checkpoint where it is
        previous = [p for p, kind, _ in leftovers(target) if kind == "old" and (p / _MARKER).is_file()]
        return max(previous, key=lambda p: p.stat().st_mtime) if previous else None
    return target if os.path.lexists(target) else None


def _identity(folder: Path | int) -> tuple[int, int] | None:
    try:
        st = os.stat(folder)  # a path, or an open descriptor
    except OSError:
        return None
    return st.st_dev, st.st_ino


def read_consistently(folder: str | os.PathLike, read: Callable[[], T], attempts: int = 3) -> T:
    """Run ``read()``; if it fails because a concurrent save swapped ``folder`` while it was
    being read (the folder moved or disappeared meanwhile), wait for that save and retry.

    The folder stays open during ``read()``: that keeps its inode number from being reused
    by a newer save's folder, so "the folder is still the same" is a reliable test.
    """
    folder = Path(folder)
    for attempt in range(attempts):
        try:
            handle = os.open(folder, os.O_RDONLY)
        except OSError:
            handle = None
        try:
            before = _identity(handle if handle is not None else folder)
            try:
                return read()
            except (CheckpointError, OSError):
                after = _identity(folder)
                if attempt == attempts - 1 or (before is not None and before == after):
                    raise  # nothing moved: a genuine problem
                if before is None and after is None and not leftovers(folder):
                    raise  # genuinely missing
        finally:
            if handle is not None:
                os.close(handle)
        try:
            with _locked(folder.parent):  # wait for the save in progress to finish
                pass
        except OSError:
            pass
        recover_missing(folder)
    raise AssertionError("unreachable")  # pragma: no cover


# ------------------------------------------------------------------------------ cleanup

_cleanups: dict[str, Future] = {}  # folder -> its pending deletion
_cleanups_guard = threading.Lock()


def _remove_later(folder: Path) -> None:
    """Delete a replaced checkpoint folder in the background (see :mod:`.workers`)."""

    def remove() -> None:
        shutil.rmtree(folder, ignore_errors=True)
        with _cleanups_guard:
            _cleanups.pop(str(folder), None)

    with _cleanups_guard:
        _cleanups[str(folder)] = workers.submit(remove)


def _being_removed(folder: Path) -> bool:
    with _cleanups_guard:
        return str(folder) in _cleanups


def wait_for_cleanup() -> None:
    """Wait until the folders replaced by this process's saves are deleted."""
    with _cleanups_guard:
        pending = list(_cleanups.values())
    for future in pending:
        future.result()


# ------------------------------------------------------------------------------ the swap


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux ``renameat2(RENAME_EXCHANGE)``); False if unsupported."""
    if not USE_RENAME_EXCHANGE or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (22, 38, 95):  # EINVAL, ENOSYS, EOPNOTSUPP: this filesystem cannot exchange
        return False
    raise OSError(err, f"renameat2(RENAME_EXCHANGE) failed: {os.strerror(err)}", str(a), None, str(b))


def _swap_into_place(new: Path, target: Path) -> None:
    if not os.path.lexists(target):
        os.rename(new, target)
        fsync_dir(target.parent)
        return
    if _exchange(new, target):  # target now holds the new checkpoint, `new` the previous one
        fsync_dir(target.parent)
        _remove_later(new)
        return
    old = _leftover_name(target, "old")
    os.rename(target, old)  # killed after this line: recover() renames `old` back
    try:
        os.rename(new, target)
    except BaseException:
        os.rename(old, target)
        raise
    fsync_dir(target.parent)
    _remove_later(old)


def _check_replaceable(target: Path) -> None:
    try:
        cwd = Path.cwd()
    except OSError:
        cwd = None
    if target.parent == target or target == cwd:
        raise ValueError(
            f"Cannot save a checkpoint as {target}: it would replace the current or root folder. "
            f"Save into a subfolder instead, e.g. {target / 'checkpoint'}."
        )
    if not os.path.lexists(target):
        return
    if not target.is_dir():
        raise FileExistsError(
            f"Cannot save a checkpoint to {target}: a file with that name exists, and a checkpoint "
            f"is a folder. Choose another path or delete the file."
        )
    entries = sorted(os.listdir(target))
    if entries and _MARKER not in entries:
        shown = ", ".join(entries[:8]) + (", ..." if len(entries) > 8 else "")
        raise FileExistsError(
            f"Cannot save a checkpoint to {target}: the folder exists and is not an rlkit checkpoint "
            f"(no {_MARKER}; it contains {shown}). Saving replaces the whole folder, so rlkit refuses. "
            f"Choose a new folder (e.g. {target / 'checkpoint'}) or delete this one first."
        )


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a fresh temporary folder; on success it atomically replaces ``path``.

    Example:
        >>> import tempfile, pathlib
        >>> root = pathlib.Path(tempfile.mkdtemp())
        >>> with atomic_directory(root / "ckpt") as tmp:
        ...     _ = (tmp / "rlkit_checkpoint.json").write_text("{}")
        >>> sorted(p.name for p in (root / "ckpt").iterdir())
        ['rlkit_checkpoint.json']
    """
    target = Path(path).expanduser().resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    with _locked(target.parent) as exclusive:
        recover(target, exclusive=exclusive)
        _check_replaceable(target)
        tmp = _leftover_name(target, "tmp")
        tmp.mkdir()
        try:
            yield tmp
            fsync_tree(tmp)
            _swap_into_place(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
