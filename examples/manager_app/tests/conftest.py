"""Fixtures for the manager app: a folder of files, a word list, a JobService factory."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from examples.manager_app.tests.support import write_folder, write_word_list
from examples.manager_app.workers import app
from workerkit import JobService
from workerkit.testing import qthreads_alive


@pytest.fixture
def lab_folder(tmp_path: Path) -> Path:
    """Return a folder of three small files."""
    return write_folder(tmp_path / "folder", files=3)


@pytest.fixture
def word_list(tmp_path: Path) -> Path:
    """Return a word list of a few thousand words, some of which start with ``ca``."""
    return write_word_list(tmp_path / "words.txt", words=3000)


@pytest.fixture
def make_service(
    qapp: QApplication, qtbot: QtBot, tmp_path: Path
) -> Iterator[Callable[..., JobService]]:
    """Return a JobService factory; shut its services down and outwait their threads after."""
    services: list[JobService] = []

    def make(**options: Any) -> JobService:
        options.setdefault("shadow_log", tmp_path / "shadow.jsonl")
        service = JobService(app, **options)
        services.append(service)
        return service

    yield make
    for service in services:
        assert service.shutdown(5000), f"jobs still active: {service.active_job_ids()}"
    # A job's thread may still be in its last steps after its job ended: let it end
    # before the service, its manager and their Python references go.
    qtbot.waitUntil(lambda: qthreads_alive() == 0, timeout=5000)
