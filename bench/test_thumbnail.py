"""256 px thumbnails of 1920x1280 JPEGs, on both stacks and on the Pillow all-core floor."""

from __future__ import annotations

import pytest

from bench.conftest import STACKS, Measure

pytestmark = pytest.mark.timeout(900)


@pytest.mark.parametrize("stack", STACKS)
def test_thumbnail_jpegs(measure: Measure, stack: str) -> None:
    metrics = measure("thumbnail", stack)
    assert metrics["loaded"] == metrics["images"]


def test_thumbnail_pillow_floor(measure: Measure) -> None:
    metrics = measure("thumbnail", "floor")
    assert metrics["loaded"] == metrics["images"]
