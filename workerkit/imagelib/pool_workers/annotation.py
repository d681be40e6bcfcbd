"""Annotation on the pool: HTTP on an asyncio loop with bounded concurrency, the rest fanned out."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from contextlib import aclosing

import aiohttp

from workerkit import JobControl
from workerkit.imagelib.context import JobContext
from workerkit.imagelib.domain.annotation import annotate_one, missing_image_outcome, record_outcome
from workerkit.imagelib.domain.annotators import AnnotationError, AsyncAnnotator
from workerkit.imagelib.domain.results import AnnotationOutcome, AnnotationResult
from workerkit.imagelib.domain.store import ImageRecord

__all__ = ["DEFAULT_CONCURRENCY", "annotate_images"]

DEFAULT_CONCURRENCY = 8

Outcomes = dict[int, AnnotationOutcome]


def annotate_images(
    control: JobControl,
    context: JobContext,
    image_ids: Sequence[int],
    models: Sequence[str],
    concurrency: int = DEFAULT_CONCURRENCY,
) -> AnnotationResult:
    """Annotate every image with every model and store each outcome as it arrives."""
    started = time.perf_counter()
    records = context.store.get_many(image_ids)
    known = {record.id for record in records}
    results = {
        i: {m: missing_image_outcome(i) for m in models} for i in image_ids if i not in known
    }
    total, done = len(records) * len(models), 0

    def report(record: ImageRecord) -> None:
        nonlocal done
        done += 1
        control.progress(
            5 + 90 * done // total, f"annotated {record.path.name}", record.path.name, done, total
        )

    control.progress(5, f"annotating {len(records)} images with {', '.join(models)}")
    for model in models:
        annotator = context.annotator(model)
        if isinstance(annotator, AsyncAnnotator):
            outcomes = _annotate_on_loop(
                control, context, model, annotator, records, concurrency, report
            )
        else:
            outcomes = _annotate_on_pool(control, context, model, records, report)
        for image_id, outcome in outcomes.items():
            results.setdefault(image_id, {})[model] = outcome
    control.progress(100, "annotation complete", "", total, total)
    ordered = {i: results[i] for i in image_ids}
    return AnnotationResult(results=ordered, processing_time=time.perf_counter() - started)


def _annotate_on_pool(
    control: JobControl,
    context: JobContext,
    model: str,
    records: Sequence[ImageRecord],
    report: Callable[[ImageRecord], None],
) -> Outcomes:
    outcomes: Outcomes = {}
    for record, outcome in control.map(records, lambda r: annotate_one(context, r, model)):
        if isinstance(outcome, Exception):
            raise outcome
        outcomes[record.id] = outcome
        report(record)
    return outcomes


def _annotate_on_loop(
    control: JobControl,
    context: JobContext,
    model: str,
    annotator: AsyncAnnotator,
    records: Sequence[ImageRecord],
    concurrency: int,
    report: Callable[[ImageRecord], None],
) -> Outcomes:
    async def annotate_all() -> Outcomes:
        limit = asyncio.Semaphore(concurrency)
        connector = aiohttp.TCPConnector(limit=concurrency)
        async with aiohttp.ClientSession(connector=connector) as session:

            async def annotate(
                record: ImageRecord, exchange: object
            ) -> tuple[int, AnnotationOutcome]:
                try:
                    outcome = await _request(annotator, session, record, exchange)
                finally:
                    limit.release()
                report(record)
                return record.id, record_outcome(context, record, model, outcome)

            # Shrinking and encoding each image is CPU work: pool threads do it ahead of
            # the requests, so this loop only waits on sockets.
            def begin(record: ImageRecord) -> object:
                return annotator.begin_exchange(record.path)

            prepared = control.map_ahead(records, begin, 2 * concurrency)
            tasks = []
            async with aclosing(prepared):
                async for record, exchange in prepared:
                    await limit.acquire()
                    tasks.append(asyncio.create_task(annotate(record, exchange)))
            return dict(await asyncio.gather(*tasks))

    # This thread only waits on sockets now: lend its pool slot to the helpers meanwhile.
    with control.lend_thread():
        return control.run_async(annotate_all)


async def _request(
    annotator: AsyncAnnotator,
    session: aiohttp.ClientSession,
    record: ImageRecord,
    exchange: object,
) -> AnnotationOutcome:
    if isinstance(exchange, AnnotationError):
        return AnnotationOutcome(error=str(exchange))
    if isinstance(exchange, Exception):
        raise exchange
    try:
        tags = await annotator.complete_async(session, record.path, exchange)
    except AnnotationError as exc:
        return AnnotationOutcome(error=str(exc))
    return AnnotationOutcome(tags=tuple(tags))
