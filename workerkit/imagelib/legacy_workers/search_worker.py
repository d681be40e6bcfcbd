"""Legacy search worker: one query, three progress steps, one cancellation check."""

from __future__ import annotations

import time

from workerkit.imagelib.domain.conditions import SearchConditions
from workerkit.imagelib.domain.results import SearchResult
from workerkit.imagelib.domain.store import ImageStore
from workerkit.imagelib.legacy_workers.base_worker import LoRAIroWorkerBase

__all__ = ["SearchWorker"]


class SearchWorker(LoRAIroWorkerBase[SearchResult]):
    """Run one search over the library."""

    def __init__(self, conditions: SearchConditions, store: ImageStore) -> None:
        super().__init__()
        self.conditions = conditions
        self.store = store

    def execute(self) -> SearchResult:
        """Query the store and return the matching records."""
        started = time.perf_counter()
        self._report_progress(20, "preparing search")
        self._check_cancellation()
        self._report_progress(60, "searching")
        records = self.store.search(self.conditions)
        self._report_progress(100, f"found {len(records)} images", "", len(records), len(records))
        return SearchResult(
            image_metadata=records,
            total_count=len(records),
            search_time=time.perf_counter() - started,
            filter_conditions=self.conditions,
        )
