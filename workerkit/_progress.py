"""The progress value every stack reports (the original's ``WorkerProgress``)."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["WorkerProgress", "progress_of"]


@dataclass(frozen=True, slots=True)
class WorkerProgress:
    """Describe how far a job has come; field names are the original's.

    ``raw`` keeps the value a legacy worker sent when it was not a WorkerProgress (an
    ``int`` percentage, the app's own progress object), so a handler written for either
    stack gets this one type and can still reach what the worker said.
    """

    percentage: int
    status_message: str
    current_item: str = ""
    processed_count: int = 0
    total_count: int = 0
    raw: object = field(default=None, compare=False)

    @property
    def is_complete(self) -> bool:
        """Return True when the job reports 100 percent."""
        return self.percentage >= 100

    @staticmethod
    def of(value: object) -> WorkerProgress:
        """Return ``value``, a progress report of any legacy shape, as a WorkerProgress.

        For a stack that emits its own ``job_progressed``: the payload every stack sends.

        Args:
            value: A WorkerProgress, a number (a percentage), or an object with a
                ``percentage`` attribute (an app's own progress class).

        Returns:
            The WorkerProgress, with ``raw`` set to ``value`` unless it was one already.

        Raises:
            TypeError: ``value`` is none of these.
        """
        return progress_of(value)


_FIELDS = ("status_message", "current_item", "processed_count", "total_count")


def progress_of(value: object) -> WorkerProgress:
    """Return ``value``, a progress report of any legacy shape, as a WorkerProgress.

    Args:
        value: A WorkerProgress (returned as it is), a number (a percentage), or an object
            with a ``percentage`` attribute and any of the other fields (an app's own
            progress class).

    Returns:
        The WorkerProgress, with ``raw`` set to ``value`` unless it was one already.

    Raises:
        TypeError: ``value`` is none of these; the message names its type.
    """
    if isinstance(value, WorkerProgress):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return WorkerProgress(int(value), "", raw=value)
    percentage = getattr(value, "percentage", None)
    if isinstance(percentage, int | float):
        found = {name: getattr(value, name) for name in _FIELDS if hasattr(value, name)}
        found["status_message"] = str(found.get("status_message", ""))
        return WorkerProgress(int(percentage), raw=value, **found)
    raise TypeError(
        f"A progress report must be a number, a WorkerProgress or an object with a "
        f"percentage attribute, not {type(value).__name__}; convert it in the worker's "
        "progress signal or name another signal as progress=."
    )
