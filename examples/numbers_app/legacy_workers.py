"""The app's QThread-era workers, as written before workerkit (PySide6 and the stdlib only).

``PrimeCountWorker`` is a QObject moved to a QThread whose ``started`` signal calls ``run``;
``FetchThread`` is a QThread subclass overriding ``run()``. Both stop on a plain bool flag,
so a cancel ends as an error (primes) or with no signal at all (fetch): the defects the
migration removes.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Sequence

from PySide6.QtCore import QObject, QThread, Signal, Slot

from examples.numbers_app.domain import (
    FetchResult,
    PageRecord,
    PageStore,
    PrimeResult,
    PrimeTally,
    base_primes,
    segments,
    sieve_segment,
)

__all__ = ["FetchThread", "PrimeCountWorker"]


class PrimeCountWorker(QObject):
    """Count the primes below a limit when the owning thread starts; emit an int percentage."""

    finished = Signal(object)
    error_occurred = Signal(str)
    progress_updated = Signal(object)

    def __init__(self, limit: int, keep_last: int = 5) -> None:
        super().__init__()
        self.limit = limit
        self.keep_last = keep_last
        self._canceled = False

    def cancel(self) -> None:
        """Ask the loop to stop at its next segment."""
        self._canceled = True

    @Slot()
    def run(self) -> None:
        """Count, then emit finished with the result or error_occurred with the message."""
        try:
            result = self._count()
        except Exception as exc:  # the cancel lands here too, as an error
            self.error_occurred.emit(f"prime count failed: {exc}")
        else:
            self.finished.emit(result)

    def _count(self) -> PrimeResult:
        base = base_primes(self.limit)
        tally = PrimeTally(self.limit, self.keep_last)
        reported = -1
        for low, high in segments(self.limit):
            if self._canceled:
                raise RuntimeError("canceled")
            tally.add(sieve_segment(low, high, base))
            percentage = 100 * high // max(self.limit, 1)
            if percentage != reported:
                reported = percentage
                self.progress_updated.emit(percentage)
        return tally.result()


class FetchThread(QThread):
    """Download each URL with urllib and store its length and SHA-256 into a SQLite file."""

    fetched = Signal(object)
    failed = Signal(str)
    progress = Signal(int)

    def __init__(self, urls: Sequence[str], db_path: str, timeout: float = 5.0) -> None:
        super().__init__()
        self.urls = list(urls)
        self.db_path = str(db_path)
        self.timeout = timeout
        self._stopped = False

    def stop(self) -> None:
        """Ask the loop to stop before its next request."""
        self._stopped = True

    def run(self) -> None:
        """Fetch and store the pages; a stop ends the thread without a signal."""
        try:
            pages = self._fetch_all()
        except Exception as exc:
            self.failed.emit(f"fetch failed: {exc}")
            return
        if not self._stopped:
            self.fetched.emit(FetchResult(self.db_path, tuple(pages)))

    def _fetch_all(self) -> list[PageRecord]:
        pages: list[PageRecord] = []
        with PageStore(self.db_path) as store:
            for index, url in enumerate(self.urls, start=1):
                if self._stopped:
                    break
                with urllib.request.urlopen(url, timeout=self.timeout) as response:
                    record = PageRecord.of(url, response.read())
                store.save(record)
                pages.append(record)
                self.progress.emit(100 * index // len(self.urls))
        return pages
