"""A stack whose jobs the test reports itself, for tests of what JobService does with reports."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import QObject

from workerkit import App, Stack, WorkerKind
from workerkit._stack import new_job_id

__all__ = ["ScriptedStack"]


class ScriptedStack(Stack):
    """A stack whose jobs are reported by the test, from whichever thread it likes."""

    def __init__(self, app: App, parent: QObject | None = None) -> None:
        super().__init__(app, parent)
        self.jobs: list[str] = []

    def start(self, kind: WorkerKind, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> str:
        """Make an id (or take the one given) and report the start; the test reports the rest."""
        if args:
            return str(args[0])
        job_id = new_job_id(kind)
        self.jobs.append(job_id)
        self.report_started(job_id)
        return job_id

    def cancel(self, job_id: str) -> bool:
        """Say whether the job is known."""
        return job_id in self.jobs

    def active_job_ids(self) -> list[str]:
        """Return the jobs not yet reported ended."""
        return list(self.jobs)

    def wait_for_all(self, timeout_ms: int) -> bool:
        """Deliver what other threads reported."""
        self.deliver_reports()
        return True

    def shutdown(self, timeout_ms: int) -> bool:
        """Forget every job."""
        self.jobs.clear()
        return True
