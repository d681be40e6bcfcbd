"""Plumbing: the round trip of a no-op job and a burst of no-op jobs, on both stacks."""

from __future__ import annotations

import pytest

from bench.conftest import STACKS, Measure

pytestmark = pytest.mark.timeout(900)


@pytest.mark.parametrize("stack", STACKS)
def test_plumbing_roundtrip(measure: Measure, stack: str) -> None:
    metrics = measure("roundtrip", stack)
    assert metrics["median_ms"] > 0


def test_plumbing_roundtrip_floor(measure: Measure) -> None:
    metrics = measure("roundtrip", "floor")
    assert metrics["median_ms"] > 0


@pytest.mark.parametrize("stack", STACKS)
def test_plumbing_burst(measure: Measure, stack: str) -> None:
    metrics = measure("burst", stack)
    assert metrics["jobs"] > 0
    assert metrics["failed_jobs"] == 0
