"""The numbers app's worker kinds, declared once for workerkit; ``app`` is what workerkit loads."""

from __future__ import annotations

from typing import Any

from examples.numbers_app.domain import PrimeResult
from examples.numbers_app.legacy_workers import FetchThread, PrimeCountWorker
from examples.numbers_app.pool_jobs import count_primes, fetch_pages
from workerkit import App, LegacyWorker, Stage, WorkerKind, Workload

__all__ = ["app", "compare_primes", "fetch", "primes"]


def compare_primes(legacy: PrimeResult, candidate: PrimeResult) -> list[str]:
    """Return how the candidate's prime count differs from the legacy one (empty when equal)."""
    return [
        f"{field}: legacy {getattr(legacy, field)!r}, candidate {getattr(candidate, field)!r}"
        for field in ("limit", "count", "last")
        if getattr(legacy, field) != getattr(candidate, field)
    ]


def _prime_workload(size: int) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Return the arguments of one benchmark prime count of the given size."""
    return (size * 1000,), {}


primes = WorkerKind(
    name="primes",
    legacy=LegacyWorker(
        PrimeCountWorker,
        run="run",
        finished="finished",
        error="error_occurred",
        progress="progress_updated",
        cancel="cancel",
    ),
    simplified=count_primes,
    writes=False,
    latest_wins=False,
    compare=compare_primes,
    workloads=(Workload("primes", make=_prime_workload, sizes=(5, 20)),),
)

fetch = WorkerKind(
    name="fetch",
    legacy=LegacyWorker(
        FetchThread, finished="fetched", error="failed", progress="progress", cancel="stop"
    ),
    simplified=fetch_pages,
    writes=True,
)

app = App(
    "numbers_app",
    [primes, fetch],
    stages=(
        Stage(1, "the prime counter (CPU-bound, read-only)", kinds=("primes",)),
        Stage(2, "the page fetcher (network-bound, writes)", kinds=("fetch",)),
        Stage(3, "removal of the legacy stack", removes_legacy=True),
    ),
    # The checklist's limits for the numbers app's compare rows and shadow log.
    budgets={
        "budgets": {"primes": {"primes: wall time": {"min_ratio": 1.0}}},
        "shadow": {"min_compared": 20},
    },
)
