"""Hostile and extreme search input: found literally, or refused clearly; never a crash."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest

from workerkit import STACKS
from workerkit.imagelib.domain.conditions import SearchConditions
from workerkit.imagelib.domain.results import SearchResult
from workerkit.imagelib.domain.store import ImageRecord, ImageStore
from workerkit.imagelib.service import WorkerService

from .conftest import EventLog, run_job

pytestmark = pytest.mark.timeout(120)

HOSTILE_TAGS = (
    "'; drop table images; --",
    'say "cheese"',
    "100%",
    "under_score",
    "back\\slash",
    ") or 1=1 --",
    "*",
    "[x]",
)
HOSTILE_CAPTION = "Sale: 50% off_all \\ items 'quoted' \"double\" [x] * ? ) or 1=1 --"
CAPTION_PROBES = (
    "%",
    "_",
    "\\",
    "'",
    '"',
    "[x]",
    "50% off_all",
    "50_ off%all",
    "*",
    "?",
    ") OR 1=1 --",
)
ENORMOUS_TAG_COUNT = 5_000
ENORMOUS_CAPTION_CHARS = 1_000_000


@pytest.fixture
def hostile_store(registered_store: ImageStore) -> ImageStore:
    """Return the registered library with hostile tags and caption on an uncaptioned image."""
    target = next(record for record in _all(registered_store) if record.caption is None)
    registered_store.import_sidecars(target.id, HOSTILE_TAGS, HOSTILE_CAPTION)
    return registered_store


def _hostile_id(store: ImageStore) -> int:
    return next(record.id for record in _all(store) if record.caption == HOSTILE_CAPTION)


def _search(
    qtbot: object, service: WorkerService, conditions: SearchConditions | Mapping[str, Any]
) -> tuple[str, object]:
    return run_job(qtbot, EventLog.attach(service), lambda: service.start_search(conditions))


def _found_ids(outcome: tuple[str, object]) -> list[int]:
    event, result = outcome
    assert event == "finished", result
    assert isinstance(result, SearchResult)
    return [record.id for record in result.image_metadata]


def _all(store: ImageStore) -> list[ImageRecord]:
    return store.search(SearchConditions())


@pytest.mark.parametrize("stack", STACKS)
def test_search_finds_hostile_tags_literally(
    qtbot, stack: str, make_service: Callable[..., WorkerService], hostile_store: ImageStore
) -> None:
    service = make_service(hostile_store, stack)
    everything = _all(hostile_store)
    for tag in HOSTILE_TAGS:
        expected = [record.id for record in everything if tag in record.tags]
        assert _hostile_id(hostile_store) in expected
        assert _found_ids(_search(qtbot, service, {"tags": [tag]})) == expected, tag
    assert hostile_store.count_images() == len(everything)
    assert hostile_store.integrity_check()


@pytest.mark.parametrize("stack", STACKS)
def test_search_finds_caption_metacharacters_literally(
    qtbot, stack: str, make_service: Callable[..., WorkerService], hostile_store: ImageStore
) -> None:
    service = make_service(hostile_store, stack)
    everything = _all(hostile_store)
    for probe in CAPTION_PROBES:
        expected = [r.id for r in everything if probe.casefold() in (r.caption or "").casefold()]
        found = _found_ids(_search(qtbot, service, {"caption": probe}))
        assert found == expected, f"caption probe {probe!r}"
    assert _found_ids(_search(qtbot, service, {"caption": "50_ off%all"})) == []


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize(
    "conditions",
    [
        SearchConditions(),
        {},
        {"tags": ""},
        {"tags": [" ", ","]},
        {"caption": "   "},
        {"tags": None, "caption": None, "resolution": None},
    ],
    ids=["default", "empty-dict", "empty-tag-text", "blank-tags", "blank-caption", "all-none"],
)
def test_search_with_empty_conditions_returns_everything(
    qtbot,
    stack: str,
    conditions: SearchConditions | Mapping[str, Any],
    make_service: Callable[..., WorkerService],
    registered_store: ImageStore,
) -> None:
    service = make_service(registered_store, stack)
    found = _found_ids(_search(qtbot, service, conditions))
    assert found == [record.id for record in _all(registered_store)]


@pytest.mark.parametrize("stack", STACKS)
def test_search_with_5000_tags_answers_exactly(
    qtbot, stack: str, make_service: Callable[..., WorkerService], hostile_store: ImageStore
) -> None:
    service = make_service(hostile_store, stack)
    tags = [f"no such tag {index}" for index in range(ENORMOUS_TAG_COUNT - 1)] + ["100%"]
    found = _found_ids(_search(qtbot, service, {"tags": tags, "match": "or"}))
    assert found == [_hostile_id(hostile_store)]
    assert _found_ids(_search(qtbot, service, {"tags": tags, "match": "and"})) == []


@pytest.mark.parametrize("stack", STACKS)
def test_search_with_a_1mb_caption_answers_or_names_the_caption(
    qtbot, stack: str, make_service: Callable[..., WorkerService], registered_store: ImageStore
) -> None:
    service = make_service(registered_store, stack)
    event, payload = _search(qtbot, service, {"caption": "x" * ENORMOUS_CAPTION_CHARS})
    if event == "finished":
        assert isinstance(payload, SearchResult) and payload.image_metadata == []
    else:
        assert event == "failed"
        # The temporary folder's name holds the test's name: judge the words around the path.
        words = str(payload).replace(str(registered_store.path), "<db>")
        assert "caption" in words, f"the error does not say what to change: {words}"
    # The service and the store keep working after it.
    first = _all(registered_store)[0].id
    assert _found_ids(_search(qtbot, service, SearchConditions(limit=1))) == [first]


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize(
    ("conditions", "fragment"),
    [
        ({"tags": 5}, "tags must be a sequence of strings"),
        ({"colour": "red"}, "Unknown search condition key 'colour'"),
        ({"match": "xor"}, "match must be 'and'"),
        ({"resolution": "big"}, "resolution must be a number of pixels"),
        ({"limit": 0}, "limit must be a positive whole number"),
    ],
)
def test_search_with_invalid_conditions_refuses_before_starting(
    stack: str,
    conditions: Mapping[str, Any],
    fragment: str,
    make_service: Callable[..., WorkerService],
    registered_store: ImageStore,
) -> None:
    service = make_service(registered_store, stack)
    with pytest.raises(ValueError, match=fragment.replace("(", r"\(")):
        service.start_search(conditions)
    assert service.get_active_worker_count() == 0
