"""The fixed, seeded data every comparison run works on, built once and cached.

Everything derives from the generated sample library (or ``--library``) and the
benchmark JPEGs; derived SQLite files live next to the sample under the cache
folder (``$WORKERKIT_CACHE`` or ~/.cache/workerkit) and are rebuilt when their
source files or their recipe change.
"""

from __future__ import annotations

import functools
import hashlib
import json
import random
import shutil
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from workerkit.imagelib.domain.conditions import SearchConditions
from workerkit.imagelib.domain.imaging import ImageError
from workerkit.imagelib.domain.intake import prepare_image
from workerkit.imagelib.domain.scanner import scan_images
from workerkit.imagelib.domain.store import ImageStore
from workerkit.imagelib.sample import default_sample_dir, make_benchmark_jpegs, make_sample_library
from workerkit.imagelib.slow_search import (
    CALIBRATION_ROWS,
    SLOW_PHRASE,
    fill_slow_search_db,
    rows_for,
    time_slow_search,
)
from workerkit.tools.benchmarks.plan import Sizes

__all__ = ["Dataset", "cache_root", "prepare_dataset"]

# Bump when a derived file's recipe changes, so cached copies are rebuilt.
_RECIPE_VERSION = 1
TINY_IMAGES = 3
THUMBNAIL_PX = 256
# The slow query: the store's caption search for a phrase no caption holds, over a small
# file that SQLite scans quadratically (workerkit.imagelib.slow_search). Bump the version
# when its recipe changes; recipe 1's slow-captions.* files are deleted.
_SLOW_RECIPE_VERSION = 3
_SLOW_QUERY_MIN_S = 1.0
# Below the legacy cancel's 2 s wait, so legacy reaches its terminate() only when the
# query really outlives it (it then hangs: D4), not on every run.
_SLOW_QUERY_TARGET_S = 1.5
_DATES_FROM = datetime(2024, 1, 1, tzinfo=UTC)

Log = Callable[[str], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class Dataset:
    """Name the files and inputs of every workload; the same for both stacks."""

    sizes: Sizes
    library: Path
    tiny_db: Path
    search_db: Path
    search_queries: list[dict[str, Any]]
    thumbnail_db: Path
    thumbnail_ids: list[int]
    annotation_db: Path
    annotation_ids: list[int]
    slow_db: Path
    slow_phrase: str
    slow_query_s: float
    notes: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return the dataset as JSON-ready values."""
        data = asdict(self)
        data["sizes"] = self.sizes.to_dict()
        for name in ("library", "tiny_db", "search_db", "thumbnail_db", "annotation_db", "slow_db"):
            data[name] = str(data[name])
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Dataset:
        """Build a dataset from ``to_dict`` output."""
        values = dict(data)
        values["sizes"] = Sizes.from_dict(values["sizes"])
        for name in ("library", "tiny_db", "search_db", "thumbnail_db", "annotation_db", "slow_db"):
            values[name] = Path(values[name])
        return cls(**values)

    def write(self, path: Path) -> Path:
        """Write the dataset as JSON to ``path`` and return it."""
        path.write_text(json.dumps(self.to_dict(), indent=2), encoding="utf-8")
        return path

    @classmethod
    def read(cls, path: Path) -> Dataset:
        """Read a dataset written by ``write``."""
        return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))


def cache_root() -> Path:
    """Return the workerkit cache folder (``$WORKERKIT_CACHE`` or ~/.cache/workerkit)."""
    return default_sample_dir().parent


def prepare_dataset(sizes: Sizes, *, library: Path | None = None, log: Log = print) -> Dataset:
    """Make (or reuse) every file the workloads need and return where they are."""
    root = cache_root()
    if library is None:
        log(f"preparing the {sizes.library_files}-file sample library")
        library = make_sample_library(
            root / f"sample-{sizes.library_files}", count=sizes.library_files
        ).root
    elif not library.is_dir():
        raise NotADirectoryError(
            f"--library must be a folder of images, but {library} is not a folder; "
            "pass an image folder or leave --library out to use the generated sample."
        )
    log(f"preparing {sizes.thumbnails} benchmark JPEGs of 1920x1280")
    jpegs = make_benchmark_jpegs(
        root / f"benchmark-jpegs-{sizes.thumbnails}", count=sizes.thumbnails
    )
    derived = root / "compare" / f"{library.name}-{_fingerprint(library)}"
    derived.mkdir(parents=True, exist_ok=True)
    registered = _cached_db(derived / "registered.sqlite", log, lambda p: _register(p, library))
    tiny = _cached_db(derived / "tiny.sqlite", log, lambda p: _register(p, library, TINY_IMAGES))
    search = _cached_db(
        derived / f"search-{sizes.search_rows}.sqlite",
        log,
        lambda p: _expand(p, registered, sizes.search_rows),
    )
    thumbs = _cached_db(
        root / "compare" / f"thumbnails-{sizes.thumbnails}-{_fingerprint(jpegs[0].parent)}.sqlite",
        log,
        lambda p: _register_files(p, jpegs),
    )
    slow_db, slow_s = _slow_db(root / "compare", sizes.slow_rows, log)
    return Dataset(
        sizes=sizes,
        library=library,
        tiny_db=tiny,
        search_db=search,
        search_queries=_queries(search, sizes.search_queries),
        thumbnail_db=thumbs,
        thumbnail_ids=_ids(thumbs, sizes.thumbnails),
        annotation_db=registered,
        annotation_ids=_ids(registered, sizes.annotations),
        slow_db=slow_db,
        slow_phrase=SLOW_PHRASE,
        slow_query_s=slow_s,
        notes={
            "roundtrip": "search with SearchConditions(limit=1) on a 3-image database",
            "burst": "registration of an empty folder (does not supersede, touches no database)",
            "slow_query": (
                "caption search that scans every caption for every image of a few-MB file, "
                f"{slow_s:.2f} s when uncancelled"
            ),
        },
    )


# --- cached SQLite files -----------------------------------------------------------------


def _fingerprint(folder: Path) -> str:
    """Return a short hash of the image files under ``folder``: names, sizes, mtimes."""
    digest = hashlib.sha1(f"{_RECIPE_VERSION}:{folder.resolve()}".encode())
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        stat = path.stat()
        digest.update(f"{path.relative_to(folder)}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:12]


def _cached_db(path: Path, log: Log, build: Callable[[Path], None]) -> Path:
    """Return ``path``, building it with ``build`` beside it first if it is missing."""
    if path.is_file():
        return path
    log(f"building {path.name}")
    partial = path.with_name(f".{path.name}.partial")
    _remove_db(partial)
    try:
        build(partial)
        _checkpoint(partial)
        partial.rename(path)
    finally:
        _remove_db(partial)
    return path


def _remove_db(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _checkpoint(path: Path) -> None:
    """Fold the WAL into the main file so the file can be copied or renamed alone."""
    with ImageStore(path) as store:
        store.connection().execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _register(path: Path, library: Path, limit: int | None = None) -> None:
    _register_files(path, scan_images(library), limit)


def _register_files(path: Path, files: Sequence[Path], limit: int | None = None) -> None:
    """Register decodable, non-duplicate ``files`` without any worker stack."""
    with ImageStore(path) as store:
        registered = 0
        for file in files:
            if limit is not None and registered >= limit:
                break
            try:
                image = prepare_image(file)
            except ImageError:  # the sample's deliberately corrupt files
                continue
            if store.find_id_by_phash(image.phash) is None:
                store.register(image)
                registered += 1


def _expand(path: Path, source: Path, rows: int) -> None:
    """Copy ``source`` and duplicate its images (distinct paths and hashes) up to ``rows``."""
    shutil.copyfile(source, path)
    with ImageStore(path) as store:
        connection = store.connection()
        originals = [row[0] for row in connection.execute("SELECT id FROM images ORDER BY id")]
        if not originals:
            raise ValueError(
                f"Cannot build a search database from {source}: it holds no images. "
                "Pass a --library folder with decodable images."
            )
        step = max(originals)
        connection.execute("BEGIN")
        for copy in range(1, -(-rows // len(originals))):
            chosen = json.dumps(originals[: rows - copy * len(originals)])
            _copy_rows(connection, copy, copy * step, chosen)
        _spread_dates(connection)
        connection.execute("COMMIT")


def _copy_rows(connection: Any, copy: int, offset: int, chosen: str) -> None:
    """Insert copy number ``copy`` of the chosen images with their tags and captions."""
    where = "WHERE {column} IN (SELECT value FROM json_each(?))"
    connection.execute(
        "INSERT INTO images (id, path, display_path, phash, width, height, format, bytes, "
        "mtime, registered_at) SELECT id + ?, CAST(path || ? AS BLOB), display_path || ?, "
        "printf('c%015x', id + ?), width, height, format, bytes, mtime, registered_at "
        f"FROM images {where.format(column='id')}",
        (offset, f"#copy{copy}", f"#copy{copy}", offset, chosen),
    )
    for table, columns in (("tags", "tag, source"), ("captions", "text, source")):
        connection.execute(
            f"INSERT INTO {table} (image_id, {columns}) SELECT image_id + ?, {columns} "
            f"FROM {table} {where.format(column='image_id')}",
            (offset, chosen),
        )


def _spread_dates(connection: Any) -> None:
    """Give the images registration dates spread over 2024, deterministically."""
    ids = [row[0] for row in connection.execute("SELECT id FROM images")]
    moments = (
        _DATES_FROM + timedelta(days=i * 7919 % 366, seconds=i * 104729 % 86400) for i in ids
    )
    connection.executemany(
        "UPDATE images SET registered_at = ? WHERE id = ?",
        [(m.isoformat(timespec="microseconds"), i) for m, i in zip(moments, ids, strict=True)],
    )


def _ids(path: Path, count: int) -> list[int]:
    with ImageStore(path) as store:
        rows = store.connection().execute("SELECT id FROM images ORDER BY id LIMIT ?", (count,))
        return [row[0] for row in rows]


# --- the search queries ------------------------------------------------------------------


def _queries(path: Path, count: int) -> list[dict[str, Any]]:
    """Return ``count`` seeded queries that mix every kind of condition, as dicts."""
    with ImageStore(path) as store:
        connection = store.connection()
        tags = [
            row[0]
            for row in connection.execute(
                "SELECT tag FROM tags GROUP BY tag ORDER BY count(*) DESC, tag LIMIT 24"
            )
        ]
    rng = random.Random("workerkit-compare-queries")
    words = ["gradient", "scene", "circle", "ocean", "forest", "night", "bright", "two"]
    makers: list[Callable[[], SearchConditions]] = [
        lambda: SearchConditions(tags=tuple(rng.sample(tags, 1))),
        lambda: SearchConditions(tags=tuple(rng.sample(tags, 2))),
        lambda: SearchConditions(tags=tuple(rng.sample(tags, 3)), match="or"),
        lambda: SearchConditions(caption=rng.choice(words)),
        lambda: SearchConditions(min_width=rng.choice([800, 1200, 1600, 2000])),
        lambda: _date_range(rng),
        lambda: SearchConditions(
            tags=tuple(rng.sample(tags, 2)), match="or", include_untagged=True
        ),
        lambda: SearchConditions(tags=tuple(rng.sample(tags, 1)), limit=100),
    ]
    if not tags:
        makers = [makers[3], makers[4], makers[5]]
    return [makers[i % len(makers)]().to_dict() for i in range(count)]


def _date_range(rng: random.Random) -> SearchConditions:
    start = _DATES_FROM + timedelta(days=rng.randrange(300))
    return SearchConditions(registered_after=start, registered_before=start + timedelta(days=60))


# --- the slow query ----------------------------------------------------------------------


def _slow_db(folder: Path, max_rows: int, log: Log) -> tuple[Path, float]:
    """Return a database whose caption search runs for seconds, and how long it runs.

    The file holds ``rows`` images with one short caption each and stays a few MB: the
    search does rows x rows caption visits (``workerkit.imagelib.slow_search``), so
    ``rows`` is calibrated on this machine for about ``_SLOW_QUERY_TARGET_S``, capped at
    ``max_rows``.
    """
    # Recipe 1 grew its table to over a GB to make the query slow: reclaim that space.
    _remove_db(folder / "slow-captions.sqlite")
    (folder / "slow-captions.json").unlink(missing_ok=True)
    path = folder / "slow-search.sqlite"
    recipe_path = folder / "slow-search.json"
    recipe = _read_json(recipe_path)
    if path.is_file() and recipe.get("version") == _SLOW_RECIPE_VERSION:
        return path, float(recipe["query_s"])
    rows = min(CALIBRATION_ROWS, max_rows)
    query_s = 0.0
    for _attempt in range(4):
        _remove_db(path)
        log(f"building {path.name} ({rows} rows)")
        _cached_db(path, lambda _line: None, functools.partial(fill_slow_search_db, rows=rows))
        query_s = time_slow_search(path)
        if query_s >= _SLOW_QUERY_MIN_S or rows >= max_rows:
            break
        # Aim for the target on this machine.
        rows = min(max_rows, max(rows + 1, rows_for(_SLOW_QUERY_TARGET_S, rows, query_s)))
    if query_s < _SLOW_QUERY_MIN_S:
        log(f"note: the slow query takes only {query_s:.2f} s here with {rows} rows")
    recipe_path.write_text(
        json.dumps({"version": _SLOW_RECIPE_VERSION, "rows": rows, "query_s": query_s}),
        encoding="utf-8",
    )
    return path, query_s


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}
