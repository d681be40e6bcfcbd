"""Fixtures for the numbers app: local page servers, flag isolation, a JobService factory."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from examples.numbers_app.server import PageServer
from examples.numbers_app.tests.support import worker_threads_alive
from examples.numbers_app.workers import app
from workerkit import JobService

FLAG_VARS = ("WORKERKIT_PRIMES", "WORKERKIT_FETCH")


@pytest.fixture
def local_server() -> Iterator[PageServer]:
    """Serve pages on 127.0.0.1 for one test, without delay."""
    with PageServer(lifetime=30.0) as server:
        yield server


@pytest.fixture
def slow_server() -> Iterator[PageServer]:
    """Serve pages on 127.0.0.1 for one test, each after a 2-second delay."""
    with PageServer(delay=2.0, lifetime=30.0) as server:
        yield server


@pytest.fixture
def clean_flags(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Run in an empty directory with no WORKERKIT_<KIND> variables set."""
    monkeypatch.chdir(tmp_path)
    for name in FLAG_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def make_service(
    qapp: QApplication, qtbot: QtBot, tmp_path: Path, clean_flags: None
) -> Iterator[Callable[..., Any]]:
    """Return a JobService factory; shut its services down and outwait their threads after."""
    services: list[JobService] = []

    def make(**options: Any) -> JobService:
        options.setdefault("shadow_log", tmp_path / "shadow.jsonl")
        service = JobService(options.pop("app", app), **options)
        services.append(service)
        return service

    yield make
    for service in services:
        assert service.shutdown(5000), f"jobs still active: {service.active_job_ids()}"
    # A legacy job's thread can still be inside the service's code after shutdown() returns
    # (it quits through a signal queued to the GUI thread): let it end before the service
    # is destroyed, or it touches freed objects.
    qtbot.waitUntil(lambda: worker_threads_alive() == 0, timeout=5000)
