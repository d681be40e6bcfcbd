"""Legacy annotation worker: one blocking call annotates every image with every model."""

from __future__ import annotations

from workerkit.imagelib.context import JobContext
from workerkit.imagelib.domain.annotation import annotate_all
from workerkit.imagelib.domain.results import AnnotationResult
from workerkit.imagelib.legacy_workers.base_worker import LoRAIroWorkerBase

__all__ = ["AnnotationWorker"]


class AnnotationWorker(LoRAIroWorkerBase[AnnotationResult]):
    """Annotate images in sequence; cancellation is checked once, before the long call."""

    def __init__(self, image_ids: tuple[int, ...], models: tuple[str, ...], context: JobContext):
        super().__init__()
        self.image_ids = image_ids
        self.models = models
        self.context = context

    def execute(self) -> AnnotationResult:
        """Run the annotators over all images, one request after another."""
        self._report_progress(10, "preparing annotation")
        self._check_cancellation()
        self._report_progress(50, f"annotating {len(self.image_ids)} images")
        result = annotate_all(self.context, self.image_ids, self.models)
        self._report_progress(100, "annotation complete")
        return result
