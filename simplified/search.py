"""Search on the pool, interruptible: a cancel stops the running SQLite statement."""

from __future__ import annotations

import time

from simplified.job import JobControl
from simplified.token import JobCanceled
from workerkit.conditions import SearchConditions
from workerkit.results import SearchResult
from workerkit.store import ImageStore, StoreInterrupted

__all__ = ["run_search"]


def run_search(
    control: JobControl, store: ImageStore, conditions: SearchConditions
) -> SearchResult:
    """Run one query; a cancel interrupts it through the connection instead of waiting."""
    started = time.perf_counter()
    control.progress(20, "searching")
    # Connection.interrupt() is the one sqlite3 call that is safe from another thread.
    remove_hook = control.token.on_cancel(store.connection().interrupt)
    try:
        records = store.search(conditions)
    except StoreInterrupted:
        raise JobCanceled from None
    finally:
        remove_hook()
    control.check()
    control.progress(100, f"found {len(records)} images", "", len(records), len(records))
    return SearchResult(
        image_metadata=records,
        total_count=len(records),
        search_time=time.perf_counter() - started,
        filter_conditions=conditions,
    )
