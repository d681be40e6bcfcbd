"""Result types of the jobs, with the original WorkerService field names."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workerkit.imagelib.domain.failures import FileFailure

if TYPE_CHECKING:
    from PySide6.QtGui import QImage, QPixmap

    from workerkit.imagelib.domain.conditions import SearchConditions
    from workerkit.imagelib.domain.store import ImageRecord

__all__ = [
    "AnnotationOutcome",
    "AnnotationResult",
    "FileFailure",
    "Preview",
    "RegistrationResult",
    "SearchResult",
    "ThumbnailResult",
]


@dataclass(frozen=True, slots=True)
class RegistrationResult:
    """Report what a batch registration did."""

    registered_count: int
    skipped_count: int
    error_count: int
    processed_paths: list[Path]
    total_processing_time: float
    errors: list[FileFailure] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class SearchResult:
    """Hold the images a search found."""

    image_metadata: list[ImageRecord]
    total_count: int
    search_time: float
    filter_conditions: SearchConditions


@dataclass(frozen=True, slots=True)
class ThumbnailResult:
    """Hold loaded thumbnails as (image id, QPixmap) pairs, made on the GUI thread or not."""

    loaded_thumbnails: list[tuple[int, QPixmap]]
    failed_count: int
    total_count: int
    processing_time: float
    failures: list[FileFailure] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Preview:
    """Hold one image's thumbnail as a QImage.

    Any thread may make a QImage; make the QPixmap on the GUI thread.
    """

    image_id: int
    image: QImage


@dataclass(frozen=True, slots=True)
class AnnotationOutcome:
    """Hold one annotator's tags for one image, or the error it raised."""

    tags: tuple[str, ...] = ()
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Return True when the annotator produced tags (possibly none) without error."""
        return self.error is None


@dataclass(frozen=True, slots=True)
class AnnotationResult:
    """Map each image id to each model's outcome."""

    results: dict[int, dict[str, AnnotationOutcome]]
    processing_time: float = 0.0

    @property
    def error_count(self) -> int:
        """Return how many (image, model) pairs failed."""
        return sum(not o.ok for per_image in self.results.values() for o in per_image.values())

    @property
    def annotated_count(self) -> int:
        """Return how many (image, model) pairs succeeded."""
        return sum(o.ok for per_image in self.results.values() for o in per_image.values())

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-friendly view, keyed by image id as a string."""
        return {
            str(image_id): {
                model: {"tags": list(o.tags), "error": o.error} for model, o in per_image.items()
            }
            for image_id, per_image in self.results.items()
        }
