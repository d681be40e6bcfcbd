"""Annotation with the http model against the fake API in its own process, on both stacks."""

from __future__ import annotations

import pytest

from bench.conftest import STACKS, Measure

pytestmark = pytest.mark.timeout(900)


@pytest.mark.parametrize("stack", STACKS)
def test_annotation_http(measure: Measure, stack: str) -> None:
    metrics = measure("annotation", stack)
    assert metrics["errors"] == 0
