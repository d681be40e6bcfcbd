"""The image library: one SQLite file of images, tags, captions and annotations.

Each thread gets its own connection (``connection()``), created on first use. Once the thread
has ended, its connection is closed by the next thread that opens one, or by ``close()``.
A connection is only ever used by its own thread, with one exception:
``sqlite3.Connection.interrupt()`` is documented as safe to call from another thread, so a
canceller may interrupt a worker's running query through the connection that worker obtained;
the worker then sees ``StoreInterrupted``.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from workerkit.imagelib.domain.conditions import SearchConditions
from workerkit.imagelib.domain.scanner import display_path
from workerkit.imagelib.domain.sidecars import normalize_tag

__all__ = [
    "SCHEMA_VERSION",
    "ImageRecord",
    "ImageStore",
    "NewImage",
    "StoreError",
    "StoreInterrupted",
]

SCHEMA_VERSION = 1
SIDECAR_SOURCE = "sidecar"
MANUAL_SOURCE = "manual"

_TABLES = frozenset({"images", "tags", "captions", "annotations"})
_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS images (
        id INTEGER PRIMARY KEY,
        path BLOB UNIQUE NOT NULL,
        display_path TEXT NOT NULL,
        phash TEXT NOT NULL,
        width INTEGER NOT NULL,
        height INTEGER NOT NULL,
        format TEXT NOT NULL,
        bytes INTEGER NOT NULL,
        mtime REAL NOT NULL,
        registered_at TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS images_phash ON images (phash)",
    "CREATE INDEX IF NOT EXISTS images_registered_at ON images (registered_at)",
    """CREATE TABLE IF NOT EXISTS tags (
        image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
        tag TEXT NOT NULL,
        source TEXT NOT NULL CHECK (length(source) > 0),
        UNIQUE (image_id, tag, source)
    )""",
    "CREATE INDEX IF NOT EXISTS tags_tag ON tags (tag, image_id)",
    """CREATE TABLE IF NOT EXISTS captions (
        image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
        text TEXT NOT NULL,
        source TEXT NOT NULL CHECK (length(source) > 0),
        UNIQUE (image_id, source)
    )""",
    """CREATE TABLE IF NOT EXISTS annotations (
        id INTEGER PRIMARY KEY,
        image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
        model TEXT NOT NULL,
        result TEXT NOT NULL,
        created_at TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS annotations_image ON annotations (image_id)",
)

_IMAGE_COLUMNS = (
    "i.id, i.path, i.phash, i.width, i.height, i.format, i.bytes, i.mtime, i.registered_at, "
    # The sidecar caption wins; otherwise the first other source by name.
    "(SELECT c.text FROM captions AS c WHERE c.image_id = i.id "
    "ORDER BY c.source <> 'sidecar', c.source LIMIT 1)"
)
_INSERT_IMAGE = (
    "INSERT INTO images (path, display_path, phash, width, height, format, bytes, mtime, "
    "registered_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (path) DO NOTHING"
)
_INSERT_TAG = "INSERT INTO tags (image_id, tag, source) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"
_INSERT_CAPTION = (
    "INSERT INTO captions (image_id, text, source) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"
)
# A JSON array parameter keeps every statement fixed whatever the number of values.
_IN_JSON = "IN (SELECT value FROM json_each(?))"


@dataclass(frozen=True, slots=True)
class NewImage:
    """An image file ready to register, with its sidecar tags and caption."""

    path: Path
    phash: str
    width: int
    height: int
    format: str
    bytes: int
    mtime: float
    tags: tuple[str, ...] = ()
    caption: str | None = None


@dataclass(frozen=True, slots=True)
class ImageRecord:
    """A registered image with its tags from every source and its preferred caption."""

    id: int
    path: Path
    phash: str
    width: int
    height: int
    format: str
    bytes: int
    mtime: float
    registered_at: datetime
    tags: tuple[str, ...]
    caption: str | None


class StoreError(Exception):
    """The image library cannot be opened, read or written."""


class StoreInterrupted(StoreError):
    """A query was cancelled through ``sqlite3.Connection.interrupt()``."""


class _ThreadConnection:
    """Holds one thread's connection in a thread-local; it dies with the thread.

    No finaliser or weakref callback may close the connection: Qt worker threads
    clear their thread-locals while their Python thread state is being torn
    down, and running Python code there crashes the interpreter. Connections of
    ended threads are closed instead by the next thread that opens one.
    """

    __slots__ = ("__weakref__", "connection")

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection


class ImageStore:
    """The SQLite image library, safe to use from many threads at once."""

    def __init__(self, path: str | Path, *, busy_timeout_ms: int = 5000) -> None:
        self._path = Path(path)
        self._busy_timeout_ms = busy_timeout_ms
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: dict[sqlite3.Connection, weakref.ref[_ThreadConnection]] = {}
        self._closed = False
        _check_location(self._path)
        try:
            with self._errors("open"):
                self._create_schema(self.connection())
        except BaseException:
            self.close()
            raise

    @property
    def path(self) -> Path:
        """Return the database file path."""
        return self._path

    def __enter__(self) -> ImageStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def connection(self) -> sqlite3.Connection:
        """Return the calling thread's connection, opening it on first use."""
        if self._closed:
            raise StoreError(
                f"The image library '{display_path(self._path)}' is closed; "
                "create a new ImageStore to use it again."
            )
        holder: _ThreadConnection | None = getattr(self._local, "holder", None)
        if holder is None:
            holder = self._open_thread_connection()
            self._local.holder = holder
        return holder.connection

    def close(self) -> None:
        """Close every thread's connection; safe to call more than once."""
        with self._lock:
            self._closed = True
            connections = list(self._connections)
            self._connections.clear()
        for connection in connections:
            connection.close()

    def find_id_by_path(self, path: Path) -> int | None:
        """Return the id of the image registered at ``path``, or None."""
        row = self._fetch_one("SELECT id FROM images WHERE path = ?", (os.fsencode(path),))
        return row[0] if row else None

    def find_id_by_phash(self, phash: str) -> int | None:
        """Return the lowest id of an image with perceptual hash ``phash``, or None."""
        row = self._fetch_one("SELECT min(id) FROM images WHERE phash = ?", (phash,))
        return row[0] if row else None

    def register(self, image: NewImage) -> int:
        """Register ``image`` with its sidecar tags and caption; return its id."""
        return self.register_many([image])[0]

    def register_many(self, images: Sequence[NewImage]) -> list[int]:
        """Register ``images`` in one transaction; a path already registered keeps its id."""
        registered_at = _utc_text(_now())
        with self._write() as connection:
            return [_insert_image(connection, image, registered_at) for image in images]

    def register_unique(self, images: Sequence[NewImage]) -> tuple[int, int]:
        """Register each image unless its perceptual hash is registered; return (new, merged).

        The check and the writes share one immediate transaction, so registrations of the
        same files running at once never insert a duplicate: a later copy's sidecars are
        merged onto the image already there instead.
        """
        registered_at = _utc_text(_now())
        new = merged = 0
        with self._write() as connection:
            for image in images:
                existing = connection.execute(
                    "SELECT min(id) FROM images WHERE phash = ?", (image.phash,)
                ).fetchone()[0]
                if existing is None:
                    _insert_image(connection, image, registered_at)
                    new += 1
                else:
                    _insert_sidecars(connection, existing, image.tags, image.caption)
                    merged += 1
        return new, merged

    def import_sidecars(self, image_id: int, tags: Sequence[str], caption: str | None) -> None:
        """Merge sidecar ``tags`` into an image and set its sidecar caption if it has none."""
        with self._write() as connection:
            self._require_image(connection, image_id)
            _insert_sidecars(connection, image_id, tags, caption)

    def get(self, image_id: int) -> ImageRecord | None:
        """Return the image with ``image_id``, or None."""
        records = self.get_many([image_id])
        return records[0] if records else None

    def get_many(self, ids: Sequence[int]) -> list[ImageRecord]:
        """Return the images with ``ids`` in the given order, skipping unknown ids."""
        sql = f"SELECT {_IMAGE_COLUMNS} FROM images AS i WHERE i.id {_IN_JSON}"
        with self._errors("read from"):
            connection = self.connection()
            rows = connection.execute(sql, (json.dumps(list(ids)),)).fetchall()
            by_id = {record.id: record for record in self._records(connection, rows)}
        return [by_id[image_id] for image_id in ids if image_id in by_id]

    def count_images(self) -> int:
        """Return the number of registered images."""
        row = self._fetch_one("SELECT count(*) FROM images", ())
        return row[0] if row else 0

    def all_paths(self) -> set[Path]:
        """Return the paths of every registered image."""
        rows = self._fetch_all("SELECT path FROM images", ())
        return {_decode_path(row[0]) for row in rows}

    def search(self, conditions: SearchConditions) -> list[ImageRecord]:
        """Return the images matching ``conditions``, ordered by id."""
        where, params = _where_clause(conditions)
        sql = f"SELECT {_IMAGE_COLUMNS} FROM images AS i WHERE {where} ORDER BY i.id"
        if conditions.limit is not None:
            sql += " LIMIT ?"
            params.append(conditions.limit)
        with self._errors("search"):
            connection = self.connection()
            rows = connection.execute(sql, params).fetchall()
            return self._records(connection, rows)

    def search_count(self, conditions: SearchConditions) -> int:
        """Return how many images match ``conditions``, ignoring its limit."""
        where, params = _where_clause(conditions)
        row = self._fetch_one(f"SELECT count(*) FROM images AS i WHERE {where}", params)
        return row[0] if row else 0

    def save_annotation(
        self,
        image_id: int,
        model: str,
        *,
        tags: Sequence[str] | None = None,
        error: str | None = None,
    ) -> None:
        """Record one model's tags (also added as tags with source=model) or its error."""
        result = _annotation_result(model, tags, error)
        with self._write() as connection:
            self._require_image(connection, image_id)
            connection.execute(
                "INSERT INTO annotations (image_id, model, result, created_at) VALUES (?, ?, ?, ?)",
                (image_id, model, json.dumps(result, ensure_ascii=False), _utc_text(_now())),
            )
            _insert_tags(connection, image_id, tags or (), model)

    def annotations(self, image_id: int) -> list[dict[str, Any]]:
        """Return the image's annotations, oldest first, as model, result and created_at."""
        rows = self._fetch_all(
            "SELECT model, result, created_at FROM annotations WHERE image_id = ? ORDER BY id",
            (image_id,),
        )
        return [
            {"model": model, "result": json.loads(result), "created_at": _parse_utc(created)}
            for model, result, created in rows
        ]

    def tags_for(self, image_id: int) -> list[tuple[str, str]]:
        """Return the image's (tag, source) pairs, sorted."""
        rows = self._fetch_all(
            "SELECT tag, source FROM tags WHERE image_id = ? ORDER BY tag, source", (image_id,)
        )
        return [(tag, source) for tag, source in rows]

    def integrity_check(self) -> bool:
        """Return whether SQLite finds the file and its foreign keys intact (False if corrupt)."""
        connection = self.connection()
        try:
            integrity = connection.execute("PRAGMA integrity_check").fetchall()
            orphans = connection.execute("PRAGMA foreign_key_check").fetchall()
        except sqlite3.DatabaseError:
            return False  # "database disk image is malformed" and kin: not intact
        return integrity == [("ok",)] and not orphans

    def _open_thread_connection(self) -> _ThreadConnection:
        """Open, configure and track a connection for the calling thread."""
        with self._errors("open"):
            connection = _connect(self._path, self._busy_timeout_ms)
        holder = _ThreadConnection(connection)
        with self._lock:
            if self._closed:
                connection.close()
                raise StoreError(
                    f"The image library '{display_path(self._path)}' was closed while a "
                    "thread was opening it; create a new ImageStore to use it again."
                )
            ended = [c for c, owner in self._connections.items() if owner() is None]
            for stale in ended:
                del self._connections[stale]
            self._connections[connection] = weakref.ref(holder)
        for stale in ended:
            stale.close()
        return holder

    def _create_schema(self, connection: sqlite3.Connection) -> None:
        """Create the tables once; refuse files that belong to something else."""
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        self._check_version(version)
        if connection.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            connection.execute("PRAGMA journal_mode = WAL")
        if version == SCHEMA_VERSION:
            return
        with self._write() as writing:
            # Another process may have created the schema while we waited for the lock.
            if writing.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
                return
            self._check_foreign_tables(writing)
            for statement in _SCHEMA:
                writing.execute(statement)
            writing.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _check_version(self, version: int) -> None:
        """Raise when the file was written by a newer schema."""
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"The image library '{display_path(self._path)}' has schema version {version}, "
                f"but this workerkit reads version {SCHEMA_VERSION}; upgrade workerkit or "
                "open another file."
            )

    def _check_foreign_tables(self, connection: sqlite3.Connection) -> None:
        """Raise when the file already holds tables that are not ours."""
        rows = connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        ).fetchall()
        foreign = sorted({row[0] for row in rows} - _TABLES)
        if foreign:
            raise StoreError(
                f"'{display_path(self._path)}' is not a valid workerkit database (it holds "
                f"other tables: {', '.join(foreign)}); move it aside or choose another path."
            )

    def _require_image(self, connection: sqlite3.Connection, image_id: int) -> None:
        """Raise StoreError unless an image with ``image_id`` exists."""
        if connection.execute("SELECT 1 FROM images WHERE id = ?", (image_id,)).fetchone():
            return
        raise StoreError(
            f"There is no image with id {image_id} in '{display_path(self._path)}'; "
            "pass an id returned by register() or find_id_by_path()."
        )

    def _fetch_one(self, sql: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
        """Run one read and return its first row."""
        with self._errors("read from"):
            row = self.connection().execute(sql, params).fetchone()
        return None if row is None or row[0] is None else row

    def _fetch_all(self, sql: str, params: Sequence[Any]) -> list[Any]:
        """Run one read and return all its rows."""
        with self._errors("read from"):
            return self.connection().execute(sql, params).fetchall()

    def _records(self, connection: sqlite3.Connection, rows: list[Any]) -> list[ImageRecord]:
        """Return records for image ``rows``, fetching all their tags in one query."""
        ids = [row[0] for row in rows]
        tag_rows = connection.execute(
            f"SELECT DISTINCT image_id, tag FROM tags WHERE image_id {_IN_JSON} "
            "ORDER BY image_id, tag",
            (json.dumps(ids),),
        ).fetchall()
        tags: dict[int, list[str]] = {}
        for image_id, tag in tag_rows:
            tags.setdefault(image_id, []).append(tag)
        return [_record(row, tuple(tags.get(row[0], ()))) for row in rows]

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """Run the body as one immediate transaction: all of it is written or none."""
        with self._errors("write to"):
            connection = self.connection()
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
                connection.execute("COMMIT")
            except BaseException:
                # SQLite rolls back by itself after some errors (disk full, interrupt).
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Turn sqlite3 errors raised in the body into StoreError sentences."""
        try:
            yield
        except sqlite3.Error as exc:
            raise _store_error(exc, self._path, action, self._busy_timeout_ms) from exc


def _check_location(path: Path) -> None:
    """Raise StoreError for paths SQLite cannot hold a shared library file at."""
    shown = display_path(path)
    if str(path) in {"", ":memory:"}:
        raise StoreError(
            f"The image library needs a file path, got {shown!r}; an in-memory database "
            "cannot be shared between threads. Pass a path such as 'library.sqlite'."
        )
    if not path.parent.is_dir():
        raise StoreError(
            f"Cannot create the image library '{shown}': the folder "
            f"'{display_path(path.parent)}' does not exist. Create it first or choose another path."
        )
    if path.is_dir():
        raise StoreError(
            f"Cannot open the image library '{shown}': it is a folder. Pass a file path inside it."
        )


def _connect(path: Path, busy_timeout_ms: int) -> sqlite3.Connection:
    """Open a configured connection in autocommit mode (transactions are explicit)."""
    # check_same_thread is off only so close() and interrupt() may reach other threads'
    # connections; each connection is otherwise used by its own thread alone.
    connection = sqlite3.connect(
        path, timeout=busy_timeout_ms / 1000, isolation_level=None, check_same_thread=False
    )
    try:
        connection.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        connection.execute("PRAGMA foreign_keys = ON")
        connection.execute("PRAGMA synchronous = NORMAL")
        connection.create_function("wk_casefold", 1, _casefold, deterministic=True)
    except BaseException:
        connection.close()
        raise
    return connection


def _casefold(text: str | None) -> str | None:
    """Return ``text`` case-folded for Unicode-aware case-insensitive matching."""
    return text.casefold() if text is not None else None


def _insert_image(connection: sqlite3.Connection, image: NewImage, registered_at: str) -> int:
    """Insert one image and its sidecars; return the id, existing or new."""
    path = os.fsencode(image.path)
    cursor = connection.execute(
        _INSERT_IMAGE,
        (
            path,
            display_path(image.path),
            image.phash,
            image.width,
            image.height,
            image.format,
            image.bytes,
            image.mtime,
            registered_at,
        ),
    )
    if cursor.rowcount == 0:
        return connection.execute("SELECT id FROM images WHERE path = ?", (path,)).fetchone()[0]
    image_id = cursor.lastrowid
    assert image_id is not None  # an INSERT that added a row always sets lastrowid
    _insert_sidecars(connection, image_id, image.tags, image.caption)
    return image_id


def _insert_sidecars(
    connection: sqlite3.Connection, image_id: int, tags: Sequence[str], caption: str | None
) -> None:
    """Add sidecar tags and, if the image has no sidecar caption yet, the caption."""
    _insert_tags(connection, image_id, tags, SIDECAR_SOURCE)
    text = caption.strip() if caption else ""
    if text:
        connection.execute(_INSERT_CAPTION, (image_id, text, SIDECAR_SOURCE))


def _insert_tags(
    connection: sqlite3.Connection, image_id: int, tags: Sequence[str], source: str
) -> None:
    """Add normalised ``tags`` from ``source``, ignoring ones already present."""
    normalised = dict.fromkeys(normalize_tag(tag) for tag in tags)
    rows = [(image_id, tag, source) for tag in normalised if tag]
    connection.executemany(_INSERT_TAG, rows)


def _annotation_result(model: str, tags: Sequence[str] | None, error: str | None) -> dict[str, Any]:
    """Return the JSON result of one annotation, checking exactly one outcome is given."""
    if not model.strip() or model in {SIDECAR_SOURCE, MANUAL_SOURCE}:
        raise ValueError(
            f"model must name the annotating model, got {model!r}; 'sidecar' and 'manual' "
            "are reserved tag sources."
        )
    if (tags is None) == (error is None):
        raise ValueError(
            "save_annotation needs exactly one of tags= (the model's tags) or error= "
            "(why it failed)."
        )
    return {"tags": list(tags)} if tags is not None else {"error": error}


def _where_clause(conditions: SearchConditions) -> tuple[str, list[Any]]:
    """Return the WHERE text (fixed fragments only) and its parameters."""
    clauses: list[str] = []
    params: list[Any] = []
    if conditions.tags:
        clauses.append(_tag_clause(conditions, params))
    if conditions.caption is not None:
        # instr() finds the text literally, wildcards included, and has no pattern-size limit
        # (LIKE refuses patterns over ~50 kB as "too complex").
        clauses.append(
            "EXISTS (SELECT 1 FROM captions AS c WHERE c.image_id = i.id "
            "AND instr(wk_casefold(c.text), ?) > 0)"
        )
        params.append(conditions.caption.casefold())
    for column, value in (("i.width", conditions.min_width), ("i.height", conditions.min_height)):
        if value is not None:
            clauses.append(f"{column} >= ?")
            params.append(value)
    if conditions.registered_after is not None:
        clauses.append("i.registered_at >= ?")
        params.append(_utc_text(conditions.registered_after))
    if conditions.registered_before is not None:
        clauses.append("i.registered_at < ?")
        params.append(_utc_text(conditions.registered_before))
    return (" AND ".join(clauses) or "1"), params


def _tag_clause(conditions: SearchConditions, params: list[Any]) -> str:
    """Return the tag filter (AND: every tag, OR: any tag), plus untagged images if asked."""
    params.append(json.dumps(list(conditions.tags)))
    clause = f"i.id IN (SELECT t.image_id FROM tags AS t WHERE t.tag {_IN_JSON}"
    if conditions.match == "and":
        clause += " GROUP BY t.image_id HAVING count(DISTINCT t.tag) = ?"
        params.append(len(conditions.tags))
    clause += ")"
    if conditions.include_untagged:
        clause = f"({clause} OR NOT EXISTS (SELECT 1 FROM tags AS u WHERE u.image_id = i.id))"
    return clause


def _record(row: Sequence[Any], tags: tuple[str, ...]) -> ImageRecord:
    """Return the ImageRecord of one image row."""
    image_id, path, phash, width, height, image_format, size, mtime, registered, caption = row
    return ImageRecord(
        id=image_id,
        path=_decode_path(path),
        phash=phash,
        width=width,
        height=height,
        format=image_format,
        bytes=size,
        mtime=mtime,
        registered_at=_parse_utc(registered),
        tags=tags,
        caption=caption,
    )


def _decode_path(raw: bytes) -> Path:
    """Return the Path stored as file-system bytes."""
    return Path(os.fsdecode(raw))


def _now() -> datetime:
    """Return the current UTC time."""
    return datetime.now(UTC)


def _utc_text(moment: datetime) -> str:
    """Return ``moment`` as fixed-width ISO 8601 UTC text, which sorts chronologically."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _parse_utc(text: str) -> datetime:
    """Return the aware datetime written by _utc_text."""
    return datetime.fromisoformat(text)


def _store_error(exc: sqlite3.Error, path: Path, action: str, busy_timeout_ms: int) -> StoreError:
    """Return the StoreError sentence for a sqlite3 error."""
    shown = display_path(path)
    code = getattr(exc, "sqlite_errorcode", -1) & 0xFF
    if code == sqlite3.SQLITE_INTERRUPT:
        return StoreInterrupted(
            f"The query on the image library '{shown}' was interrupted (cancelled); "
            "run it again if the result is still needed."
        )
    messages = {
        sqlite3.SQLITE_BUSY: (
            f"The image library '{shown}' is locked by another process or connection and "
            f"stayed locked past the busy timeout of {busy_timeout_ms} ms; retry when it is "
            "free or raise busy_timeout_ms."
        ),
        sqlite3.SQLITE_LOCKED: (
            f"The image library '{shown}' is locked by another process or connection; "
            "retry when it is free or raise busy_timeout_ms."
        ),
        sqlite3.SQLITE_READONLY: (
            f"Cannot {action} the image library '{shown}': it is read-only. Make the file and "
            "its folder writable, or copy it somewhere writable."
        ),
        sqlite3.SQLITE_NOTADB: (
            f"'{shown}' is not a valid workerkit database (SQLite says: {exc}); move it aside "
            "and let workerkit create a new one."
        ),
        sqlite3.SQLITE_CORRUPT: (
            f"'{shown}' is not a valid workerkit database (it is corrupt: {exc}); move it "
            "aside and let workerkit create a new one."
        ),
        sqlite3.SQLITE_FULL: (
            f"Cannot {action} the image library '{shown}': the disk is full. Free some space "
            "and retry; nothing from the failed write was saved."
        ),
        sqlite3.SQLITE_CANTOPEN: (
            f"Cannot open the image library '{shown}' ({exc}); check that the folder exists "
            "and is writable."
        ),
    }
    default = f"Cannot {action} the image library '{shown}': {exc}."
    return StoreError(messages.get(code, default))
