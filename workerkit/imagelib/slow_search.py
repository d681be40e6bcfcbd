"""A small database whose caption search runs for seconds: a long, interruptible SQLite step.

The only difference from the store's schema: ``captions.image_id`` has no declared type.
The search's ``c.image_id = i.id`` then compares with numeric affinity, which no index on
that column (its UNIQUE one, or an automatic one) can serve, so the EXISTS scans every
caption for every image: rows x rows SQLite VM steps over a file of a few MB,
interruptible by the progress handler between any of them.
"""

from __future__ import annotations

import math
import sqlite3
import time
from contextlib import closing
from pathlib import Path

from workerkit.imagelib.domain.conditions import SearchConditions
from workerkit.imagelib.domain.store import ImageStore

__all__ = [
    "CALIBRATION_ROWS",
    "SLOW_PHRASE",
    "fill_slow_search_db",
    "rows_for",
    "slow_search",
    "time_slow_search",
]

SLOW_PHRASE = "no caption says this"
CALIBRATION_ROWS = 2000


def slow_search() -> SearchConditions:
    """Return the search that is slow on a database made by fill_slow_search_db."""
    return SearchConditions(caption=SLOW_PHRASE)


def fill_slow_search_db(path: Path, rows: int) -> None:
    """Write ``rows`` images and captions into the new database ``path``."""
    with closing(sqlite3.connect(path)) as connection:
        connection.execute(
            "CREATE TABLE captions (image_id NOT NULL REFERENCES images (id) ON DELETE CASCADE, "
            "text TEXT NOT NULL, source TEXT NOT NULL CHECK (length(source) > 0), "
            "UNIQUE (image_id, source))"
        )
        connection.commit()
    with ImageStore(path) as store:
        connection = store.connection()
        connection.execute("BEGIN")
        connection.execute(
            "WITH RECURSIVE n(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM n WHERE k < ?) "
            "INSERT INTO images (id, path, display_path, phash, width, height, format, bytes, "
            "mtime, registered_at) SELECT k, CAST('/slow/img_' || k || '.jpg' AS BLOB), "
            "'/slow/img_' || k || '.jpg', printf('s%015x', k), 640, 480, 'JPEG', 1000, 0.0, "
            "'2024-01-01T00:00:00.000000+00:00' FROM n",
            (rows,),
        )
        connection.execute(
            "INSERT INTO captions (image_id, text, source) "
            "SELECT id, 'slow caption ' || id, 'sidecar' FROM images"
        )
        connection.execute("COMMIT")


def time_slow_search(path: Path) -> float:
    """Return how long the slow search takes on ``path``, uncancelled."""
    with ImageStore(path) as store:
        started = time.perf_counter()
        store.search(slow_search())
        return time.perf_counter() - started


def rows_for(seconds: float, rows: int, measured_s: float) -> int:
    """Return the rows that make the search take ``seconds``, from one measured size."""
    # The time grows with rows squared.
    return max(1, round(rows * math.sqrt(seconds / max(measured_s, 1e-3))))
