"""Annotators: tags for an image from its pixels or from an HTTP vision API."""

from __future__ import annotations

from workerkit.imagelib.domain.annotators.base import AnnotationError, Annotator, AsyncAnnotator
from workerkit.imagelib.domain.annotators.http import HttpAnnotator, HttpAnnotatorConfig
from workerkit.imagelib.domain.annotators.local import LocalAnnotator
from workerkit.imagelib.domain.annotators.retry import RetryPolicy

__all__ = [
    "AnnotationError",
    "Annotator",
    "AsyncAnnotator",
    "HttpAnnotator",
    "HttpAnnotatorConfig",
    "LocalAnnotator",
    "RetryPolicy",
    "make_annotator",
]

ANNOTATOR_NAMES = ("http", "local")


def make_annotator(name: str, *, http_config: HttpAnnotatorConfig | None = None) -> Annotator:
    """Return the annotator called ``name``; 'http' reads its config from the environment."""
    if name == "local":
        return LocalAnnotator()
    if name == "http":
        return HttpAnnotator(http_config or HttpAnnotatorConfig.from_env())
    allowed = ", ".join(repr(known) for known in ANNOTATOR_NAMES)
    raise ValueError(f"Unknown annotator {name!r}; expected one of {allowed}.")
