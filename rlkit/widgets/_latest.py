"""Render only the latest request: the kernel-side half of flicker-free, lag-free playback."""

from __future__ import annotations

import threading
from typing import Any, Callable

__all__ = ["LatestOnly"]


class LatestOnly:
    """Runs ``render(key)`` for the newest key; requests that pile up while it runs are dropped.

    In the browser the ``Play`` widget advances the slider on its own clock, and every value
    reaches the kernel as a message. If drawing a step took longer than the play interval,
    handling those messages one by one would make the view fall further and further behind.
    So messages from the browser are answered at once (``request(key, deferred=True)``
    only records the key) and a worker thread draws the most recent key whenever it is free:
    a slow step skips the stale ones in between and the view never lags. Requests from
    Python (``viewer.step = 5``) render synchronously, so code and tests see the result at once.
    The worker exits after ``idle_s`` without requests and is restarted on demand.

    Example:
        >>> seen = []
        >>> latest = LatestOnly(seen.append)
        >>> latest.request(3, deferred=False); seen
        [3]
    """

    def __init__(self, render: Callable[[Any], None], idle_s: float = 5.0) -> None:
        self._render = render
        self._idle_s = idle_s
        self._render_lock = threading.RLock()  # one render at a time, from any thread
        self._cond = threading.Condition()
        self._pending = False
        self._key: Any = None
        self._thread: threading.Thread | None = None
        self._busy = False
        self.rendered = 0  # renders done
        self.dropped = 0  # requests replaced by a newer one before they were drawn

    def request(self, key: Any, *, deferred: bool) -> None:
        if not deferred:
            with self._cond:
                if self._pending:  # a queued browser request is older than this one
                    self._pending = False
                    self.dropped += 1
            self._run(key)
            return
        with self._cond:
            if self._pending:
                self.dropped += 1
            self._key, self._pending = key, True
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._worker, name="rlkit-viewer-render", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def _run(self, key: Any) -> None:
        with self._render_lock:
            self._render(key)
            self.rendered += 1

    def _worker(self) -> None:
        while True:
            with self._cond:
                if not self._pending:
                    self._cond.wait(self._idle_s)
                    if not self._pending:
                        self._thread = None
                        return
                key, self._pending = self._key, False
                self._busy = True
            try:
                self._run(key)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def wait(self, timeout: float = 10.0) -> bool:
        """Block until no request is pending or being drawn (for tests and scripts); True if idle."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._pending and not self._busy, timeout)
