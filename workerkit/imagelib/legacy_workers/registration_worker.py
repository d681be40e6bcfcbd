"""Legacy registration worker: scan, then hash and register one file at a time."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from workerkit.imagelib.domain.intake import prepare_image
from workerkit.imagelib.domain.results import FileFailure, RegistrationResult
from workerkit.imagelib.domain.scanner import scan_library
from workerkit.imagelib.domain.store import ImageStore
from workerkit.imagelib.legacy_workers.base_worker import LoRAIroWorkerBase

__all__ = ["DatabaseRegistrationWorker"]

logger = logging.getLogger(__name__)


class DatabaseRegistrationWorker(LoRAIroWorkerBase[RegistrationResult]):
    """Register every image under a folder, reporting progress after every file."""

    def __init__(self, directory: Path, store: ImageStore) -> None:
        super().__init__()
        self.directory = directory
        self.store = store

    def execute(self) -> RegistrationResult:
        """Scan the folder and register each file, skipping perceptual duplicates."""
        started = time.perf_counter()
        self._report_progress(5, "scanning for images")
        scan = scan_library(self.directory)
        files = scan.files
        total = len(files)
        self._report_progress(10, f"found {total} images", total_count=total)
        registered = skipped = 0
        processed: list[Path] = []
        errors: list[FileFailure] = list(scan.problems)
        for index, path in enumerate(files, start=1):
            self._check_cancellation()
            self._report_batch_progress(index, total, path.name)
            try:
                if self._register_one(path):
                    registered += 1
                else:
                    skipped += 1
                processed.append(path)
            except Exception as exc:
                logger.warning("registration of %s failed: %s", path, exc)
                errors.append(FileFailure(path, str(exc)))
            # D7: one progress signal per file, however many files there are.
            self._report_progress(
                10 + 85 * index // total, f"registered {path.name}", path.name, index, total
            )
        self._report_progress(100, "registration complete", "", total, total)
        return RegistrationResult(
            registered_count=registered,
            skipped_count=skipped,
            error_count=len(errors),
            processed_paths=processed,
            total_processing_time=time.perf_counter() - started,
            errors=errors,
        )

    def _register_one(self, path: Path) -> bool:
        image = prepare_image(path)
        existing = self.store.find_id_by_phash(image.phash)
        if existing is not None:
            self.store.import_sidecars(existing, image.tags, image.caption)
            return False
        self.store.register(image)
        return True
