"""The four kinds of background job and their original job-id prefixes."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["READ_ONLY_KINDS", "Kind"]


class Kind(StrEnum):
    """Name a kind of background job; the value is its flag and config name."""

    REGISTRATION = "registration"
    SEARCH = "search"
    THUMBNAIL = "thumbnail"
    ANNOTATION = "annotation"

    @property
    def prefix(self) -> str:
        """Return the job-id prefix the original WorkerService used for this kind."""
        return _PREFIXES[self]

    @classmethod
    def parse(cls, value: str) -> Kind:
        """Return the kind named by ``value`` or raise a ValueError naming the allowed kinds."""
        try:
            return cls(value.strip().lower())
        except ValueError:
            allowed = ", ".join(k.value for k in cls)
            raise ValueError(f"Unknown worker kind {value!r}: expected one of {allowed}.") from None

    @classmethod
    def of_job(cls, job_id: str) -> Kind:
        """Return the kind encoded in a job id's prefix (both stacks keep the prefix)."""
        for kind in cls:
            if job_id.startswith(kind.prefix):
                return kind
        raise ValueError(f"Job id {job_id!r} does not start with a known kind prefix.")


_PREFIXES: dict[Kind, str] = {
    Kind.REGISTRATION: "batch_reg",
    Kind.SEARCH: "search",
    Kind.THUMBNAIL: "thumbnail",
    Kind.ANNOTATION: "annotation",
}

READ_ONLY_KINDS: frozenset[Kind] = frozenset({Kind.SEARCH, Kind.THUMBNAIL})
