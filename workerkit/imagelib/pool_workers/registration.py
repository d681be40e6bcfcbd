"""Registration on the pool: decode and hash on every pool thread, one writer commits in batches."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from workerkit import JobCanceled, JobControl
from workerkit.imagelib.domain.intake import prepare_image
from workerkit.imagelib.domain.results import FileFailure, RegistrationResult
from workerkit.imagelib.domain.scanner import scan_library
from workerkit.imagelib.domain.store import ImageStore, NewImage

__all__ = ["BATCH_SIZE", "register_directory"]

BATCH_SIZE = 32


@dataclass(slots=True)
class _Writer:
    """Commit new images in batches; a cancel between batches leaves only whole batches."""

    store: ImageStore
    pending: list[NewImage] = field(default_factory=list)
    pending_hashes: set[str] = field(default_factory=set)
    registered: int = 0
    skipped: int = 0

    def add(self, image: NewImage) -> None:
        """Queue ``image``, or import its sidecars onto the image it duplicates."""
        if image.phash in self.pending_hashes:
            self.flush()
        existing = self.store.find_id_by_phash(image.phash)
        if existing is not None:
            self.store.import_sidecars(existing, image.tags, image.caption)
            self.skipped += 1
            return
        self.pending.append(image)
        self.pending_hashes.add(image.phash)
        if len(self.pending) >= BATCH_SIZE:
            self.flush()

    def flush(self) -> None:
        """Write the queued images in one transaction that re-checks every hash."""
        if self.pending:
            # Another registration may have written one of these since add() looked.
            new, merged = self.store.register_unique(self.pending)
            self.registered += new
            self.skipped += merged
            self.pending.clear()
            self.pending_hashes.clear()


def register_directory(
    control: JobControl, store: ImageStore, directory: Path
) -> RegistrationResult:
    """Register every image under ``directory``; per-file failures are counted, never fatal."""
    started = time.perf_counter()
    control.progress(5, "scanning for images")
    scan = scan_library(directory)
    files = scan.files
    total = len(files)
    control.progress(10, f"found {total} images", total_count=total)
    writer = _Writer(store)
    processed: list[Path] = []
    errors: list[FileFailure] = list(scan.problems)
    try:
        _register_all(control, writer, files, processed, errors)
    except JobCanceled:
        # Only whole batches were committed: report them, not the files still pending.
        pending = {image.path for image in writer.pending}
        committed = [path for path in processed if path not in pending]
        raise JobCanceled(_result(writer, committed, errors, started)) from None
    writer.flush()
    control.progress(100, "registration complete", "", total, total)
    return _result(writer, processed, errors, started)


def _register_all(
    control: JobControl,
    writer: _Writer,
    files: list[Path],
    processed: list[Path],
    errors: list[FileFailure],
) -> None:
    total = len(files)

    def prepare(path: Path) -> NewImage:
        return prepare_image(path, lambda: control.is_canceled)

    for index, (path, outcome) in enumerate(control.map(files, prepare), start=1):
        control.batch(index, total, path.name)
        if isinstance(outcome, JobCanceled):
            raise outcome
        if isinstance(outcome, Exception):
            errors.append(FileFailure(path, str(outcome)))
        else:
            writer.add(outcome)
            processed.append(path)
        control.progress(
            10 + 85 * index // total, f"registered {path.name}", path.name, index, total
        )


def _result(
    writer: _Writer, processed: list[Path], errors: list[FileFailure], started: float
) -> RegistrationResult:
    return RegistrationResult(
        registered_count=writer.registered,
        skipped_count=writer.skipped,
        error_count=len(errors),
        processed_paths=processed,
        total_processing_time=time.perf_counter() - started,
        errors=errors,
    )
