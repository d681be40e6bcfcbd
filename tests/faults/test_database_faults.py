"""A locked, corrupt or full database: a clear error naming file and fix; nothing half-written.

A full disk is simulated with SQLite's own size limit, ``PRAGMA max_page_count``:
it is a per-connection setting and each thread has its own connection, so the
test store subclass applies it in ``connection()``, the one public method every
thread's queries go through. Past the limit SQLite fails the write with
SQLITE_FULL, exactly as it does when the file system is out of space.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from workerkit import STACKS
from workerkit.imagelib.domain.conditions import SearchConditions
from workerkit.imagelib.domain.results import SearchResult
from workerkit.imagelib.domain.store import ImageStore, StoreError
from workerkit.imagelib.sample import SampleManifest
from workerkit.imagelib.service import WorkerService

from ..child import SCRIPTS
from .conftest import (
    EventLog,
    copy_images,
    failure_messages,
    finished_registration,
    images_missing_sidecar_tags,
    run_job,
    write_image,
    write_sidecar,
)

pytestmark = pytest.mark.timeout(120)

BUSY_TIMEOUT_MS = 150
# Header bytes 16-17 hold the page size (big-endian).
_PAGE_SIZE_OFFSET = 16


class SizeCappedStore(ImageStore):
    """An ImageStore whose every connection refuses to grow the file past ``max_pages``."""

    max_pages: int | None = None

    def connection(self) -> sqlite3.Connection:
        """Return the thread's connection with the page cap applied."""
        connection = super().connection()
        if self.max_pages is not None:
            connection.execute(f"PRAGMA max_page_count = {int(self.max_pages)}")
        return connection

    def page_count(self) -> int:
        """Return the database's current size in pages."""
        return self.connection().execute("PRAGMA page_count").fetchone()[0]


@pytest.fixture
def small_library(sample_library: SampleManifest, tmp_path: Path) -> Path:
    """Return a folder with six images of the sample and their sidecars."""
    return copy_images(sample_library.root, tmp_path / "small", 6)


@pytest.fixture
def lock_holder(tmp_path: Path) -> Iterator[Callable[[Path], subprocess.Popen[str]]]:
    """Start processes that hold BEGIN EXCLUSIVE on a database until released."""
    holders: list[subprocess.Popen[str]] = []

    def hold(db: Path) -> subprocess.Popen[str]:
        holder = subprocess.Popen(
            [sys.executable, str(SCRIPTS / "fault_lock_database.py"), str(db)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        holders.append(holder)
        assert holder.stdout is not None and holder.stdout.readline().strip() == "LOCKED"
        return holder

    yield hold
    for holder in holders:
        release(holder)


def release(holder: subprocess.Popen[str]) -> None:
    """Let a lock holder roll back and exit."""
    if holder.poll() is None:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=10)
    if holder.stdout is not None:
        holder.stdout.close()


@pytest.mark.parametrize("stack", STACKS)
def test_registration_while_another_process_holds_the_lock_says_so(
    qtbot,
    stack: str,
    make_service: Callable[..., WorkerService],
    small_library: Path,
    lock_holder: Callable[[Path], subprocess.Popen[str]],
    tmp_path: Path,
) -> None:
    db = tmp_path / "locked.sqlite"
    with ImageStore(db, busy_timeout_ms=BUSY_TIMEOUT_MS) as store:
        holder = lock_holder(db)
        service = make_service(store, stack)
        log = EventLog.attach(service)
        outcome = run_job(qtbot, log, lambda: service.start_batch_registration(small_library))
        messages = failure_messages(outcome)
        assert messages, outcome
        for message in messages:
            assert f"'{db}' is locked by another process" in message, message
            assert (
                f"busy timeout of {BUSY_TIMEOUT_MS} ms" in message and "busy_timeout_ms" in message
            )
        release(holder)
        assert store.count_images() == 0, "nothing may be written while the lock is held"
        again = finished_registration(
            run_job(qtbot, log, lambda: service.start_batch_registration(small_library))
        )
        assert again.errors == []
        assert store.count_images() == again.registered_count > 0
        assert store.integrity_check()


@pytest.mark.parametrize("stack", STACKS)
def test_search_while_another_process_holds_the_lock_still_reads(
    qtbot,
    stack: str,
    make_service: Callable[..., WorkerService],
    registered_store: ImageStore,
    lock_holder: Callable[[Path], subprocess.Popen[str]],
) -> None:
    lock_holder(registered_store.path)
    service = make_service(registered_store, stack)
    log = EventLog.attach(service)
    event, result = run_job(qtbot, log, lambda: service.start_search(SearchConditions()))
    assert event == "finished", result
    assert isinstance(result, SearchResult)
    assert result.total_count == registered_store.count_images() > 0


def _corrupt_all_but_the_first_page(db: Path) -> None:
    data = bytearray(db.read_bytes())
    page_size = int.from_bytes(data[_PAGE_SIZE_OFFSET : _PAGE_SIZE_OFFSET + 2], "big")
    data[page_size:] = bytes([0xA5]) * (len(data) - page_size)
    db.write_bytes(bytes(data))


@pytest.fixture
def corrupt_store(registered_db: Path, tmp_path: Path) -> Iterator[ImageStore]:
    """Return a store on a copy of the registered database whose pages after the first are junk."""
    db = tmp_path / "corrupt.sqlite"
    shutil.copyfile(registered_db, db)
    _corrupt_all_but_the_first_page(db)
    with ImageStore(db) as store:
        yield store


@pytest.mark.parametrize("kind", ["search", "registration"])
@pytest.mark.parametrize("stack", STACKS)
def test_job_on_a_corrupt_database_names_the_file_and_the_fix(
    qtbot,
    stack: str,
    kind: str,
    make_service: Callable[..., WorkerService],
    corrupt_store: ImageStore,
    small_library: Path,
) -> None:
    service = make_service(corrupt_store, stack)
    log = EventLog.attach(service)
    starts = {
        "search": lambda: service.start_search(SearchConditions()),
        "registration": lambda: service.start_batch_registration(small_library),
    }
    outcome = run_job(qtbot, log, starts[kind])
    # A search has nothing to go on with: it fails. A registration may report per file.
    assert kind == "registration" or outcome[0] == "failed", outcome
    messages = failure_messages(outcome)
    assert messages, outcome
    for message in messages:
        assert f"'{corrupt_store.path}' is not a valid workerkit database" in message, message
        assert "move it aside" in message


def test_integrity_check_of_a_corrupt_database_returns_false(corrupt_store: ImageStore) -> None:
    assert corrupt_store.integrity_check() is False


def test_opening_a_file_that_is_not_a_database_names_the_file_and_the_fix(tmp_path: Path) -> None:
    db = tmp_path / "notes.sqlite"
    db.write_bytes(b"these are my notes, not a database\n" * 200)
    with pytest.raises(StoreError) as raised:
        ImageStore(db)
    assert str(raised.value).startswith(f"'{db}' is not a valid workerkit database")
    assert "move it aside" in str(raised.value)
    assert db.read_bytes().startswith(b"these are my notes"), "the file must be left alone"


def _captioned_library(root: Path, count: int) -> Path:
    root.mkdir()
    for index in range(count):
        image = write_image(root / f"img{index:03}.png", 400 + index)
        # Long captions fill pages quickly, so the cap is reached within the first images.
        write_sidecar(image, [f"tag {index}", "full disk"], f"caption {index} " + "x" * 3000)
    return root


@pytest.mark.parametrize("stack", STACKS)
def test_registration_on_a_full_disk_keeps_only_whole_images(
    qtbot, stack: str, make_service: Callable[..., WorkerService], tmp_path: Path
) -> None:
    library = _captioned_library(tmp_path / "library", 40)
    with SizeCappedStore(tmp_path / "full.sqlite") as store:
        store.max_pages = store.page_count() + 12
        service = make_service(store, stack)
        log = EventLog.attach(service)
        outcome = run_job(qtbot, log, lambda: service.start_batch_registration(library))
        messages = failure_messages(outcome)
        assert messages, f"the cap of {store.max_pages} pages was never reached: {outcome}"
        for message in messages:
            assert f"image library '{store.path}': the disk is full" in message, message
            assert "Free some space and retry" in message
        assert store.integrity_check()
        assert images_missing_sidecar_tags(store) == []
        records = store.search(SearchConditions())
        assert all(record.caption and record.caption.startswith("caption") for record in records)
        if outcome[0] == "finished":
            assert len(records) == finished_registration(outcome).registered_count
