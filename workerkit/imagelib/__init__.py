"""The image library: workerkit's reference app, faithful to LoRAIro.

Register a folder into SQLite, search, load thumbnails, annotate over HTTP; LoRAIro's four
kinds plus ``preview`` (one image a job, for ``JobService.map``), in ``app``, and its
LoRAIro-compatible ``WorkerService`` are built on workerkit's public API.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["ImageRecord", "ImageStore", "Kind", "SearchConditions", "WorkerService", "app"]

# Imported lazily: the sample generator and the CLI import this package without Qt.
_LOCATIONS = {
    "ImageRecord": "workerkit.imagelib.domain.store",
    "ImageStore": "workerkit.imagelib.domain.store",
    "Kind": "workerkit.imagelib.kinds",
    "SearchConditions": "workerkit.imagelib.domain.conditions",
    "WorkerService": "workerkit.imagelib.service",
    "app": "workerkit.imagelib.kinds",
}

if TYPE_CHECKING:
    from workerkit.imagelib.domain.conditions import SearchConditions
    from workerkit.imagelib.domain.store import ImageRecord, ImageStore
    from workerkit.imagelib.kinds import Kind, app
    from workerkit.imagelib.service import WorkerService


def __getattr__(name: str) -> Any:
    """Import a public name on first use."""
    if name not in _LOCATIONS:
        raise AttributeError(f"module 'workerkit.imagelib' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_LOCATIONS[name]), name)
