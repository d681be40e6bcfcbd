"""One file a job could not handle, and why: what scans, registrations and loads report."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["FileFailure"]


@dataclass(frozen=True, slots=True)
class FileFailure:
    """Name one file a job could not handle, and why."""

    path: Path
    reason: str
