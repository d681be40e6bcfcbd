"""Contract 10: no QPixmap is made off the GUI thread (QPixmap is a GUI-thread class)."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any

import pytest
import workerkit.simplified._stack
from PySide6.QtCore import QSize
from PySide6.QtGui import QPixmap

import workerkit.imagelib.legacy_workers.stack
from workerkit.imagelib.domain.store import ImageRecord, ImageStore
from workerkit.imagelib.service import WorkerService

from .conftest import LONG_MS, THUMBNAIL_PX, Defect, EventLog, spin_until, stack_params

pytestmark = pytest.mark.timeout(120)

# Both stacks' modules must be loaded before their QPixmap names are replaced.
_STACK_MODULES = (workerkit.imagelib.legacy_workers.stack, workerkit.simplified._stack)
_PACKAGES = frozenset({"legacy", "simplified", "workerkit"})


def _recording_pixmap(makers: list[threading.Thread]) -> type[QPixmap]:
    """Return a QPixmap subclass that notes the thread of every pixmap made through it."""

    class RecordingPixmap(QPixmap):
        def __init__(self, *args: Any) -> None:
            makers.append(threading.current_thread())
            super().__init__(*args)

        @staticmethod
        def fromImage(*args: Any) -> QPixmap:
            makers.append(threading.current_thread())
            return QPixmap.fromImage(*args)

        @staticmethod
        def fromImageReader(*args: Any) -> QPixmap:
            makers.append(threading.current_thread())
            return QPixmap.fromImageReader(*args)

    return RecordingPixmap


def _replace_pixmap_everywhere(monkeypatch: pytest.MonkeyPatch, replacement: type) -> list[str]:
    """Put ``replacement`` in place of QPixmap in every loaded module of our packages."""
    replaced = []
    for name, module in list(sys.modules.items()):
        if name.split(".")[0] in _PACKAGES and getattr(module, "QPixmap", None) is QPixmap:
            monkeypatch.setattr(module, "QPixmap", replacement)
            replaced.append(name)
    return sorted(replaced)


@pytest.mark.parametrize(
    "stack", stack_params(Defect("D6", "the thumbnail worker makes each QPixmap in its thread"))
)
def test_thumbnail_pixmaps_are_made_on_the_gui_thread(
    make_service: Callable[..., WorkerService],
    store: ImageStore,
    sample_records: list[ImageRecord],
    monkeypatch: pytest.MonkeyPatch,
    stack: str,
) -> None:
    makers: list[threading.Thread] = []
    replaced = _replace_pixmap_everywhere(monkeypatch, _recording_pixmap(makers))
    assert {
        "workerkit.imagelib.legacy_workers.thumbnail_worker",
        "workerkit.imagelib.kinds",
    } <= set(replaced), replaced
    service = make_service(store, stack)
    log = EventLog(service)
    job_id = service.start_thumbnail_loading(sample_records[:24], QSize(THUMBNAIL_PX, THUMBNAIL_PX))
    assert spin_until(lambda: bool(log.terminal(job_id)), LONG_MS)
    assert [e.name for e in log.terminal(job_id)] == ["job_finished"]
    assert len(makers) >= 24, f"only {len(makers)} pixmaps were made through {replaced}"
    elsewhere = sorted({t.name for t in makers if t is not threading.main_thread()})
    assert elsewhere == [], f"pixmaps were made on {elsewhere}"
