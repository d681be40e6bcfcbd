"""Tests for workerkit.imagelib.domain.store: the SQLite image library, on real files."""

from __future__ import annotations

import gc
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from workerkit.imagelib.domain import store as store_module
from workerkit.imagelib.domain.conditions import SearchConditions
from workerkit.imagelib.domain.store import (
    ImageRecord,
    ImageStore,
    NewImage,
    StoreError,
    StoreInterrupted,
)

MAY_1 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def _image(
    folder: Path,
    name: str,
    *,
    phash: str = "0123456789abcdef",
    width: int = 640,
    height: int = 480,
    tags: tuple[str, ...] = (),
    caption: str | None = None,
) -> NewImage:
    """Return a NewImage for ``folder / name`` (the store never opens the file)."""
    return NewImage(
        path=folder / name,
        phash=phash,
        width=width,
        height=height,
        format="PNG",
        bytes=1234,
        mtime=1_700_000_000.5,
        tags=tags,
        caption=caption,
    )


def _ids(records: list[ImageRecord]) -> list[int]:
    """Return the ids of ``records`` in order."""
    return [record.id for record in records]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ImageStore]:
    """Yield an ImageStore on a fresh file, closed after the test."""
    with ImageStore(tmp_path / "library.sqlite") as opened:
        yield opened


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[datetime]:
    """Make the store's clock return the times pushed onto the returned list, in order."""
    times: list[datetime] = []
    monkeypatch.setattr(store_module, "_now", lambda: times.pop(0))
    return times


# --- opening -------------------------------------------------------------------------------


def test_image_store_new_file_gets_schema_wal_and_pragmas(store: ImageStore) -> None:
    connection = store.connection()
    pragmas = {
        name: connection.execute(f"PRAGMA {name}").fetchone()[0]
        for name in ("journal_mode", "user_version", "foreign_keys", "synchronous", "busy_timeout")
    }
    assert pragmas == {
        "journal_mode": "wal",
        "user_version": 1,
        "foreign_keys": 1,
        "synchronous": 1,
        "busy_timeout": 5000,
    }
    tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    assert {"images", "tags", "captions", "annotations", "images_phash", "tags_tag"} <= tables


def test_image_store_reopen_keeps_rows_and_schema(tmp_path: Path) -> None:
    path = tmp_path / "library.sqlite"
    with ImageStore(path) as first:
        image_id = first.register(_image(tmp_path, "a.png"))
    with ImageStore(path) as second:
        assert second.count_images() == 1
        assert second.find_id_by_path(tmp_path / "a.png") == image_id
        assert second.path == path


def test_image_store_missing_parent_folder_raises(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=r"the folder '.*missing' does not exist. Create it first"):
        ImageStore(tmp_path / "missing" / "library.sqlite")


def test_image_store_directory_path_raises(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=r"it is a folder\. Pass a file path inside it\."):
        ImageStore(tmp_path)


def test_image_store_memory_database_raises() -> None:
    with pytest.raises(StoreError, match="an in-memory database cannot be shared between threads"):
        ImageStore(":memory:")


def test_image_store_garbage_file_raises_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "library.sqlite"
    path.write_bytes(b"this is not a database, just text " * 200)
    with pytest.raises(
        StoreError, match=r"is not a valid workerkit database \(SQLite says: .*\); move it aside"
    ) as caught:
        ImageStore(path)
    assert isinstance(caught.value.__cause__, sqlite3.DatabaseError)


def test_image_store_other_apps_database_raises(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite"
    with sqlite3.connect(path) as other:
        other.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
    other.close()
    with pytest.raises(
        StoreError, match=r"not a valid workerkit database \(it holds other tables: invoices\)"
    ):
        ImageStore(path)


def test_image_store_newer_schema_raises(tmp_path: Path) -> None:
    path = tmp_path / "future.sqlite"
    with ImageStore(path) as current:
        current.connection().execute("PRAGMA user_version = 7")
    with pytest.raises(
        StoreError, match="has schema version 7, but this workerkit reads version 1"
    ):
        ImageStore(path)


# --- registering ---------------------------------------------------------------------------


def test_register_returns_id_and_get_returns_every_field(
    store: ImageStore, tmp_path: Path, clock: list[datetime]
) -> None:
    clock.append(MAY_1)
    image = _image(tmp_path, "a.png", tags=("Cat", "sofa"), caption="A cat.")
    image_id = store.register(image)
    assert store.get(image_id) == ImageRecord(
        id=image_id,
        path=tmp_path / "a.png",
        phash="0123456789abcdef",
        width=640,
        height=480,
        format="PNG",
        bytes=1234,
        mtime=1_700_000_000.5,
        registered_at=MAY_1,
        tags=("cat", "sofa"),
        caption="A cat.",
    )


def test_register_uses_the_current_utc_time(store: ImageStore, tmp_path: Path) -> None:
    before = datetime.now(UTC)
    record = store.get(store.register(_image(tmp_path, "a.png")))
    assert record is not None
    assert record.registered_at.tzinfo is not None
    assert before <= record.registered_at <= datetime.now(UTC)


def test_register_stores_sidecars_with_sidecar_source(store: ImageStore, tmp_path: Path) -> None:
    image_id = store.register(_image(tmp_path, "a.png", tags=("b", "a"), caption="Hello"))
    assert store.tags_for(image_id) == [("a", "sidecar"), ("b", "sidecar")]
    rows = store.connection().execute("SELECT text, source FROM captions").fetchall()
    assert rows == [("Hello", "sidecar")]


def test_register_many_returns_ids_in_order(store: ImageStore, tmp_path: Path) -> None:
    ids = store.register_many([_image(tmp_path, f"{n}.png") for n in "abc"])
    assert [store.get(i).path.name for i in ids] == ["a.png", "b.png", "c.png"]  # type: ignore[union-attr]


def test_register_many_existing_path_keeps_id_and_is_skipped(
    store: ImageStore, tmp_path: Path
) -> None:
    first = store.register(_image(tmp_path, "a.png", tags=("old",), width=10))
    ids = store.register_many(
        [_image(tmp_path, "b.png"), _image(tmp_path, "a.png", tags=("new",), width=99)]
    )
    assert ids[1] == first
    record = store.get(first)
    assert record is not None
    assert (record.width, record.tags) == (10, ("old",))


def test_register_many_same_path_twice_in_one_batch_gives_one_row(
    store: ImageStore, tmp_path: Path
) -> None:
    ids = store.register_many([_image(tmp_path, "a.png"), _image(tmp_path, "a.png")])
    assert ids[0] == ids[1]
    assert store.count_images() == 1


def test_register_many_failure_writes_nothing(store: ImageStore, tmp_path: Path) -> None:
    broken = replace(_image(tmp_path, "c.png"), phash=None)  # type: ignore[arg-type]
    batch = [_image(tmp_path, "a.png", tags=("x",)), _image(tmp_path, "b.png"), broken]
    with pytest.raises(StoreError, match=r"NOT NULL constraint failed: images\.phash") as caught:
        store.register_many(batch)
    assert isinstance(caught.value.__cause__, sqlite3.IntegrityError)
    assert store.count_images() == 0
    assert store.connection().execute("SELECT count(*) FROM tags").fetchone()[0] == 0


def test_register_non_utf8_path_round_trips(store: ImageStore, tmp_path: Path) -> None:
    bytes_dir = os.fsencode(tmp_path)
    raw = os.path.join(bytes_dir, b"caf\xe9.png")
    with open(raw, "wb") as stream:
        stream.write(b"png bytes are not read by the store")
    path = Path(os.fsdecode(raw))
    image_id = store.register(replace(_image(tmp_path, "x.png"), path=path))
    record = store.get(image_id)
    assert record is not None
    assert os.fsencode(record.path) == raw
    assert record.path.exists()
    assert store.find_id_by_path(path) == image_id
    assert store.all_paths() == {path}
    shown = store.connection().execute("SELECT display_path FROM images").fetchone()[0]
    assert shown.endswith("caf\ufffd.png")


def test_find_id_by_path_unknown_is_none(store: ImageStore, tmp_path: Path) -> None:
    store.register(_image(tmp_path, "a.png"))
    assert store.find_id_by_path(tmp_path / "b.png") is None


def test_find_id_by_phash_returns_lowest_id_or_none(store: ImageStore, tmp_path: Path) -> None:
    first, _second = store.register_many(
        [_image(tmp_path, "a.png", phash="ff" * 8), _image(tmp_path, "b.png", phash="ff" * 8)]
    )
    assert store.find_id_by_phash("ff" * 8) == first
    assert store.find_id_by_phash("00" * 8) is None


def test_import_sidecars_merges_tags_and_keeps_first_caption(
    store: ImageStore, tmp_path: Path
) -> None:
    image_id = store.register(_image(tmp_path, "a.png", tags=("cat",), caption="First."))
    store.import_sidecars(image_id, ["Cat", "garden"], "Second.")
    record = store.get(image_id)
    assert record is not None
    assert (record.tags, record.caption) == (("cat", "garden"), "First.")


def test_import_sidecars_sets_caption_when_image_has_none(
    store: ImageStore, tmp_path: Path
) -> None:
    image_id = store.register(_image(tmp_path, "a.png"))
    store.import_sidecars(image_id, [], "  From the duplicate.  ")
    assert store.get(image_id).caption == "From the duplicate."  # type: ignore[union-attr]


def test_import_sidecars_unknown_image_raises(store: ImageStore) -> None:
    with pytest.raises(StoreError, match=r"There is no image with id 99 in '.*library\.sqlite'"):
        store.import_sidecars(99, ["x"], None)


# --- reading -------------------------------------------------------------------------------


def test_get_unknown_id_is_none(store: ImageStore) -> None:
    assert store.get(1) is None


def test_get_many_keeps_input_order_and_skips_missing(store: ImageStore, tmp_path: Path) -> None:
    a, b, c = store.register_many([_image(tmp_path, f"{n}.png") for n in "abc"])
    assert _ids(store.get_many([c, 999, a, b])) == [c, a, b]
    assert store.get_many([]) == []


def test_count_images_and_all_paths(store: ImageStore, tmp_path: Path) -> None:
    assert (store.count_images(), store.all_paths()) == (0, set())
    store.register_many([_image(tmp_path, "a.png"), _image(tmp_path / "sub", "b.png")])
    assert store.count_images() == 2
    assert store.all_paths() == {tmp_path / "a.png", tmp_path / "sub" / "b.png"}


def test_record_tags_are_sorted_and_merged_across_sources(
    store: ImageStore, tmp_path: Path
) -> None:
    image_id = store.register(_image(tmp_path, "a.png", tags=("zebra", "cat")))
    store.save_annotation(image_id, "tagger-v1", tags=["cat", "apple"])
    assert store.get(image_id).tags == ("apple", "cat", "zebra")  # type: ignore[union-attr]


def test_record_caption_prefers_sidecar_then_other_sources(
    store: ImageStore, tmp_path: Path
) -> None:
    with_sidecar = store.register(_image(tmp_path, "a.png", caption="From sidecar."))
    without = store.register(_image(tmp_path, "b.png"))
    store.connection().executemany(
        "INSERT INTO captions (image_id, text, source) VALUES (?, ?, 'captioner')",
        [(with_sidecar, "From a model."), (without, "Only a model.")],
    )
    records = store.get_many([with_sidecar, without])
    assert [record.caption for record in records] == ["From sidecar.", "Only a model."]


# --- searching -----------------------------------------------------------------------------


@pytest.fixture
def library(store: ImageStore, tmp_path: Path) -> dict[str, int]:
    """Register a small library and return its ids by name."""
    images = [
        _image(tmp_path, "cat.png", tags=("cat", "indoor"), caption="A CAT on a sofa.", width=800),
        _image(
            tmp_path, "dog.png", tags=("dog", "outdoor"), caption="Dog in the park.", height=900
        ),
        _image(tmp_path, "both.png", tags=("cat", "dog", "outdoor"), width=1600, height=1200),
        _image(tmp_path, "plain.png", caption="Café au lait, 100% pure_arabica \\o/"),
    ]
    ids = store.register_many(images)
    return dict(zip(("cat", "dog", "both", "plain"), ids, strict=True))


def _search(store: ImageStore, **conditions: object) -> list[int]:
    """Return the ids found by a search with ``conditions``."""
    return _ids(store.search(SearchConditions(**conditions)))  # type: ignore[arg-type]


def test_search_empty_conditions_returns_everything_by_id(
    store: ImageStore, library: dict[str, int]
) -> None:
    assert _search(store) == sorted(library.values())


def test_search_and_requires_every_tag(store: ImageStore, library: dict[str, int]) -> None:
    assert _search(store, tags=("cat", "dog")) == [library["both"]]
    assert _search(store, tags=("cat", "dog", "bird")) == []


def test_search_or_accepts_any_tag(store: ImageStore, library: dict[str, int]) -> None:
    found = _search(store, tags=("indoor", "dog"), match="or")
    assert found == [library["cat"], library["dog"], library["both"]]


def test_search_tags_from_any_source_count(store: ImageStore, library: dict[str, int]) -> None:
    store.save_annotation(library["plain"], "tagger-v1", tags=["coffee"])
    assert _search(store, tags=("coffee",)) == [library["plain"]]


def test_search_include_untagged_adds_images_without_tags(
    store: ImageStore, library: dict[str, int]
) -> None:
    assert _search(store, tags=("indoor",), include_untagged=True) == [
        library["cat"],
        library["plain"],
    ]


def test_search_include_untagged_without_tags_changes_nothing(
    store: ImageStore, library: dict[str, int]
) -> None:
    assert _search(store, include_untagged=True, min_width=700) == [library["cat"], library["both"]]


def test_search_caption_is_case_insensitive_substring(
    store: ImageStore, library: dict[str, int]
) -> None:
    assert _search(store, caption="a cat") == [library["cat"]]
    assert _search(store, caption="CAFÉ AU") == [library["plain"]]


@pytest.mark.parametrize("text", ["100%", "pure_arabica", "\\o/", "% pure"])
def test_search_caption_wildcards_match_literally(
    store: ImageStore, library: dict[str, int], text: str
) -> None:
    assert _search(store, caption=text) == [library["plain"]]


@pytest.mark.parametrize("text", ["%", "_", "\\"])
def test_search_caption_lone_wildcard_only_matches_that_character(
    store: ImageStore, library: dict[str, int], text: str
) -> None:
    assert _search(store, caption=text) == [library["plain"]]


def test_search_minimum_width_and_height(store: ImageStore, library: dict[str, int]) -> None:
    assert _search(store, min_width=800) == [library["cat"], library["both"]]
    assert _search(store, min_height=900) == [library["dog"], library["both"]]
    assert _search(store, min_width=800, min_height=900) == [library["both"]]


def test_search_registration_date_range(
    store: ImageStore, tmp_path: Path, clock: list[datetime]
) -> None:
    days = [MAY_1 + timedelta(days=n) for n in range(3)]
    clock.extend(days)
    ids = [store.register(_image(tmp_path, f"{n}.png")) for n in range(3)]
    assert _search(store, registered_after=days[1]) == ids[1:]
    assert _search(store, registered_before=days[1]) == ids[:1]
    assert _search(store, registered_after=days[1], registered_before=days[2]) == [ids[1]]


def test_search_limit_keeps_lowest_ids_and_count_ignores_it(
    store: ImageStore, library: dict[str, int]
) -> None:
    conditions = SearchConditions(tags=("outdoor",), match="or", limit=1)
    assert _ids(store.search(conditions)) == [library["dog"]]
    assert store.search_count(conditions) == 2


def test_search_count_matches_search(store: ImageStore, library: dict[str, int]) -> None:
    conditions = SearchConditions(tags=("cat",), caption="sofa")
    assert store.search_count(conditions) == len(store.search(conditions)) == 1


@pytest.mark.parametrize(
    "hostile",
    ["it's", 'say "hi"', "100%", "snake_case", "x'); DROP TABLE images; --", "a\\b"],
)
def test_search_hostile_tags_are_plain_values(
    store: ImageStore, tmp_path: Path, hostile: str
) -> None:
    target = store.register(_image(tmp_path, "target.png", tags=(hostile,)))
    store.register(_image(tmp_path, "other.png", tags=("plain",)))
    assert _search(store, tags=(hostile,)) == [target]
    assert _search(store, caption=hostile) == []
    assert store.count_images() == 2


def test_search_five_thousand_images_is_fast(store: ImageStore, tmp_path: Path) -> None:
    pool = [f"tag{n}" for n in range(50)]
    images = [
        _image(
            tmp_path,
            f"{n:05}.png",
            phash=f"{n:016x}",
            width=100 + n % 1000,
            tags=(pool[n % 50], pool[n % 7], pool[n % 11]),
            caption=f"Picture number {n}",
        )
        for n in range(5000)
    ]
    ids = store.register_many(images)
    expected_and = [
        i for i, image in zip(ids, images, strict=True) if {"tag3", "tag5"} <= set(image.tags)
    ]
    started = time.perf_counter()
    found_and = store.search(SearchConditions(tags=("tag3", "tag5")))
    found_or = store.search(SearchConditions(tags=("tag3", "tag5"), match="or", min_width=600))
    found_caption = store.search(SearchConditions(caption="number 49"))
    everything = store.search(SearchConditions())
    elapsed = time.perf_counter() - started
    assert _ids(found_and) == expected_and
    assert len(found_or) == sum(
        1 for image in images if {"tag3", "tag5"} & set(image.tags) and image.width >= 600
    )
    assert len(found_caption) == 111  # 49, 490-499, 4900-4999
    assert len(everything) == 5000
    assert everything[1234].tags == tuple(sorted(set(images[1234].tags)))
    assert elapsed < 2.0


# --- annotations ---------------------------------------------------------------------------


def test_save_annotation_with_tags_adds_row_and_model_tags(
    store: ImageStore, tmp_path: Path, clock: list[datetime]
) -> None:
    clock.extend([MAY_1, MAY_1 + timedelta(hours=1)])
    image_id = store.register(_image(tmp_path, "a.png", tags=("cat",)))
    store.save_annotation(image_id, "tagger-v1", tags=["Cat", "Blue  Sky"])
    assert store.annotations(image_id) == [
        {
            "model": "tagger-v1",
            "result": {"tags": ["Cat", "Blue  Sky"]},
            "created_at": MAY_1 + timedelta(hours=1),
        }
    ]
    assert store.tags_for(image_id) == [
        ("blue sky", "tagger-v1"),
        ("cat", "sidecar"),
        ("cat", "tagger-v1"),
    ]


def test_save_annotation_with_error_records_it_without_tags(
    store: ImageStore, tmp_path: Path
) -> None:
    image_id = store.register(_image(tmp_path, "a.png"))
    store.save_annotation(image_id, "remote", error="HTTP 503 after 3 attempts")
    (annotation,) = store.annotations(image_id)
    assert annotation["result"] == {"error": "HTTP 503 after 3 attempts"}
    assert annotation["created_at"].tzinfo is not None
    assert store.tags_for(image_id) == []


def test_save_annotation_needs_exactly_one_outcome(store: ImageStore, tmp_path: Path) -> None:
    image_id = store.register(_image(tmp_path, "a.png"))
    for outcome in ({}, {"tags": ["a"], "error": "boom"}):
        with pytest.raises(ValueError, match=r"needs exactly one of tags= \(.*\) or error="):
            store.save_annotation(image_id, "m", **outcome)  # type: ignore[arg-type]
    assert store.annotations(image_id) == []


@pytest.mark.parametrize("model", ["", "  ", "sidecar", "manual"])
def test_save_annotation_reserved_or_blank_model_raises(
    store: ImageStore, tmp_path: Path, model: str
) -> None:
    image_id = store.register(_image(tmp_path, "a.png"))
    with pytest.raises(ValueError, match="model must name the annotating model"):
        store.save_annotation(image_id, model, tags=["x"])


def test_save_annotation_unknown_image_raises(store: ImageStore) -> None:
    with pytest.raises(StoreError, match="There is no image with id 5"):
        store.save_annotation(5, "tagger-v1", tags=["x"])


def test_annotations_are_oldest_first(store: ImageStore, tmp_path: Path) -> None:
    image_id = store.register(_image(tmp_path, "a.png"))
    store.save_annotation(image_id, "first", error="e1")
    store.save_annotation(image_id, "second", tags=[])
    assert [entry["model"] for entry in store.annotations(image_id)] == ["first", "second"]


def test_integrity_check_passes_on_a_used_store(store: ImageStore, tmp_path: Path) -> None:
    image_id = store.register(_image(tmp_path, "a.png", tags=("x",), caption="c"))
    store.save_annotation(image_id, "m", tags=["y"])
    assert store.integrity_check() is True


# --- threads and lifecycle -----------------------------------------------------------------


def test_image_store_many_threads_register_at_once(store: ImageStore, tmp_path: Path) -> None:
    threads_count, per_thread = 8, 25
    start = threading.Barrier(threads_count)
    results: dict[int, list[int]] = {}
    connections: dict[int, sqlite3.Connection] = {}
    failures: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            connections[worker] = store.connection()
            start.wait()
            results[worker] = [
                store.register(_image(tmp_path, f"{worker}-{n}.png", tags=(f"w{worker}",)))
                for n in range(per_thread)
            ]
        except BaseException as exc:  # reported to the main thread below
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    all_ids = [image_id for ids in results.values() for image_id in ids]
    assert len(set(all_ids)) == store.count_images() == threads_count * per_thread
    assert len({id(connection) for connection in connections.values()}) == threads_count
    assert store.search_count(SearchConditions(tags=("w3",))) == per_thread
    assert store.integrity_check()


def test_connection_is_per_thread_and_reused_within_a_thread(store: ImageStore) -> None:
    seen: list[sqlite3.Connection] = []
    thread = threading.Thread(target=lambda: seen.append(store.connection()))
    thread.start()
    thread.join()
    assert store.connection() is store.connection()
    assert seen[0] is not store.connection()


def _connection_in_new_thread(store: ImageStore) -> sqlite3.Connection:
    """Return the connection a short-lived thread got from ``store``."""
    seen: list[sqlite3.Connection] = []
    thread = threading.Thread(target=lambda: seen.append(store.connection()))
    thread.start()
    thread.join()
    return seen[0]


def test_ended_threads_connection_is_closed_by_the_next_thread_opening_one(
    store: ImageStore,
) -> None:
    ended = _connection_in_new_thread(store)
    gc.collect()
    assert ended.execute("SELECT 1").fetchone() == (1,)  # nothing ran during thread teardown
    _connection_in_new_thread(store)
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        ended.execute("SELECT 1")


def test_image_store_used_from_qthreadpool_threads(store: ImageStore, tmp_path: Path) -> None:
    # Regression: closing a connection while a Qt worker thread's Python state is torn down
    # crashed the interpreter (its SQL function is released through that dying state).
    from PySide6.QtCore import QRunnable, QThreadPool

    counts: list[int] = []
    failures: list[BaseException] = []

    class Register(QRunnable):
        def __init__(self, number: int) -> None:
            super().__init__()
            self.number = number

        def run(self) -> None:
            try:
                store.register(_image(tmp_path, f"{self.number}.png", caption="Qt pool"))
                counts.append(store.search_count(SearchConditions(caption="qt pool")))
            except BaseException as exc:  # reported to the main thread below
                failures.append(exc)

    pool = QThreadPool()
    pool.setMaxThreadCount(3)
    jobs = [Register(number) for number in range(24)]
    for job in jobs:
        pool.start(job)
    assert pool.waitForDone(10_000)
    gc.collect()
    _connection_in_new_thread(store)
    assert failures == []
    assert (store.count_images(), len(counts), max(counts)) == (24, 24, 24)
    assert store.integrity_check()


def test_close_closes_every_connection_and_is_idempotent(tmp_path: Path) -> None:
    store = ImageStore(tmp_path / "library.sqlite")
    own = store.connection()
    store.close()
    store.close()
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        own.execute("SELECT 1")
    with pytest.raises(StoreError, match="is closed; create a new ImageStore to use it again"):
        store.count_images()


def test_interrupt_from_another_thread_cancels_a_running_search(
    store: ImageStore, library: dict[str, int]
) -> None:
    running = threading.Event()
    interrupted = threading.Event()
    handed_over: list[sqlite3.Connection] = []
    outcome: list[BaseException] = []

    def pause_once() -> int:
        # Hold the query mid-statement until the GUI-side thread has called interrupt().
        if not running.is_set():
            running.set()
            interrupted.wait(timeout=10)
        return 0

    def search() -> None:
        connection = store.connection()
        connection.set_progress_handler(pause_once, 1)
        handed_over.append(connection)
        try:
            store.search(SearchConditions())
        except StoreError as exc:
            outcome.append(exc)

    worker = threading.Thread(target=search)
    worker.start()
    assert running.wait(timeout=10)
    handed_over[0].interrupt()
    interrupted.set()
    worker.join()
    assert len(outcome) == 1
    assert isinstance(outcome[0], StoreInterrupted)
    assert "was interrupted (cancelled)" in str(outcome[0])


# --- failures from SQLite ------------------------------------------------------------------


def test_register_while_another_connection_holds_the_lock_raises(tmp_path: Path) -> None:
    path = tmp_path / "library.sqlite"
    with ImageStore(path, busy_timeout_ms=50) as store:
        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(StoreError, match="is locked by another process") as caught:
                store.register(_image(tmp_path, "a.png"))
            assert "busy timeout of 50 ms; retry when it is free or raise busy_timeout_ms" in str(
                caught.value
            )
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert store.register(_image(tmp_path, "a.png")) == 1


def test_register_on_read_only_database_raises(store: ImageStore, tmp_path: Path) -> None:
    store.connection().execute("PRAGMA query_only = ON")
    with pytest.raises(
        StoreError, match=r"Cannot write to the image library '.*': it is read-only"
    ):
        store.register(_image(tmp_path, "a.png"))


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores file modes")
def test_open_read_only_file_and_register_raises(tmp_path: Path) -> None:
    path = tmp_path / "library.sqlite"
    ImageStore(path).close()
    path.chmod(0o444)
    with (
        pytest.raises(StoreError, match=r"it is read-only\. Make the file"),
        ImageStore(path) as store,
    ):
        store.register(_image(tmp_path, "a.png"))


def test_register_on_full_disk_raises_and_writes_nothing(store: ImageStore, tmp_path: Path) -> None:
    connection = store.connection()
    pages = connection.execute("PRAGMA page_count").fetchone()[0]
    connection.execute(f"PRAGMA max_page_count = {pages + 1}")
    batch = [_image(tmp_path, f"{n}.png", caption="x" * 2000) for n in range(50)]
    with pytest.raises(StoreError, match=r"the disk is full\. Free some space and retry"):
        store.register_many(batch)
    assert store.count_images() == 0


def test_store_error_keeps_sqlite_error_as_cause(store: ImageStore, tmp_path: Path) -> None:
    store.connection().execute("PRAGMA query_only = ON")
    with pytest.raises(StoreError) as caught:
        store.register(_image(tmp_path, "a.png"))
    assert isinstance(caught.value.__cause__, sqlite3.OperationalError)
