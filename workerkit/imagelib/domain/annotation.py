"""The per-image annotation step both stacks run: annotate, then store the outcome."""

from __future__ import annotations

import time
from collections.abc import Sequence

from workerkit.imagelib.context import JobContext
from workerkit.imagelib.domain.annotators import AnnotationError
from workerkit.imagelib.domain.results import AnnotationOutcome, AnnotationResult
from workerkit.imagelib.domain.store import ImageRecord

__all__ = ["annotate_all", "missing_image_outcome", "record_outcome"]


def missing_image_outcome(image_id: int) -> AnnotationOutcome:
    """Return the outcome for an id the library does not hold."""
    return AnnotationOutcome(
        error=f"No image with id {image_id} is in the library; register it before annotating."
    )


def record_outcome(
    context: JobContext, record: ImageRecord, model: str, outcome: AnnotationOutcome
) -> AnnotationOutcome:
    """Store ``outcome`` as the annotation of ``record`` by ``model`` and return it."""
    tags = None if outcome.error else outcome.tags
    context.store.save_annotation(record.id, model, tags=tags, error=outcome.error)
    return outcome


def annotate_one(context: JobContext, record: ImageRecord, model: str) -> AnnotationOutcome:
    """Annotate one image with one model, blocking, and store the outcome."""
    try:
        outcome = AnnotationOutcome(tags=tuple(context.annotator(model).annotate(record.path)))
    except AnnotationError as exc:
        outcome = AnnotationOutcome(error=str(exc))
    return record_outcome(context, record, model, outcome)


def annotate_all(
    context: JobContext, image_ids: Sequence[int], models: Sequence[str]
) -> AnnotationResult:
    """Annotate every image with every model, one request after another."""
    started = time.perf_counter()
    records = {record.id: record for record in context.store.get_many(image_ids)}
    results = {
        image_id: {
            model: (
                annotate_one(context, records[image_id], model)
                if image_id in records
                else missing_image_outcome(image_id)
            )
            for model in models
        }
        for image_id in image_ids
    }
    return AnnotationResult(results=results, processing_time=time.perf_counter() - started)
