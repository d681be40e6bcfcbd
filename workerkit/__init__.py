"""workerkit: migrate a PySide6 app's workers from QThread to QThreadPool one kind at a time.

The toolkit: declare each kind once (``WorkerKind`` with a ``LegacyWorker`` adapter and a
pool function), gather them in an ``App`` (with your own manager as its ``legacy_stack``,
a ``Stack`` subclass, if you have one), and run them through ``JobService`` on the stack
each kind's flag names. The image library (``workerkit.imagelib``) is the reference
app; its LoRAIro-compatible names (``WorkerService``, ``ImageStore``, ...) stay here too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = [
    "App",
    "DeclarationError",
    "ImageRecord",
    "ImageStore",
    "Job",
    "JobCanceled",
    "JobControl",
    "JobService",
    "JobState",
    "LegacyWorker",
    "SearchConditions",
    "Stack",
    "Stage",
    "Suite",
    "WorkerError",
    "WorkerKind",
    "WorkerProgress",
    "WorkerService",
    "Workload",
    "load_app",
]

__version__ = "0.2.0"

# Imported lazily so that `import workerkit` (the CLI, the sample generator) does not load Qt.
_LOCATIONS = {
    "App": "workerkit.app",
    "DeclarationError": "workerkit.kind",
    "ImageRecord": "workerkit.imagelib.domain.store",
    "ImageStore": "workerkit.imagelib.domain.store",
    "Job": "workerkit.job",
    "JobCanceled": "workerkit.errors",
    "JobControl": "workerkit.control",
    "JobState": "workerkit.job",
    "JobService": "workerkit.service",
    "Kind": "workerkit.imagelib.kinds",
    "LegacyWorker": "workerkit.kind",
    "SearchConditions": "workerkit.imagelib.domain.conditions",
    "Stack": "workerkit.stack",
    "Stage": "workerkit.app",
    "Suite": "workerkit.app",
    "WorkerError": "workerkit.errors",
    "WorkerKind": "workerkit.kind",
    "WorkerProgress": "workerkit.progress",
    "WorkerService": "workerkit.imagelib.service",
    "Workload": "workerkit.kind",
    "load_app": "workerkit.app",
}

if TYPE_CHECKING:
    from workerkit.app import App, Stage, Suite, load_app
    from workerkit.control import JobControl
    from workerkit.errors import JobCanceled, WorkerError
    from workerkit.imagelib.domain.conditions import SearchConditions
    from workerkit.imagelib.domain.store import ImageRecord, ImageStore
    from workerkit.imagelib.service import WorkerService
    from workerkit.job import Job, JobState
    from workerkit.kind import DeclarationError, LegacyWorker, WorkerKind, Workload
    from workerkit.progress import WorkerProgress
    from workerkit.service import JobService
    from workerkit.stack import Stack


def __getattr__(name: str) -> Any:
    """Import a public name on first use."""
    if name not in _LOCATIONS:
        raise AttributeError(f"module 'workerkit' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_LOCATIONS[name]), name)
