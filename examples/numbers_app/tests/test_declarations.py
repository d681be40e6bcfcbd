"""The numbers app's declarations: names, stages, and the mistakes workerkit refuses."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QObject, Signal

from examples.numbers_app.domain import PrimeResult
from examples.numbers_app.legacy_workers import FetchThread, PrimeCountWorker
from examples.numbers_app.pool_jobs import count_primes, fetch_pages
from examples.numbers_app.workers import app, compare_primes, fetch, primes
from workerkit import App, DeclarationError, LegacyWorker, WorkerKind


def test_app_declares_primes_then_fetch() -> None:
    """Declare the two kinds in order, each in its own stage, then drop the legacy stack."""
    assert isinstance(app, App)
    assert app.names == ("primes", "fetch")
    assert [stage.kinds for stage in app.stages] == [("primes",), ("fetch",), ()]
    assert [stage.number for stage in app.stages] == [1, 2, 3]
    assert app.stages[-1].removes_legacy


def test_primes_is_shadowable_and_fetch_is_not() -> None:
    """Mark primes read-only with a comparator and fetch as a writing async kind."""
    assert primes.shadowable and not primes.writes
    assert fetch.writes and not fetch.shadowable
    assert fetch.is_async and not primes.is_async
    assert fetch.legacy is not None and fetch.legacy.is_thread
    assert primes.legacy is not None and not primes.legacy.is_thread


def test_primes_workload_makes_a_limit_per_size() -> None:
    """Turn a workload size into a prime limit of size thousands."""
    (workload,) = primes.workloads
    assert workload.sizes == (5, 20)
    assert workload.make(5) == ((5000,), {})


def test_legacy_worker_naming_a_missing_signal_is_refused() -> None:
    """Refuse a LegacyWorker whose finished signal the class does not have."""
    legacy = LegacyWorker(PrimeCountWorker, finished="done", progress="progress_updated")
    with pytest.raises(DeclarationError, match=r"'primes_bad'.*no signal 'done'"):
        WorkerKind(name="primes_bad", legacy=legacy, simplified=count_primes)


def test_legacy_worker_naming_a_missing_cancel_method_is_refused() -> None:
    """Refuse a QThread-subclass LegacyWorker whose cancel method the class does not have."""
    legacy = LegacyWorker(FetchThread, finished="fetched", error="failed", cancel="abort")
    with pytest.raises(DeclarationError, match=r"'fetch_bad'.*no method 'abort'"):
        WorkerKind(name="fetch_bad", legacy=legacy, simplified=fetch_pages, writes=True)


def test_comparator_on_a_writing_kind_is_refused() -> None:
    """Refuse a shadow comparator on a kind that writes."""
    legacy = LegacyWorker(FetchThread, finished="fetched", error="failed", cancel="stop")
    with pytest.raises(DeclarationError, match=r"'fetch_twice' writes"):
        WorkerKind(
            name="fetch_twice",
            legacy=legacy,
            simplified=fetch_pages,
            writes=True,
            compare=lambda legacy, candidate: [],
        )


def test_a_class_that_is_not_a_qobject_is_refused() -> None:
    """Refuse a plain class as the legacy worker."""

    class NotAWorker:
        finished = None

    with pytest.raises(DeclarationError, match="'plain'"):
        WorkerKind(name="plain", legacy=LegacyWorker(NotAWorker), simplified=count_primes)


def test_a_qobject_without_run_is_refused() -> None:
    """Refuse a QObject worker that has the signals but no run slot."""

    class Idle(QObject):
        finished = Signal(object)
        error_occurred = Signal(str)

        def cancel(self) -> None:
            """Do nothing."""

    with pytest.raises(DeclarationError, match=r"'idle'.*no method 'run'"):
        WorkerKind(name="idle", legacy=LegacyWorker(Idle), simplified=count_primes)


def test_compare_primes_names_each_differing_field() -> None:
    """Return no differences for equal results and one line per differing field."""
    legacy = PrimeResult(100, 25, (89, 97))
    assert compare_primes(legacy, PrimeResult(100, 25, (89, 97))) == []
    differences = compare_primes(legacy, PrimeResult(100, 24, (83, 89)))
    assert len(differences) == 2
    assert differences[0].startswith("count: legacy 25, candidate 24")
    assert differences[1].startswith("last:")
