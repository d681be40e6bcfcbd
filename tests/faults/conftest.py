"""Helpers of the fault suite: one job run to its end, fault files and a file-mode switch.

The event log and the stack parameters are the whole suite's (tests/conftest.py).
"""

from __future__ import annotations

import itertools
import os
import random
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from PIL import Image

import workerkit.imagelib.legacy_workers.stack
from workerkit.imagelib.domain.conditions import SearchConditions
from workerkit.imagelib.domain.results import RegistrationResult
from workerkit.imagelib.domain.sidecars import read_sidecars
from workerkit.imagelib.domain.store import ImageStore

from ..conftest import LONG_MS, EventLog

# Capabilities that let root ignore file modes; dropping them makes chmod real again.
_DAC_CAPS = "-dac_override,-dac_read_search"


@pytest.fixture(autouse=True)
def distinct_legacy_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    """Give every legacy job id its own second, so D5 (ids colliding) hides no other fault."""
    seconds = itertools.count(1_000_000)
    monkeypatch.setattr(
        workerkit.imagelib.legacy_workers.stack, "time", SimpleNamespace(time=lambda: next(seconds))
    )


def run_job(
    qtbot: object, log: EventLog, start: Callable[[], str], timeout: int = LONG_MS
) -> tuple[str, object]:
    """Start a job with ``start()`` and return its first terminal (event, payload)."""
    # Legacy ids repeat within a second (D5): only events logged after this start count.
    since = len(log.events)
    return log.wait(qtbot, start(), timeout, since)


def finished_registration(outcome: tuple[str, object]) -> RegistrationResult:
    """Return the RegistrationResult of a finished job, or fail saying how it ended."""
    event, payload = outcome
    assert event == "finished", f"registration ended with {event}: {payload}"
    assert isinstance(payload, RegistrationResult)
    return payload


def failure_messages(outcome: tuple[str, object]) -> list[str]:
    """Return what the user was told went wrong: the job's error or every per-file reason."""
    event, payload = outcome
    if event == "failed":
        return [str(payload)]
    assert isinstance(payload, RegistrationResult), f"expected a failure, got {event}: {payload}"
    return [failure.reason for failure in payload.errors]


def images_missing_sidecar_tags(store: ImageStore) -> list[Path]:
    """Return registered images that lack a tag their ``.txt`` sidecar holds."""
    missing = []
    for record in store.search(SearchConditions()):
        if not record.path.exists():
            continue
        if not set(read_sidecars(record.path).tags) <= set(record.tags):
            missing.append(record.path)
    return missing


def write_image(
    path: Path, seed: int, mode: str = "RGB", size: tuple[int, int] = (64, 48), **save: Any
) -> Path:
    """Write a seeded, blurred noise image in ``mode`` to ``path``; distinct seeds hash apart."""
    rng = random.Random(seed)
    grid = Image.frombytes("L", (8, 8), bytes(rng.randrange(256) for _ in range(64)))
    grey = grid.resize(size, Image.Resampling.BILINEAR)
    image = Image.merge(
        "RGB",
        (
            grey,
            grey.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
            grey.transpose(Image.Transpose.FLIP_TOP_BOTTOM),
        ),
    )
    if mode == "I;16":
        converted = grey.point(lambda value: value * 257, "I").convert("I;16")
    elif mode == "P":
        converted = image.quantize(16)
    else:
        converted = image.convert(mode)
    converted.save(path, **save)
    return path


def write_sidecar(image: Path, tags: Sequence[str], caption: str | None = None) -> None:
    """Write ``<stem>.txt`` (and ``<stem>.caption``) next to ``image``."""
    image.with_suffix(".txt").write_text(", ".join(tags), encoding="utf-8")
    if caption is not None:
        image.with_suffix(".caption").write_text(caption, encoding="utf-8")


def copy_images(source: Path, dest: Path, count: int) -> Path:
    """Copy the first ``count`` images (with sidecars) of ``source``'s top folder to ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    images = sorted(p for p in source.iterdir() if p.suffix.lower() in {".jpg", ".png"})[:count]
    for image in images:
        for sibling in (image, image.with_suffix(".txt"), image.with_suffix(".caption")):
            if sibling.exists():
                shutil.copy2(sibling, dest / sibling.name)
    return dest


def without_file_mode_override() -> list[str]:
    """Return a command prefix under which file modes are enforced, even for root."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip(
            "Running as root without setpriv: root ignores file modes and there is no way here "
            "to drop CAP_DAC_OVERRIDE for a child process; install util-linux's setpriv."
        )
    return [setpriv, "--inh-caps", _DAC_CAPS, "--bounding-set", _DAC_CAPS, "--"]
