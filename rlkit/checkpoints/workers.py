"""The background threads of checkpoint I/O: one small pool, started on first use.

Hashing overlaps with writing and parsing, fsyncs run together, and replaced folders are
deleted after the save returns. Starting a thread per job would cost milliseconds on a
busy machine (``Thread.start`` waits until the new thread is scheduled), so the threads
persist. A forked child gets a fresh pool (the parent's threads do not exist there).
Pending jobs finish before the interpreter exits.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable

__all__ = ["submit"]

_pool: ThreadPoolExecutor | None = None
_guard = threading.Lock()


def submit(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Future:
    """Run ``fn(*args, **kwargs)`` on the checkpoint pool; returns its future."""
    global _pool
    with _guard:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="rlkit-checkpoint")
        return _pool.submit(fn, *args, **kwargs)


def _forget_pool_in_child() -> None:
    global _pool, _guard
    _pool, _guard = None, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool_in_child)
