"""The lab's worker kinds, declared once for workerkit; ``app`` is what workerkit loads.

``legacy_stack=ManagerStack`` makes a flag set to ``legacy`` run the lab's own
WorkerManager instead of workerkit's QThread-per-job stack.
"""

from __future__ import annotations

from examples.manager_app.base_worker import LabProgress
from examples.manager_app.domain import ChecksumResult, LookupResult
from examples.manager_app.legacy_workers import ChecksumWorker, LookupWorker
from examples.manager_app.pool_jobs import checksum_folder, lookup_words
from examples.manager_app.stack import ManagerStack
from workerkit import App, LegacyWorker, Stage, WorkerKind, WorkerProgress

__all__ = ["app", "checksum", "compare_checksums", "compare_lookups", "lookup"]


def compare_checksums(legacy: ChecksumResult, candidate: ChecksumResult) -> list[str]:
    """Return the files whose digests differ between the two results (empty when equal)."""
    old, new = dict(legacy.digests), dict(candidate.digests)
    return [
        f"{name}: legacy {old.get(name)}, candidate {new.get(name)}"
        for name in sorted(old.keys() | new.keys())
        if old.get(name) != new.get(name)
    ]


def compare_lookups(legacy: LookupResult, candidate: LookupResult) -> list[str]:
    """Return how the candidate's matches differ from the legacy ones (empty when equal)."""
    if legacy == candidate:
        return []
    return [f"matches: legacy {legacy.words!r}, candidate {candidate.words!r}"]


def lab_progress(value: LabProgress) -> WorkerProgress:
    """Return the lab's own progress object as the WorkerProgress both stacks report."""
    return WorkerProgress(
        value.percentage,
        value.message,
        processed_count=value.done,
        total_count=value.total,
        raw=value,
    )


def _lab_worker(worker_class: type) -> LegacyWorker:
    """Name the parts every LabWorkerBase worker has."""
    return LegacyWorker(
        worker_class,
        run="run",
        finished="finished",
        error="error_occurred",
        canceled="canceled",
        progress="progress_updated",
        progress_of=lab_progress,
        cancel="cancel",
    )


checksum = WorkerKind(
    name="checksum",
    legacy=_lab_worker(ChecksumWorker),
    simplified=checksum_folder,
    compare=compare_checksums,
)

lookup = WorkerKind(
    name="lookup",
    legacy=_lab_worker(LookupWorker),
    simplified=lookup_words,
    latest_wins=True,
    compare=compare_lookups,
)

app = App(
    "manager_app",
    [checksum, lookup],
    legacy_stack=ManagerStack,
    stages=(
        Stage(1, "the folder checksum (file-bound, read-only)", kinds=("checksum",)),
        Stage(2, "the word lookup (latest-wins)", kinds=("lookup",)),
        Stage(3, "removal of the WorkerManager", removes_legacy=True),
    ),
)
