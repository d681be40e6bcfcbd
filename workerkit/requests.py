"""One frozen request type per job kind: what a backend needs to start a job."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from workerkit.kinds import Kind

if TYPE_CHECKING:
    from workerkit.conditions import SearchConditions
    from workerkit.store import ImageRecord

__all__ = [
    "AnnotationRequest",
    "JobRequest",
    "RegistrationRequest",
    "SearchRequest",
    "ThumbnailRequest",
]


@dataclass(frozen=True, slots=True)
class RegistrationRequest:
    """Register every image file under ``directory``."""

    kind: ClassVar[Kind] = Kind.REGISTRATION
    directory: Path


@dataclass(frozen=True, slots=True)
class SearchRequest:
    """Run one search over the library."""

    kind: ClassVar[Kind] = Kind.SEARCH
    conditions: SearchConditions


@dataclass(frozen=True, slots=True)
class ThumbnailRequest:
    """Load thumbnails of ``records`` that fit in ``width`` x ``height``."""

    kind: ClassVar[Kind] = Kind.THUMBNAIL
    records: tuple[ImageRecord, ...]
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class AnnotationRequest:
    """Annotate the images with these database ids with every named annotator."""

    kind: ClassVar[Kind] = Kind.ANNOTATION
    image_ids: tuple[int, ...]
    models: tuple[str, ...]


JobRequest = RegistrationRequest | SearchRequest | ThumbnailRequest | AnnotationRequest
