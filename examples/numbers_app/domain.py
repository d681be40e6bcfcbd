"""The app's own domain code, shared by both stacks: prime sieving, page records, storage.

Standard library only, so the QThread-era workers and the pool functions can both use it.
"""

from __future__ import annotations

import hashlib
import math
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "SEGMENT",
    "FetchResult",
    "PageRecord",
    "PageStore",
    "PrimeResult",
    "PrimeTally",
    "base_primes",
    "read_pages",
    "segments",
    "sieve_segment",
]

SEGMENT = 32_768
"""How many numbers one sieve segment covers: the unit of work between cancel checks."""


@dataclass(frozen=True, slots=True)
class PrimeResult:
    """Say how many primes lie below ``limit`` and which were the last few."""

    limit: int
    count: int
    last: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class PageRecord:
    """Describe one stored page: its URL, body length and SHA-256."""

    url: str
    length: int
    sha256: str

    @classmethod
    def of(cls, url: str, body: bytes) -> PageRecord:
        """Return the record of ``body`` fetched from ``url``."""
        return cls(url, len(body), hashlib.sha256(body).hexdigest())


@dataclass(frozen=True, slots=True)
class FetchResult:
    """Say which pages a fetch stored, in request order, and into which database."""

    db_path: str
    pages: tuple[PageRecord, ...]

    @property
    def total_bytes(self) -> int:
        """Return the summed body length of the stored pages."""
        return sum(page.length for page in self.pages)


class PrimeTally:
    """Accumulate a prime count over segments, keeping the last ``keep`` primes."""

    def __init__(self, limit: int, keep: int) -> None:
        self.limit = limit
        self.keep = max(keep, 0)
        self.count = 0
        self._last: list[int] = []

    def add(self, primes: list[int]) -> None:
        """Count the primes of one segment."""
        self.count += len(primes)
        if self.keep:
            self._last = (self._last + primes[-self.keep :])[-self.keep :]

    def result(self) -> PrimeResult:
        """Return the tally as a result."""
        return PrimeResult(self.limit, self.count, tuple(self._last))


def base_primes(limit: int) -> list[int]:
    """Return the primes up to the square root of ``limit``, enough to sieve below it."""
    top = math.isqrt(max(limit, 0)) + 1
    flags = bytearray([1]) * (top + 1)
    flags[:2] = b"\x00\x00"
    for p in range(2, math.isqrt(top) + 1):
        if flags[p]:
            flags[p * p :: p] = bytes(len(range(p * p, top + 1, p)))
    return [n for n in range(top + 1) if flags[n]]


def segments(limit: int, size: int = SEGMENT) -> Iterator[tuple[int, int]]:
    """Yield the half-open ranges [low, high) that cover [0, limit)."""
    for low in range(0, max(limit, 0), size):
        yield low, min(low + size, limit)


def sieve_segment(low: int, high: int, base: list[int]) -> list[int]:
    """Return the primes in [low, high), sieved by ``base``."""
    flags = bytearray([1]) * (high - low)
    for p in base:
        if p * p >= high:
            break
        start = max(p * p, (low + p - 1) // p * p)
        flags[start - low :: p] = bytes(len(range(start, high, p)))
    for n in range(low, min(2, high)):
        flags[n - low] = 0
    return [low + i for i, flag in enumerate(flags) if flag]


class PageStore:
    """Store page records in one SQLite file; open it on the thread that uses it."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._connection = sqlite3.connect(self.path)
        self._connection.execute(
            "CREATE TABLE IF NOT EXISTS pages (url TEXT PRIMARY KEY, length INTEGER NOT NULL, "
            "sha256 TEXT NOT NULL)"
        )
        self._connection.commit()

    def save(self, record: PageRecord) -> None:
        """Insert or replace one page and commit."""
        self._connection.execute(
            "INSERT OR REPLACE INTO pages (url, length, sha256) VALUES (?, ?, ?)",
            (record.url, record.length, record.sha256),
        )
        self._connection.commit()

    def close(self) -> None:
        """Close the connection."""
        self._connection.close()

    def __enter__(self) -> PageStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def read_pages(path: str | Path) -> dict[str, PageRecord]:
    """Return the stored pages of a database file by URL."""
    with closing(sqlite3.connect(str(path))) as connection:
        rows = connection.execute("SELECT url, length, sha256 FROM pages").fetchall()
    return {url: PageRecord(url, length, digest) for url, length, digest in rows}
