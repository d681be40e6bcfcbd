"""workerkit's exceptions, and the one a job fails with when its worker reported a failure."""

from __future__ import annotations

__all__ = ["JobCanceled", "JobPending", "WorkerError", "as_exception"]


class JobCanceled(Exception):
    """The job was canceled: raised inside a pool function by ``control.check()``.

    It ends the job ``canceled``, never as a failure; let it propagate. A writing job may
    raise it with what it had committed (``JobCanceled(summary)``): the pool stack
    delivers that as the job's last partial, so the user learns what is stored.
    ``Job.result()`` of a canceled job raises it too.
    """

    def __init__(self, committed: object = None) -> None:
        super().__init__()
        self.committed = committed


class JobPending(RuntimeError):
    """A job's result was asked for before the job ended."""


class WorkerError(Exception):
    """A failure a worker reported as a value (an error message or an error result).

    Legacy workers often report a failure by emitting a string (``error_occurred(str)``)
    or by carrying it inside their result. ``job_failed`` always carries an exception, so
    such a report arrives wrapped in this one; ``reported`` keeps the value as it was sent.
    """

    def __init__(self, message: str, reported: object = None) -> None:
        super().__init__(message)
        self.reported = message if reported is None else reported

    @staticmethod
    def of(reported: object) -> BaseException:
        """Return ``reported`` if it is an exception, else a WorkerError describing it.

        For a stack that emits its own ``job_failed``: the payload every stack sends.

        Args:
            reported: What a worker or manager sent as its failure: an exception, a
                message, or any other value.

        Returns:
            The exception to deliver with ``job_failed``.
        """
        return as_exception(reported)


def as_exception(reported: object) -> BaseException:
    """Return ``reported`` if it is an exception, else a WorkerError describing it.

    Args:
        reported: What a worker or a manager sent as its failure: an exception, a
            message, or any other value (None when the error signal carries nothing).

    Returns:
        The exception to deliver with ``job_failed``.
    """
    if isinstance(reported, BaseException):
        return reported
    if reported is None:
        return WorkerError("the worker reported an error without a message")
    text = str(reported).strip()
    return WorkerError(text or f"the worker reported an empty {type(reported).__name__}", reported)
