"""What every image-library job of both stacks works on: the store and the annotators."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workerkit.imagelib.domain.annotators import Annotator
    from workerkit.imagelib.domain.store import ImageStore

__all__ = ["JobContext"]


def _default_annotators() -> dict[str, Annotator]:
    from workerkit.imagelib.domain.annotators import (
        HttpAnnotator,
        HttpAnnotatorConfig,
        LocalAnnotator,
    )

    return {"local": LocalAnnotator(), "http": HttpAnnotator(HttpAnnotatorConfig.from_env())}


@dataclass(frozen=True, slots=True)
class JobContext:
    """Hold the store and the annotators a job of the image library works with."""

    store: ImageStore
    annotators: Mapping[str, Annotator] = field(default_factory=_default_annotators)
    max_threads: int | None = None

    def annotator(self, name: str) -> Annotator:
        """Return the annotator called ``name`` or raise a ValueError naming the known ones."""
        try:
            return self.annotators[name]
        except KeyError:
            known = ", ".join(sorted(self.annotators))
            raise ValueError(f"Unknown annotator {name!r}: expected one of {known}.") from None
