"""Seeded queries over a 5,000-image database, one after another, on both stacks."""

from __future__ import annotations

import pytest

from bench.conftest import STACKS, Measure

pytestmark = pytest.mark.timeout(900)


@pytest.mark.parametrize("stack", STACKS)
def test_search_queries(measure: Measure, stack: str) -> None:
    metrics = measure("search", stack)
    assert metrics["rows_found"] > 0
