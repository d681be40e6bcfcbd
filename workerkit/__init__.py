"""workerkit: run PySide6 background work on a legacy or a QThreadPool stack, and compare them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = [
    "ImageRecord",
    "ImageStore",
    "Kind",
    "SearchConditions",
    "WorkerProgress",
    "WorkerService",
]

__version__ = "0.1.0"

# Imported lazily so that `import workerkit` (the CLI, the sample generator) does not load Qt.
_LOCATIONS = {
    "ImageRecord": "workerkit.store",
    "ImageStore": "workerkit.store",
    "Kind": "workerkit.kinds",
    "SearchConditions": "workerkit.conditions",
    "WorkerProgress": "workerkit.progress",
    "WorkerService": "workerkit.service",
}

if TYPE_CHECKING:
    from workerkit.conditions import SearchConditions
    from workerkit.kinds import Kind
    from workerkit.progress import WorkerProgress
    from workerkit.service import WorkerService
    from workerkit.store import ImageRecord, ImageStore


def __getattr__(name: str) -> Any:
    """Import a public name on first use."""
    if name not in _LOCATIONS:
        raise AttributeError(f"module 'workerkit' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_LOCATIONS[name]), name)
