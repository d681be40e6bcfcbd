"""Tests for workerkit.imagelib.domain.conditions: the search filter value type."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from workerkit.imagelib.domain.conditions import SearchConditions

MAY_1 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
MAY_9 = datetime(2024, 5, 9, 12, 0, tzinfo=UTC)


def _local_midnight(day: date) -> datetime:
    """Return local midnight at the start of ``day`` in UTC (naive dates mean local time)."""
    return datetime(day.year, day.month, day.day).astimezone(UTC)


def test_search_conditions_defaults_are_empty() -> None:
    conditions = SearchConditions()
    assert conditions.is_empty
    assert (conditions.tags, conditions.match, conditions.include_untagged) == ((), "and", False)


def test_search_conditions_normalises_tags_like_sidecars() -> None:
    conditions = SearchConditions(tags=(" Blue  Sky", "CAT", "cat", ""))
    assert conditions.tags == ("blue sky", "cat")


def test_search_conditions_accepts_comma_string_for_tags() -> None:
    assert SearchConditions(tags="dog, Cat").tags == ("dog", "cat")  # type: ignore[arg-type]


def test_search_conditions_non_string_tag_raises() -> None:
    with pytest.raises(ValueError, match="Every tag must be a string, got 3"):
        SearchConditions(tags=("cat", 3))  # type: ignore[arg-type]


def test_search_conditions_match_is_case_insensitive() -> None:
    assert SearchConditions(match="OR").match == "or"  # type: ignore[arg-type]


def test_search_conditions_bad_match_names_allowed_values() -> None:
    with pytest.raises(ValueError, match=r"match must be 'and' .* or 'or' .*, got 'xor'"):
        SearchConditions(match="xor")  # type: ignore[arg-type]


def test_search_conditions_blank_caption_is_none() -> None:
    assert SearchConditions(caption="   ").caption is None
    assert SearchConditions(caption=" sunny day ").caption == "sunny day"


@pytest.mark.parametrize("field", ["min_width", "min_height"])
def test_search_conditions_negative_size_raises(field: str) -> None:
    with pytest.raises(ValueError, match=f"{field} must be zero or more pixels, got -1"):
        SearchConditions(**{field: -1})


def test_search_conditions_non_integer_size_raises() -> None:
    with pytest.raises(ValueError, match="min_width must be a whole number of pixels"):
        SearchConditions(min_width=True)


def test_search_conditions_reversed_dates_raise() -> None:
    with pytest.raises(
        ValueError, match=r"registered_after \(.*\) is later than registered_before"
    ):
        SearchConditions(registered_after=MAY_9, registered_before=MAY_1)


def test_search_conditions_dates_become_utc() -> None:
    plus_two = timezone(timedelta(hours=2))
    conditions = SearchConditions(registered_after=datetime(2024, 5, 1, 14, 0, tzinfo=plus_two))
    assert conditions.registered_after == MAY_1
    assert conditions.registered_after.tzinfo is UTC


def test_search_conditions_naive_datetime_is_local_time() -> None:
    naive = datetime(2024, 5, 1, 12, 0)
    conditions = SearchConditions(registered_before=naive)
    assert conditions.registered_before == naive.astimezone(UTC)


def test_search_conditions_date_instead_of_datetime_raises() -> None:
    with pytest.raises(ValueError, match=r"use SearchConditions\.from_dict to pass dates"):
        SearchConditions(registered_after=date(2024, 5, 1))  # type: ignore[arg-type]


@pytest.mark.parametrize("limit", [0, -5, 2.5])
def test_search_conditions_bad_limit_raises(limit: Any) -> None:
    with pytest.raises(ValueError, match="limit must be a positive whole number or None"):
        SearchConditions(limit=limit)


def test_search_conditions_non_bool_include_untagged_raises() -> None:
    with pytest.raises(ValueError, match="include_untagged must be True or False, got 'yes'"):
        SearchConditions(include_untagged="yes")  # type: ignore[arg-type]


def test_search_conditions_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        SearchConditions().limit = 3  # type: ignore[misc]


def test_search_conditions_requires_keywords() -> None:
    with pytest.raises(TypeError):
        SearchConditions(("cat",))  # type: ignore[misc]


@pytest.mark.parametrize(
    "changes",
    [
        {"tags": ("cat",)},
        {"caption": "x"},
        {"min_width": 0},
        {"min_height": 10},
        {"registered_after": MAY_1},
        {"registered_before": MAY_1},
    ],
)
def test_search_conditions_any_filter_makes_it_non_empty(changes: dict[str, Any]) -> None:
    assert not SearchConditions(**changes).is_empty


def test_search_conditions_limit_and_logic_alone_stay_empty() -> None:
    assert SearchConditions(match="or", include_untagged=True, limit=5).is_empty


def test_from_dict_reads_lorairo_keys() -> None:
    conditions = SearchConditions.from_dict(
        {
            "keywords": "Cat, dog",
            "tag_logic": "OR",
            "caption": "garden",
            "resolution": 512,
            "date_filter_start": "2024-05-01T12:00:00+00:00",
            "date_filter_end": MAY_9,
            "include_untagged": True,
            "limit": 20,
        }
    )
    assert conditions == SearchConditions(
        tags=("cat", "dog"),
        match="or",
        caption="garden",
        min_width=512,
        min_height=512,
        registered_after=MAY_1,
        registered_before=MAY_9,
        include_untagged=True,
        limit=20,
    )


def test_from_dict_reads_canonical_keys_and_tag_lists() -> None:
    conditions = SearchConditions.from_dict(
        {"tags": ["A", "b"], "match": "and", "min_width": 100, "min_height": 50}
    )
    assert (conditions.tags, conditions.min_width, conditions.min_height) == (("a", "b"), 100, 50)


@pytest.mark.parametrize(
    ("resolution", "expected"),
    [
        ("1024x768", (1024, 768)),
        ("640 X 480", (640, 480)),
        ("800×600", (800, 600)),
        ("256", (256, 256)),
    ],
)
def test_from_dict_resolution_string(resolution: str, expected: tuple[int, int]) -> None:
    conditions = SearchConditions.from_dict({"resolution": resolution})
    assert (conditions.min_width, conditions.min_height) == expected


def test_from_dict_bad_resolution_raises() -> None:
    with pytest.raises(
        ValueError, match="resolution must be a number of pixels or a 'WIDTHxHEIGHT'"
    ):
        SearchConditions.from_dict({"resolution": "big"})


def test_from_dict_resolution_with_min_width_raises() -> None:
    with pytest.raises(ValueError, match="Both 'resolution' and 'min_width'/'min_height'"):
        SearchConditions.from_dict({"resolution": 512, "min_width": 100})


def test_from_dict_date_only_strings_cover_whole_days() -> None:
    conditions = SearchConditions.from_dict({"date_from": "2024-05-01", "date_to": "2024-05-09"})
    assert conditions.registered_after == _local_midnight(date(2024, 5, 1))
    assert conditions.registered_before == _local_midnight(date(2024, 5, 10))


def test_from_dict_date_objects_cover_whole_days() -> None:
    conditions = SearchConditions.from_dict(
        {"registered_after": date(2024, 5, 1), "registered_before": date(2024, 5, 1)}
    )
    assert conditions.registered_after == _local_midnight(date(2024, 5, 1))
    assert conditions.registered_before == _local_midnight(date(2024, 5, 2))


def test_from_dict_bad_date_string_raises() -> None:
    with pytest.raises(ValueError, match="registered_after must be an ISO 8601 date or datetime"):
        SearchConditions.from_dict({"date_from": "yesterday"})


def test_from_dict_wrong_date_type_raises() -> None:
    with pytest.raises(ValueError, match="registered_before must be a datetime, a date or an ISO"):
        SearchConditions.from_dict({"date_to": 20240501})


def test_from_dict_unknown_key_names_key_and_accepted_keys() -> None:
    with pytest.raises(
        ValueError, match="Unknown search condition key 'colour'; the accepted keys"
    ):
        SearchConditions.from_dict({"colour": "red"})


def test_from_dict_two_aliases_for_one_field_raise() -> None:
    with pytest.raises(ValueError, match="Both 'tags' and 'keywords' set tags; pass only one"):
        SearchConditions.from_dict({"tags": ["a"], "keywords": ["b"]})


def test_from_dict_none_values_mean_not_given() -> None:
    conditions = SearchConditions.from_dict(
        {"tags": None, "keywords": ["a"], "caption": None, "resolution": None, "limit": None}
    )
    assert conditions == SearchConditions(tags=("a",))


def test_from_dict_bad_tag_logic_raises() -> None:
    with pytest.raises(ValueError, match="match must be 'and'"):
        SearchConditions.from_dict({"tag_logic": "nand"})


def test_to_dict_is_json_friendly_and_round_trips() -> None:
    conditions = SearchConditions(
        tags=("cat",),
        match="or",
        caption="50% off",
        min_width=10,
        registered_after=MAY_1,
        registered_before=MAY_9,
        include_untagged=True,
        limit=3,
    )
    data = json.loads(json.dumps(conditions.to_dict()))
    assert data["registered_after"] == "2024-05-01T12:00:00+00:00"
    assert SearchConditions.from_dict(data) == conditions
