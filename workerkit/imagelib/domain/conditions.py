"""What a library search asks for: tags, caption text, minimum size, registration dates."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal, cast

from workerkit.imagelib.domain.sidecars import parse_tags

__all__ = ["Match", "SearchConditions"]

Match = Literal["and", "or"]

_MATCHES: tuple[Match, ...] = ("and", "or")

# Every key from_dict accepts, mapped to the field (or "resolution") it sets.
_KEYS: dict[str, str] = {
    "tags": "tags",
    "keywords": "tags",
    "match": "match",
    "tag_logic": "match",
    "caption": "caption",
    "min_width": "min_width",
    "min_height": "min_height",
    "resolution": "resolution",
    "registered_after": "registered_after",
    "date_from": "registered_after",
    "date_filter_start": "registered_after",
    "registered_before": "registered_before",
    "date_to": "registered_before",
    "date_filter_end": "registered_before",
    "include_untagged": "include_untagged",
    "limit": "limit",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class SearchConditions:
    """A search filter; every condition given must hold.

    ``registered_after`` is inclusive and ``registered_before`` exclusive. Naive datetimes are
    taken as local time; both are stored converted to UTC.
    """

    tags: tuple[str, ...] = ()
    match: Match = "and"
    caption: str | None = None
    min_width: int | None = None
    min_height: int | None = None
    registered_after: datetime | None = None
    registered_before: datetime | None = None
    include_untagged: bool = False
    limit: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "tags", _normalise_tags(self.tags))
        object.__setattr__(self, "match", _normalise_match(self.match))
        object.__setattr__(self, "caption", _normalise_caption(self.caption))
        _check_size("min_width", self.min_width)
        _check_size("min_height", self.min_height)
        after = _to_utc("registered_after", self.registered_after)
        before = _to_utc("registered_before", self.registered_before)
        _check_range(after, before)
        object.__setattr__(self, "registered_after", after)
        object.__setattr__(self, "registered_before", before)
        _check_flag("include_untagged", self.include_untagged)
        _check_limit(self.limit)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SearchConditions:
        """Build conditions from a LoRAIro-style filter dict; None values mean "not given"."""
        fields = _collect_fields(data)
        resolution = fields.pop("resolution", None)
        if resolution is not None:
            _merge_resolution(fields, resolution)
        _convert_dates(fields)
        if isinstance(fields.get("match"), str):
            fields["match"] = fields["match"].strip().lower()
        return cls(**fields)

    def to_dict(self) -> dict[str, Any]:
        """Return the conditions as a JSON-friendly dict that from_dict accepts."""
        return {
            "tags": list(self.tags),
            "match": self.match,
            "caption": self.caption,
            "min_width": self.min_width,
            "min_height": self.min_height,
            "registered_after": _isoformat(self.registered_after),
            "registered_before": _isoformat(self.registered_before),
            "include_untagged": self.include_untagged,
            "limit": self.limit,
        }

    @property
    def is_empty(self) -> bool:
        """Return whether no filter is set (match, include_untagged and limit aside)."""
        filters = (
            self.caption,
            self.min_width,
            self.min_height,
            self.registered_after,
            self.registered_before,
        )
        return not self.tags and all(value is None for value in filters)


def _normalise_tags(tags: object) -> tuple[str, ...]:
    """Return ``tags`` normalised like sidecar tags; a string is split on commas."""
    if isinstance(tags, str):
        return parse_tags(tags)
    if not isinstance(tags, list | tuple | set | frozenset):
        raise ValueError(
            f"tags must be a sequence of strings or a comma-separated string, got {tags!r}."
        )
    for tag in tags:
        if not isinstance(tag, str):
            raise ValueError(f"Every tag must be a string, got {tag!r} in {tags!r}.")
    return parse_tags(",".join(tags))


def _normalise_match(match: object) -> Match:
    """Return ``match`` lowercased, or raise naming the allowed values."""
    value = match.strip().lower() if isinstance(match, str) else match
    if value not in _MATCHES:
        raise ValueError(
            f"match must be 'and' (image has every tag) or 'or' (image has any tag), got {match!r}."
        )
    return cast(Match, value)


def _normalise_caption(caption: object) -> str | None:
    """Return ``caption`` stripped, or None when it is empty."""
    if caption is None:
        return None
    if not isinstance(caption, str):
        raise ValueError(f"caption must be text or None, got {caption!r}.")
    return caption.strip() or None


def _check_size(name: str, value: object) -> None:
    """Raise unless ``value`` is None or a non-negative int."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be a whole number of pixels or None, got {value!r}.")
    if value < 0:
        raise ValueError(
            f"{name} must be zero or more pixels, got {value}; pass None for no minimum."
        )


def _to_utc(name: str, value: object) -> datetime | None:
    """Return ``value`` as an aware UTC datetime; naive values are local time."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise ValueError(
            f"{name} must be a datetime or None, got {value!r}; "
            "use SearchConditions.from_dict to pass dates or ISO strings."
        )
    return value.astimezone(UTC)


def _check_range(after: datetime | None, before: datetime | None) -> None:
    """Raise when the registration date range is reversed."""
    if after is not None and before is not None and after > before:
        raise ValueError(
            f"registered_after ({after.isoformat()}) is later than registered_before "
            f"({before.isoformat()}); swap them or drop one."
        )


def _check_flag(name: str, value: object) -> None:
    """Raise unless ``value`` is a bool."""
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False, got {value!r}.")


def _check_limit(limit: object) -> None:
    """Raise unless ``limit`` is None or a positive int."""
    if limit is None:
        return
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(
            f"limit must be a positive whole number or None (no limit), got {limit!r}."
        )


def _collect_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    """Map every given key to its field, rejecting unknown keys and duplicated aliases."""
    fields: dict[str, Any] = {}
    given_as: dict[str, str] = {}
    for key, value in data.items():
        field = _KEYS.get(key)
        if field is None:
            accepted = ", ".join(sorted(_KEYS))
            raise ValueError(
                f"Unknown search condition key {key!r}; the accepted keys are: {accepted}."
            )
        if value is None:
            continue
        if field in given_as:
            raise ValueError(
                f"Both {given_as[field]!r} and {key!r} set {field}; pass only one of them."
            )
        given_as[field] = key
        fields[field] = value
    return fields


def _merge_resolution(fields: dict[str, Any], resolution: object) -> None:
    """Set min_width and min_height from ``resolution`` (an int or a 'WxH' string)."""
    if "min_width" in fields or "min_height" in fields:
        raise ValueError(
            "Both 'resolution' and 'min_width'/'min_height' were given; pass only one of them."
        )
    fields["min_width"], fields["min_height"] = _parse_resolution(resolution)


def _parse_resolution(resolution: object) -> tuple[int, int]:
    """Return (width, height) from an int or a 'WxH' string such as '1024x768'."""
    if isinstance(resolution, int) and not isinstance(resolution, bool):
        return resolution, resolution
    if isinstance(resolution, str):
        parts = resolution.lower().replace("×", "x").split("x")
        if len(parts) == 1 and parts[0].strip().isdigit():
            return int(parts[0]), int(parts[0])
        if len(parts) == 2 and all(part.strip().isdigit() for part in parts):
            return int(parts[0]), int(parts[1])
    raise ValueError(
        f"resolution must be a number of pixels or a 'WIDTHxHEIGHT' string such as '1024x768', "
        f"got {resolution!r}."
    )


def _convert_dates(fields: dict[str, Any]) -> None:
    """Turn the date fields of ``fields`` (datetime, date or ISO string) into datetimes."""
    for name, day_end in (("registered_after", False), ("registered_before", True)):
        if name in fields:
            fields[name] = _parse_moment(name, fields[name], day_end=day_end)


def _parse_moment(name: str, value: object, *, day_end: bool) -> datetime:
    """Return ``value`` as a datetime; a bare date before means the end of that day."""
    if isinstance(value, str):
        value = _parse_iso(name, value)
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        # registered_before is exclusive, so "before 2024-05-01" includes all of that day.
        day = value + timedelta(days=1) if day_end else value
        return datetime.combine(day, time())
    raise ValueError(
        f"{name} must be a datetime, a date or an ISO 8601 string such as '2024-05-01', "
        f"got {value!r}."
    )


def _parse_iso(name: str, text: str) -> date | datetime:
    """Return the date (for 'YYYY-MM-DD') or datetime written in ``text``."""
    text = text.strip()
    try:
        return date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"{name} must be an ISO 8601 date or datetime such as '2024-05-01' or "
            f"'2024-05-01T12:00:00+00:00', got {text!r}."
        ) from None


def _isoformat(value: datetime | None) -> str | None:
    """Return ``value`` as ISO 8601 text, or None."""
    return value.isoformat() if value is not None else None
