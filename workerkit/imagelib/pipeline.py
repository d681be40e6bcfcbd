"""Run the four workers end to end on a library through WorkerService and report what happened."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize

from workerkit.imagelib.domain.conditions import SearchConditions
from workerkit.imagelib.domain.results import (
    AnnotationResult,
    RegistrationResult,
    SearchResult,
    ThumbnailResult,
)
from workerkit.imagelib.domain.store import ImageStore
from workerkit.imagelib.kinds import Kind
from workerkit.imagelib.service import WorkerService
from workerkit.imagelib.waiting import JobOutcome, wait_for_job

__all__ = ["PipelineReport", "run_pipeline"]


@dataclass(slots=True)
class PipelineReport:
    """Collect one line per step of an end-to-end run."""

    stacks: dict[str, str]
    steps: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Return True when every step finished."""
        return all(step["event"] == "finished" for step in self.steps)

    def lines(self) -> list[str]:
        """Return a human-readable line per step."""
        return [f"{s['step']:<13} [{s['stack']}] {s['event']}: {s['summary']}" for s in self.steps]


def run_pipeline(
    library: Path,
    store: ImageStore,
    *,
    stacks: Mapping[str, str] | None = None,
    models: Sequence[str] = ("local",),
    annotate_limit: int = 8,
    thumbnail_size: int = 256,
    timeout_s: float = 600.0,
) -> PipelineReport:
    """Register ``library``, search it, load thumbnails and annotate a few images."""
    service = WorkerService(store, stacks=stacks)
    report = PipelineReport({kind.value: service.stack_for(kind) for kind in Kind})
    try:
        _step(
            report,
            service,
            Kind.REGISTRATION,
            "register",
            service.start_batch_registration(library),
            timeout_s,
        )
        search = _step(
            report,
            service,
            Kind.SEARCH,
            "search",
            service.start_search(SearchConditions()),
            timeout_s,
        )
        records = search.payload.image_metadata if isinstance(search.payload, SearchResult) else []
        size = QSize(thumbnail_size, thumbnail_size)
        _step(
            report,
            service,
            Kind.THUMBNAIL,
            "thumbnails",
            service.start_thumbnail_loading(records, size),
            timeout_s,
        )
        ids = [record.id for record in records[:annotate_limit]]
        _step(
            report,
            service,
            Kind.ANNOTATION,
            "annotate",
            service.start_annotation(ids, models),
            timeout_s,
        )
    finally:
        service.shutdown(timeout_ms=5000)
    return report


def _step(
    report: PipelineReport,
    service: WorkerService,
    kind: Kind,
    name: str,
    job_id: str,
    timeout_s: float,
) -> JobOutcome:
    outcome = wait_for_job(service, job_id, timeout_s)
    report.steps.append(
        {
            "step": name,
            "stack": service.stack_for(kind),
            "event": outcome.event,
            "summary": _summarise(outcome.payload),
        }
    )
    return outcome


def _summarise(payload: object) -> str:
    match payload:
        case RegistrationResult():
            return (
                f"{payload.registered_count} registered, {payload.skipped_count} skipped, "
                f"{payload.error_count} errors in {payload.total_processing_time:.2f} s"
            )
        case SearchResult():
            return f"{payload.total_count} images in {payload.search_time * 1000:.1f} ms"
        case ThumbnailResult():
            return (
                f"{len(payload.loaded_thumbnails)} loaded, {payload.failed_count} failed "
                f"in {payload.processing_time:.2f} s"
            )
        case AnnotationResult():
            return (
                f"{payload.annotated_count} annotated, {payload.error_count} failed "
                f"in {payload.processing_time:.2f} s"
            )
    return str(payload)
