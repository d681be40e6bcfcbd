"""Search on the pool, interruptible: a cancel stops the running SQLite statement."""

from __future__ import annotations

import time

from workerkit import JobCanceled, JobControl
from workerkit.imagelib.domain.conditions import SearchConditions
from workerkit.imagelib.domain.results import SearchResult
from workerkit.imagelib.domain.store import ImageStore, StoreInterrupted

__all__ = ["PROGRESS_STEPS", "run_search"]

PROGRESS_STEPS = 20_000


def run_search(
    control: JobControl, store: ImageStore, conditions: SearchConditions
) -> SearchResult:
    """Run one query; a cancel interrupts it through the connection instead of waiting."""
    started = time.perf_counter()
    control.progress(20, "searching")
    connection = store.connection()
    # SQLite calls the handler on this thread every few thousand VM steps and stops the
    # statement when it answers True. Unlike Connection.interrupt() from the canceling
    # thread, it cannot miss a cancel that lands just before the statement starts.
    connection.set_progress_handler(lambda: control.is_canceled, PROGRESS_STEPS)
    try:
        control.check()
        records = store.search(conditions)
    except StoreInterrupted:
        raise JobCanceled from None
    finally:
        connection.set_progress_handler(None, 0)
    control.check()
    control.progress(100, f"found {len(records)} images", "", len(records), len(records))
    return SearchResult(
        image_metadata=records,
        total_count=len(records),
        search_time=time.perf_counter() - started,
        filter_conditions=conditions,
    )
