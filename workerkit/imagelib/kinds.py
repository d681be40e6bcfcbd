"""The image library's worker kinds, declared through the public API, and its app.

Every job of every kind takes the job context (store, annotators) first, then the
kind's own arguments. The legacy side of LoRAIro's four kinds is its QThread-era worker,
unchanged; ``preview`` (one image a job, for ``JobService.map``) is new work, whose
legacy side is written on LoRAIro's base class as its team would have.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize
from PySide6.QtGui import QImage, QPixmap

from workerkit import App, JobControl, LegacyWorker, Stage, Suite, WorkerKind
from workerkit.imagelib.comparison import (
    compare_listings,
    observe_preview,
    observe_search,
    observe_thumbnails,
)
from workerkit.imagelib.context import JobContext
from workerkit.imagelib.domain.conditions import SearchConditions
from workerkit.imagelib.domain.results import Preview, ThumbnailResult
from workerkit.imagelib.domain.store import ImageRecord
from workerkit.imagelib.legacy_workers.annotation_worker import AnnotationWorker
from workerkit.imagelib.legacy_workers.preview_worker import PreviewWorker
from workerkit.imagelib.legacy_workers.registration_worker import DatabaseRegistrationWorker
from workerkit.imagelib.legacy_workers.search_worker import SearchWorker
from workerkit.imagelib.legacy_workers.stack import LoRAIroManagerStack
from workerkit.imagelib.legacy_workers.thumbnail_worker import ThumbnailWorker
from workerkit.imagelib.pool_workers.annotation import annotate_images
from workerkit.imagelib.pool_workers.previews import load_preview
from workerkit.imagelib.pool_workers.registration import register_directory
from workerkit.imagelib.pool_workers.search import run_search
from workerkit.imagelib.pool_workers.thumbnails import ThumbnailSummary, load_thumbnails

__all__ = [
    "READ_ONLY_KINDS",
    "Kind",
    "annotation",
    "app",
    "preview",
    "registration",
    "search",
    "thumbnail",
]


class Kind(StrEnum):
    """Name the image library's kinds; the value is its flag and config name."""

    REGISTRATION = "registration"
    SEARCH = "search"
    THUMBNAIL = "thumbnail"
    ANNOTATION = "annotation"
    PREVIEW = "preview"

    @property
    def prefix(self) -> str:
        """Return the job-id prefix the original WorkerService used for this kind."""
        return app.kind(self).prefix

    @classmethod
    def parse(cls, value: str) -> Kind:
        """Return the kind named by ``value`` or raise a ValueError naming the allowed kinds."""
        try:
            return cls(value.strip().lower())
        except ValueError:
            allowed = ", ".join(k.value for k in cls)
            raise ValueError(f"Unknown worker kind {value!r}: expected one of {allowed}.") from None

    @classmethod
    def of_job(cls, job_id: str) -> Kind:
        """Return the kind encoded in a job id's prefix (both stacks keep the prefix)."""
        return cls(app.of_job(job_id).name)


def _legacy_registration(context: JobContext, directory: Path) -> DatabaseRegistrationWorker:
    return DatabaseRegistrationWorker(directory, context.store)


def _pool_registration(control: JobControl, context: JobContext, directory: Path) -> Any:
    return register_directory(control, context.store, directory)


def _legacy_search(context: JobContext, conditions: SearchConditions) -> SearchWorker:
    return SearchWorker(conditions, context.store)


def _pool_search(control: JobControl, context: JobContext, conditions: SearchConditions) -> Any:
    return run_search(control, context.store, conditions)


def _legacy_thumbnails(
    _context: JobContext, records: Sequence[ImageRecord], width: int, height: int
) -> ThumbnailWorker:
    return ThumbnailWorker(records, QSize(width, height))


def _pool_thumbnails(
    control: JobControl,
    _context: JobContext,
    records: Sequence[ImageRecord],
    width: int,
    height: int,
) -> ThumbnailSummary:
    return load_thumbnails(control, records, width, height)


def _to_pixmaps(chunk: list[tuple[int, QImage]]) -> list[tuple[int, QPixmap]]:
    # QPixmap belongs to the GUI thread: the pool decodes QImages, this runs on the GUI side.
    return [(image_id, QPixmap.fromImage(image)) for image_id, image in chunk]


def _thumbnail_result(
    summary: ThumbnailSummary, chunks: Sequence[list[tuple[int, QPixmap]]]
) -> ThumbnailResult:
    return ThumbnailResult(
        loaded_thumbnails=[item for chunk in chunks for item in chunk],
        failed_count=summary.failed_count,
        total_count=summary.total_count,
        processing_time=summary.processing_time,
        failures=summary.failures,
    )


def _legacy_preview(
    _context: JobContext, record: ImageRecord, width: int, height: int
) -> PreviewWorker:
    return PreviewWorker(record, QSize(width, height))


def _pool_preview(
    control: JobControl, _context: JobContext, record: ImageRecord, width: int, height: int
) -> Preview:
    return load_preview(control, record, width, height)


def _legacy_annotation(
    context: JobContext, image_ids: tuple[int, ...], models: tuple[str, ...]
) -> AnnotationWorker:
    return AnnotationWorker(image_ids, models, context)


def _pool_annotation(
    control: JobControl, context: JobContext, image_ids: tuple[int, ...], models: tuple[str, ...]
) -> Any:
    return annotate_images(control, context, image_ids, models)


# LoRAIro's base worker names its progress signals progress_updated and batch_progress;
# the rest are the adapter's defaults.
registration = WorkerKind(
    name=Kind.REGISTRATION,
    legacy=LegacyWorker(
        DatabaseRegistrationWorker,
        factory=_legacy_registration,
        progress="progress_updated",
        batch_progress="batch_progress",
    ),
    simplified=_pool_registration,
    writes=True,
    id_prefix="batch_reg",
)

search = WorkerKind(
    name=Kind.SEARCH,
    legacy=LegacyWorker(
        SearchWorker,
        factory=_legacy_search,
        progress="progress_updated",
        batch_progress="batch_progress",
    ),
    simplified=_pool_search,
    latest_wins=True,
    observe=observe_search,
    compare=compare_listings,
)

thumbnail = WorkerKind(
    name=Kind.THUMBNAIL,
    legacy=LegacyWorker(
        ThumbnailWorker,
        factory=_legacy_thumbnails,
        partials_of_result=lambda result: result.loaded_thumbnails,
        progress="progress_updated",
        batch_progress="batch_progress",
    ),
    simplified=_pool_thumbnails,
    latest_wins=True,
    on_partial=_to_pixmaps,
    assemble=_thumbnail_result,
    observe=observe_thumbnails,
    compare=compare_listings,
)

annotation = WorkerKind(
    name=Kind.ANNOTATION,
    legacy=LegacyWorker(
        AnnotationWorker,
        factory=_legacy_annotation,
        progress="progress_updated",
        batch_progress="batch_progress",
    ),
    simplified=_pool_annotation,
    writes=True,
)

# One image a job, for bulk loading with JobService.map (the demo's grid): not latest-wins,
# since a batch's items must not supersede one another.
preview = WorkerKind(
    name=Kind.PREVIEW,
    legacy=LegacyWorker(
        PreviewWorker,
        factory=_legacy_preview,
        progress="progress_updated",
        batch_progress="batch_progress",
    ),
    simplified=_pool_preview,
    observe=observe_preview,
    compare=compare_listings,
)

READ_ONLY_KINDS: frozenset[Kind] = frozenset(Kind(k.name) for k in (search, thumbnail, preview))

CONTRACT_DIR = "tests/contract"

app = App(
    "the image library",
    [registration, search, thumbnail, annotation, preview],
    # The "before" of the comparison: LoRAIro's 2025 WorkerManager, defects D1-D11 included.
    legacy_stack=LoRAIroManagerStack,
    # The research note's four-stage plan.
    stages=(
        Stage(1, "proof of concept: search", kinds=(Kind.SEARCH,)),
        # preview is new work with no QThread-era original to migrate: no stage names it,
        # and stage 3's "cannot reach legacy" gates cover it with every other kind.
        Stage(2, "thumbnails and registration", kinds=(Kind.THUMBNAIL, Kind.REGISTRATION)),
        Stage(
            3,
            "annotation, and removal of the legacy manager and base",
            kinds=(Kind.ANNOTATION,),
            removes_legacy=True,
        ),
        Stage(
            4,
            "optimisation: progress dialog, cancellation, performance",
            workers=("cancellation", "plumbing"),
            suites=(
                Suite("progress dialog", ("tests/test_progress_ui.py",)),
                Suite("whole contract suite", (CONTRACT_DIR,), ("simplified",)),
            ),
        ),
    ),
)
