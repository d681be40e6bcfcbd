"""Cancel huge thumbnail decodes on two threads while this thread keeps loading images with Qt.

Usage: decode_huge_beside_qt_loads.py HUGE SMALL ROUNDS. Prints "done" once every decode
ended. Qt picks an image plugin under one process-wide mutex; a decode that called back
into Python while holding it deadlocked with this thread, which waits for the mutex
holding the GIL (QImageReader.size() does not release it).
"""

from __future__ import annotations

import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

from PySide6.QtGui import QGuiApplication, QImageReader
from workerkit.simplified._token import JobCanceled

from workerkit.imagelib.domain.store import ImageRecord
from workerkit.imagelib.domain.thumbnails import decode_thumbnail

READS_BEFORE_CANCEL = 3


def main(huge: Path, small: Path, rounds: int) -> int:
    """Run the decodes and the loads side by side; return 0 once all decodes ended."""
    app = QGuiApplication([])
    record = ImageRecord(
        id=1, path=huge, phash="0" * 16, width=1, height=1, format="PNG",
        bytes=huge.stat().st_size, mtime=huge.stat().st_mtime,
        registered_at=datetime.now(UTC), tags=(), caption=None,
    )  # fmt: skip
    threads = [threading.Thread(target=_decode_canceled, args=(record, rounds)) for _ in range(2)]
    for thread in threads:
        thread.start()
    loads = 0
    while any(thread.is_alive() for thread in threads):
        QImageReader(str(small)).size()
        loads += 1
    for thread in threads:
        thread.join()
    print(f"done after {loads} loads", flush=True)
    del app
    return 0


def _decode_canceled(record: ImageRecord, rounds: int) -> None:
    for _ in range(rounds):
        reads = 0

        def canceled() -> bool:
            nonlocal reads
            reads += 1
            return reads > READS_BEFORE_CANCEL

        try:
            decode_thumbnail(record, 256, 256, canceled=canceled)
        except JobCanceled:
            continue


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])))
