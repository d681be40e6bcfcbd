"""Cancel in a slow SQLite query, in a slow HTTP call and in a registration loop."""

from __future__ import annotations

import pytest

from bench.conftest import STACKS, Measure

pytestmark = pytest.mark.timeout(900)


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("workload", ["cancel-sqlite", "cancel-http", "cancel-loop"])
def test_cancellation_latency(measure: Measure, workload: str, stack: str) -> None:
    metrics = measure(workload, stack)
    assert metrics["blocked_ms"] >= 0
    assert metrics["event"] in ("canceled", "failed", "finished")
