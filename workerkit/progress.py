"""The progress value both stacks report (the original's ``WorkerProgress``)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["WorkerProgress"]


@dataclass(frozen=True, slots=True)
class WorkerProgress:
    """Describe how far a job has come; field names are the original's."""

    percentage: int
    status_message: str
    current_item: str = ""
    processed_count: int = 0
    total_count: int = 0

    @property
    def is_complete(self) -> bool:
        """Return True when the job reports 100 percent."""
        return self.percentage >= 100
