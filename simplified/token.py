"""Cooperative cancellation: a thread-safe flag the work checks, plus hooks that interrupt it."""

from __future__ import annotations

import threading
from collections.abc import Callable

__all__ = ["CancelToken", "JobCanceled"]


class JobCanceled(Exception):
    """Raised inside a job when its token was canceled; reported as canceled, never as an error."""


class CancelToken:
    """Tell a running job to stop, from any thread, without waiting for it."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._hooks: list[Callable[[], object]] = []

    @property
    def is_canceled(self) -> bool:
        """Return True once cancel() was called."""
        return self._event.is_set()

    def cancel(self) -> None:
        """Set the flag and run the interrupt hooks; never blocks on the job."""
        with self._lock:
            if self._event.is_set():
                return
            self._event.set()
            hooks, self._hooks = self._hooks, []
        for hook in hooks:
            hook()

    def raise_if_canceled(self) -> None:
        """Raise JobCanceled if the flag is set."""
        if self._event.is_set():
            raise JobCanceled

    def on_cancel(self, hook: Callable[[], object]) -> Callable[[], None]:
        """Run ``hook`` on cancel (now, if already canceled); return a function that removes it.

        Hooks run on the canceling thread, so they must be thread-safe and quick:
        ``sqlite3.Connection.interrupt`` or ``loop.call_soon_threadsafe``.
        """
        with self._lock:
            if not self._event.is_set():
                self._hooks.append(hook)
                return lambda: self._remove(hook)
        hook()
        return lambda: None

    def wait(self, timeout: float) -> bool:
        """Block up to ``timeout`` seconds for a cancel; return True if canceled."""
        return self._event.wait(timeout)

    def _remove(self, hook: Callable[[], object]) -> None:
        with self._lock:
            if hook in self._hooks:
                self._hooks.remove(hook)
