"""workerkit: migrate a PySide6 app's workers from QThread to QThreadPool one kind at a time.

The toolkit: declare each kind once (``WorkerKind`` with a ``LegacyWorker`` adapter and a
pool function taking a ``JobControl``), gather them in an ``App`` (with your own manager as
its ``legacy_stack``, a ``Stack`` subclass, if you have one), and run them through
``JobService``, whose ``start`` returns a ``Job`` you can hold. The image library, the
reference app, has its own package: ``workerkit.imagelib``.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

__all__ = [
    "INTERRUPT",
    "STACKS",
    "App",
    "Batch",
    "BatchSummary",
    "DeclarationError",
    "Job",
    "JobCanceled",
    "JobControl",
    "JobService",
    "JobState",
    "LegacyWorker",
    "ShadowStats",
    "Stack",
    "Stage",
    "Suite",
    "WorkerError",
    "WorkerKind",
    "WorkerProgress",
    "Workload",
    "load_app",
]

__version__ = "0.2.0"

# Imported lazily so that `import workerkit` (the CLI, the sample generator) does not load Qt.
_LOCATIONS = {
    "App": "workerkit._app",
    "Batch": "workerkit._batch",
    "BatchSummary": "workerkit._batch",
    "DeclarationError": "workerkit._kind",
    "INTERRUPT": "workerkit._kind",
    "ShadowStats": "workerkit._shadow",
    "Job": "workerkit._job",
    "JobCanceled": "workerkit._errors",
    "JobControl": "workerkit._control",
    "JobState": "workerkit._job",
    "JobService": "workerkit._service",
    "LegacyWorker": "workerkit._kind",
    "STACKS": "workerkit._stacks",
    "Stack": "workerkit._stack",
    "Stage": "workerkit._app",
    "Suite": "workerkit._app",
    "WorkerError": "workerkit._errors",
    "WorkerKind": "workerkit._kind",
    "WorkerProgress": "workerkit._progress",
    "Workload": "workerkit._kind",
    "load_app": "workerkit._app",
}
# The image library's names, once re-exported here: now in workerkit.imagelib.
_MOVED = frozenset({"ImageRecord", "ImageStore", "Kind", "SearchConditions", "WorkerService"})

if TYPE_CHECKING:
    from workerkit._app import App, Stage, Suite, load_app
    from workerkit._batch import Batch, BatchSummary
    from workerkit._control import JobControl
    from workerkit._errors import JobCanceled, WorkerError
    from workerkit._job import Job, JobState
    from workerkit._kind import INTERRUPT, DeclarationError, LegacyWorker, WorkerKind, Workload
    from workerkit._progress import WorkerProgress
    from workerkit._service import JobService
    from workerkit._shadow import ShadowStats
    from workerkit._stack import Stack
    from workerkit._stacks import STACKS


def __getattr__(name: str) -> Any:
    """Import a public name on first use."""
    import importlib

    if name in _MOVED:
        warnings.warn(
            f"workerkit.{name} is deprecated; import it from workerkit.imagelib "
            "(the image library, workerkit's reference app).",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(importlib.import_module("workerkit.imagelib"), name)
    if name not in _LOCATIONS:
        raise AttributeError(f"module 'workerkit' has no attribute {name!r}")
    return getattr(importlib.import_module(_LOCATIONS[name]), name)
