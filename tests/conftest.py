"""Shared fixtures: a generated sample library, a registered database, the fake vision API."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from workerkit.imagelib.domain.fakeapi import FakeVisionServer
from workerkit.imagelib.domain.imaging import ImageError
from workerkit.imagelib.domain.intake import prepare_image
from workerkit.imagelib.domain.scanner import scan_images
from workerkit.imagelib.domain.store import ImageStore
from workerkit.imagelib.sample import SampleManifest, make_sample_library
from workerkit.imagelib.service import WorkerService
from workerkit.testing.keepalive import legacy_workers_kept
from workerkit.tools.benchmarks.probes import qthreads_alive

SAMPLE_COUNT = 200


@pytest.fixture(autouse=True)
def _legacy_workers_kept() -> Iterator[None]:
    """Keep legacy workers alive until their threads end: a quick job can crash the run."""
    with legacy_workers_kept():
        yield


@pytest.fixture(scope="session")
def sample_library(tmp_path_factory: pytest.TempPathFactory) -> SampleManifest:
    """Return a 200-file sample library, generated once per test session."""
    return make_sample_library(tmp_path_factory.mktemp("sample") / "library", count=SAMPLE_COUNT)


@pytest.fixture(scope="session")
def registered_db(sample_library: SampleManifest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a database file holding the sample library, registered without any worker stack."""
    path = tmp_path_factory.mktemp("db") / "registered.sqlite"
    store = ImageStore(path)
    try:
        for image_path in scan_images(sample_library.root):
            try:
                image = prepare_image(image_path)
            except ImageError:  # the sample's corrupt files
                continue
            if store.find_id_by_phash(image.phash) is None:
                store.register(image)
        store.connection().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        store.close()
    return path


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ImageStore]:
    """Return an empty store on a fresh SQLite file."""
    opened = ImageStore(tmp_path / "library.sqlite")
    yield opened
    opened.close()


@pytest.fixture
def registered_store(registered_db: Path, tmp_path: Path) -> Iterator[ImageStore]:
    """Return a store on a private copy of the registered sample database."""
    copy = tmp_path / "registered.sqlite"
    shutil.copyfile(registered_db, copy)
    opened = ImageStore(copy)
    yield opened
    opened.close()


@pytest.fixture
def fake_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeVisionServer]:
    """Serve the fake vision API on 127.0.0.1 and point the http annotator at it."""
    with FakeVisionServer(required_key="test-key") as server:
        monkeypatch.setenv("WORKERKIT_API_BASE", server.base_url)
        monkeypatch.setenv("WORKERKIT_API_KEY", "test-key")
        yield server


@pytest.fixture
def make_service(qtbot: object) -> Iterator[Callable[..., WorkerService]]:
    """Build WorkerServices that are shut down, and whose threads are gone, when the test ends."""
    made: list[WorkerService] = []

    def build(store: ImageStore, stack: str, **kwargs: object) -> WorkerService:
        kinds = ("registration", "search", "thumbnail", "annotation")
        service = WorkerService(store, backends=dict.fromkeys(kinds, stack), **kwargs)
        made.append(service)
        return service

    yield build
    for service in made:
        if not service.is_shut_down:
            service.shutdown(timeout_ms=10000)
    # Legacy threads quit through a signal queued to the GUI thread: process events until
    # they have, so no job of this test touches the next test's objects.
    qtbot.waitUntil(lambda: qthreads_alive() == 0, timeout=30_000)  # type: ignore[attr-defined]
