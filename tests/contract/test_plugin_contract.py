"""The image library's kinds through the contract plugin, on both stacks.

The same cases any app gets from ``workerkit.testing``; the rest of this folder holds
the image library's own, deeper contract cases (D-codes, recorded scenarios).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from workerkit.imagelib.context import JobContext
from workerkit.imagelib.domain.annotators import HttpAnnotator, HttpAnnotatorConfig, LocalAnnotator
from workerkit.imagelib.domain.conditions import SearchConditions
from workerkit.imagelib.domain.fakeapi import FakeVisionServer
from workerkit.imagelib.domain.store import ImageRecord, ImageStore
from workerkit.imagelib.kinds import app
from workerkit.imagelib.sample import SampleManifest
from workerkit.imagelib.slow_search import (
    CALIBRATION_ROWS,
    fill_slow_search_db,
    rows_for,
    slow_search,
    time_slow_search,
)
from workerkit.testing import Contract, ContractSuite, Sample, call

from .conftest import API_KEY, SLOW_API_LATENCY_S, THUMBNAIL_PX

QUICK_FILES = 6
VERY_SLOW_API_S = 10.0
# The long search: one SQLite query of about this long (only an interrupting cancel is
# quick); legacy's is short enough for its cancel to outwait.
LONG_SEARCH_S = 10.0
LEGACY_SEARCH_S = 1.0


@pytest.fixture
def plugin_store(registered_db: Path, tmp_path: Path) -> Iterator[ImageStore]:
    """Return a store on a private copy of the registered sample."""
    copy = tmp_path / "plugin.sqlite"
    shutil.copyfile(registered_db, copy)
    with ImageStore(copy) as store:
        yield store


@pytest.fixture
def empty_store(tmp_path: Path) -> Iterator[ImageStore]:
    """Return a store on a new, empty database."""
    with ImageStore(tmp_path / "empty.sqlite") as store:
        yield store


@pytest.fixture(scope="session")
def slow_search_dbs(tmp_path_factory: pytest.TempPathFactory) -> dict[float, Path]:
    """Return small databases whose caption search takes about each of the long steps."""
    folder = tmp_path_factory.mktemp("slow-search")
    probe = folder / "probe.sqlite"
    fill_slow_search_db(probe, CALIBRATION_ROWS)
    measured = time_slow_search(probe)
    databases = {}
    for seconds in (LONG_SEARCH_S, LEGACY_SEARCH_S):
        path = folder / f"search-{seconds:g}s.sqlite"
        fill_slow_search_db(path, rows_for(seconds, CALIBRATION_ROWS, measured))
        databases[seconds] = path
    return databases


def _slow_search_store(request: pytest.FixtureRequest, seconds: float) -> ImageStore:
    path = request.getfixturevalue("slow_search_dbs")[seconds]
    store = ImageStore(path)
    request.addfinalizer(store.close)
    return store


@pytest.fixture
def few_files(sample_library: SampleManifest, tmp_path: Path) -> Path:
    """Return a folder of a few sample images."""
    folder = tmp_path / "few"
    folder.mkdir()
    for path in sorted(p for p in sample_library.root.rglob("*.jpg"))[:QUICK_FILES]:
        shutil.copy(path, folder / path.name)
    return folder


@pytest.fixture
def slow_vision_api() -> Iterator[FakeVisionServer]:
    """Serve the fake vision API with a latency the legacy cancel can outwait."""
    with FakeVisionServer(latency=SLOW_API_LATENCY_S, required_key=API_KEY) as server:
        yield server


@pytest.fixture
def very_slow_vision_api() -> Iterator[FakeVisionServer]:
    """Serve the fake vision API with a 10 s latency: only an interrupting cancel is quick."""
    with FakeVisionServer(latency=VERY_SLOW_API_S, required_key=API_KEY) as server:
        yield server


def _context(request: pytest.FixtureRequest, store_fixture: str) -> JobContext:
    store = request.getfixturevalue(store_fixture)
    return JobContext(store, {"local": LocalAnnotator()})


def _quick_registration(request: pytest.FixtureRequest) -> Sample:
    return call(_context(request, "empty_store"), request.getfixturevalue("few_files"))


def _long_registration(request: pytest.FixtureRequest) -> Sample:
    # The big PNG comes first: its decode is the long step.
    return call(_context(request, "empty_store"), request.getfixturevalue("slow_library"))


def _missing_folder_registration(request: pytest.FixtureRequest) -> Sample:
    missing = request.getfixturevalue("tmp_path") / "no such folder"
    return call(_context(request, "empty_store"), missing)


def _quick_search(request: pytest.FixtureRequest) -> Sample:
    return call(_context(request, "plugin_store"), SearchConditions(limit=50))


def _long_search(request: pytest.FixtureRequest, seconds: float = LONG_SEARCH_S) -> Sample:
    store = _slow_search_store(request, seconds)
    return call(JobContext(store, {"local": LocalAnnotator()}), slow_search())


def _records(request: pytest.FixtureRequest) -> list[ImageRecord]:
    return request.getfixturevalue("sample_records")


def _quick_thumbnails(request: pytest.FixtureRequest) -> Sample:
    records = _records(request)[:12]
    return call(_context(request, "plugin_store"), records, THUMBNAIL_PX, THUMBNAIL_PX)


def _long_thumbnails(request: pytest.FixtureRequest) -> Sample:
    big: ImageRecord = request.getfixturevalue("big_record")
    records = [big, *_records(request)[:24]]
    return call(_context(request, "plugin_store"), records, THUMBNAIL_PX, THUMBNAIL_PX)


def _quick_preview(request: pytest.FixtureRequest) -> Sample:
    return call(_context(request, "plugin_store"), _records(request)[0], THUMBNAIL_PX, THUMBNAIL_PX)


def _long_preview(request: pytest.FixtureRequest) -> Sample:
    # One image a job: the big PNG's decode is the long step.
    big: ImageRecord = request.getfixturevalue("big_record")
    return call(_context(request, "plugin_store"), big, THUMBNAIL_PX, THUMBNAIL_PX)


def _quick_annotation(request: pytest.FixtureRequest) -> Sample:
    ids = tuple(r.id for r in _records(request)[:3])
    return call(_context(request, "plugin_store"), ids, ("local",))


def _long_annotation(request: pytest.FixtureRequest, api: str = "very_slow_vision_api") -> Sample:
    server: FakeVisionServer = request.getfixturevalue(api)
    monkeypatch: pytest.MonkeyPatch = request.getfixturevalue("monkeypatch")
    monkeypatch.setenv("WORKERKIT_API_KEY", API_KEY)
    store = request.getfixturevalue("plugin_store")
    http = HttpAnnotator(HttpAnnotatorConfig(base_url=server.base_url))
    ids = (_records(request)[0].id,)
    return call(JobContext(store, {"http": http}), ids, ("http",))


def _unknown_model_annotation(request: pytest.FixtureRequest) -> Sample:
    ids = (_records(request)[0].id,)
    return call(_context(request, "plugin_store"), ids, ("no such model",))


class TestImageLibraryContract(ContractSuite):
    """Every contract case for each of the image library's kinds."""

    contract = Contract(
        app,
        quick={
            "registration": _quick_registration,
            "search": _quick_search,
            "thumbnail": _quick_thumbnails,
            "annotation": _quick_annotation,
            "preview": _quick_preview,
        },
        long={
            "registration": _long_registration,
            "search": _long_search,
            "thumbnail": _long_thumbnails,
            "annotation": _long_annotation,
            "preview": _long_preview,
        },
        # Both sides raise on a folder that does not exist and on an unknown annotator.
        failing={
            "registration": _missing_folder_registration,
            "annotation": _unknown_model_annotation,
        },
        # Legacy cancels wait 2 s, then terminate() the thread: keep its long steps shorter.
        legacy_long={
            "search": lambda r: _long_search(r, LEGACY_SEARCH_S),
            "annotation": lambda r: _long_annotation(r, "slow_vision_api"),
        },
        # A quick job here ends within a few seconds even on a loaded machine; a wait for
        # an end that never comes (a legacy defect) costs this much, not the default 60 s.
        terminal_timeout_s=20.0,
        long_step_s={
            "registration": SLOW_API_LATENCY_S,
            "search": LONG_SEARCH_S,
            "thumbnail": SLOW_API_LATENCY_S,
            "annotation": VERY_SLOW_API_S,
            "preview": SLOW_API_LATENCY_S,
        },
    )
