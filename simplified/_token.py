"""Cooperative cancellation: a thread-safe flag the work checks, plus hooks that interrupt it."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from workerkit._errors import JobCanceled

__all__ = ["CancelToken", "JobCanceled"]

logger = logging.getLogger(__name__)
# One lock for every token: it guards a few list operations, and a burst makes one token
# per job on the GUI thread, so a lock each would cost more than the rare contention.
_LOCK = threading.Lock()


class CancelToken:
    """Tell a running job to stop, from any thread, without waiting for it.

    ``stop_requested`` also turns true once the job has ended for any reason, so helpers
    that share its work (a fan-out) stop with it even when it failed.
    """

    __slots__ = ("_canceled", "_ended", "_hooks")

    def __init__(self) -> None:
        # Plain attributes: a bool is read and written whole under the GIL, and made
        # cheaply (a burst makes one token per job on the GUI thread).
        self._canceled = False
        self._ended = False
        self._hooks: list[Callable[[], object]] | None = None

    @property
    def is_canceled(self) -> bool:
        """Return True once cancel() was called."""
        return self._canceled

    @property
    def stop_requested(self) -> bool:
        """Return True once the job was canceled or has ended."""
        return self._ended or self.is_canceled

    def cancel(self) -> list[str]:
        """Set the flag and run the interrupt hooks; return the errors of hooks that raised."""
        with _LOCK:
            if self.is_canceled:
                return []
            self._canceled = True
            hooks, self._hooks = self._hooks or [], None
        return _run_all(hooks)

    def end(self) -> None:
        """Mark the job ended: helpers stop; hooks are dropped unrun (nothing left to interrupt)."""
        with _LOCK:
            self._ended = True
            self._hooks = None

    def raise_if_canceled(self) -> None:
        """Raise JobCanceled if the flag is set."""
        if self.is_canceled:
            raise JobCanceled

    def on_cancel(self, hook: Callable[[], object]) -> Callable[[], None]:
        """Run ``hook`` on cancel (now, if already canceled); return a function that removes it.

        Hooks run on the canceling thread, so they must be thread-safe and quick:
        ``sqlite3.Connection.interrupt`` or ``loop.call_soon_threadsafe``. A hook that
        raises is logged and reported by cancel(); the other hooks still run.
        """
        with _LOCK:
            if not self.is_canceled:
                self._hooks = self._hooks or []
                self._hooks.append(hook)
                return lambda: self._remove(hook)
        _run_all([hook])
        return lambda: None

    def _remove(self, hook: Callable[[], object]) -> None:
        with _LOCK:
            if self._hooks and hook in self._hooks:
                self._hooks.remove(hook)


def _run_all(hooks: list[Callable[[], object]]) -> list[str]:
    errors = []
    for hook in hooks:
        try:
            hook()
        except Exception as exc:
            logger.exception("cancel hook %r raised", hook)
            errors.append(f"{type(exc).__name__}: {exc}")
    return errors
