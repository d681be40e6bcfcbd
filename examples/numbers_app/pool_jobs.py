"""The pool functions that replace the QThread-era workers: plain functions of a job control.

workerkit calls each on a pool thread as ``f(control, *args, **kwargs)``; ``control.check()``
raises ``workerkit.JobCanceled``, which must propagate, never be caught here.
"""

from __future__ import annotations

from collections.abc import Sequence

import aiohttp

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
from workerkit import JobControl

__all__ = ["count_primes", "fetch_pages"]


def count_primes(control: JobControl, limit: int, keep_last: int = 5) -> PrimeResult:
    """Return how many primes lie below ``limit`` and the last ``keep_last`` of them."""
    base = base_primes(limit)
    tally = PrimeTally(limit, keep_last)
    for low, high in segments(limit):
        control.check()
        tally.add(sieve_segment(low, high, base))
        control.progress(100 * high // max(limit, 1), f"{tally.count} primes below {high}")
    control.progress(100, f"{tally.count} primes below {limit}")
    return tally.result()


async def fetch_pages(
    control: JobControl, urls: Sequence[str], db_path: str, timeout: float = 5.0
) -> FetchResult:
    """Download each URL with aiohttp and store its length and SHA-256 into ``db_path``."""
    pages: list[PageRecord] = []
    limits = aiohttp.ClientTimeout(total=timeout)
    with PageStore(db_path) as store:
        async with aiohttp.ClientSession(timeout=limits) as session:
            for index, url in enumerate(urls, start=1):
                control.check()
                record = await _fetch_one(session, url)
                store.save(record)
                pages.append(record)
                percentage = 100 * index // len(urls)
                control.progress(percentage, f"stored {url}", url, index, len(urls))
    return FetchResult(str(db_path), tuple(pages))


async def _fetch_one(session: aiohttp.ClientSession, url: str) -> PageRecord:
    async with session.get(url) as response:
        response.raise_for_status()
        return PageRecord.of(url, await response.read())
