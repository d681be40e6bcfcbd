"""Test helpers: a stub job control for calling pool functions directly, and prime truth."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from examples.numbers_app.domain import PrimeResult
from examples.numbers_app.workers import app
from workerkit.testing import legacy_thread_names, qthreads_alive

__all__ = ["StubCanceled", "StubControl", "expected_primes", "worker_threads_alive"]


class StubCanceled(Exception):
    """Raised by StubControl.check() once the stub was canceled."""


class StubControl:
    """Stand in for workerkit's job control when a pool function is called directly."""

    def __init__(self, job_id: str = "stub_1") -> None:
        self.job_id = job_id
        self.pool = None
        self.progress_calls: list[tuple[int, str]] = []
        self.partials: list[object] = []
        self._canceled = False
        self._hooks: list[Callable[[], object]] = []

    @property
    def is_canceled(self) -> bool:
        """Return True once cancel() was called."""
        return self._canceled

    def cancel(self) -> None:
        """Set the flag and run the hooks."""
        self._canceled = True
        for hook in self._hooks:
            hook()

    def check(self) -> None:
        """Raise StubCanceled if canceled."""
        if self._canceled:
            raise StubCanceled

    def progress(self, percentage: int, message: str, *_details: Any) -> None:
        """Record one progress report."""
        self.progress_calls.append((percentage, message))

    def partial(self, payload: object) -> None:
        """Record one partial result."""
        self.partials.append(payload)

    def on_cancel(self, hook: Callable[[], object]) -> Callable[[], None]:
        """Remember a hook to run on cancel."""
        self._hooks.append(hook)
        return lambda: self._hooks.remove(hook)


def expected_primes(limit: int, keep: int = 5) -> PrimeResult:
    """Return the prime result by trial division, independent of the sieve under test."""
    found = [n for n in range(2, limit) if all(n % d for d in range(2, math.isqrt(n) + 1))]
    return PrimeResult(limit, len(found), tuple(found[-keep:]) if keep else ())


def worker_threads_alive() -> int:
    """Count the legacy jobs' threads still running (plain QThreads and FetchThreads)."""
    return qthreads_alive(legacy_thread_names(app))
