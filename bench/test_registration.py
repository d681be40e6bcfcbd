"""Registration of the sample library into an empty database, on both stacks."""

from __future__ import annotations

import pytest

from bench.conftest import STACKS, Measure

pytestmark = pytest.mark.timeout(900)


@pytest.mark.parametrize("stack", STACKS)
def test_registration_library(measure: Measure, stack: str) -> None:
    metrics = measure("registration", stack)
    assert metrics["registered"] > 0
