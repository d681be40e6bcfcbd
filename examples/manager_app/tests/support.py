"""Test helpers: sample data, and logs of what a JobService and the manager report."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from examples.manager_app.terminal import TerminalEvent

__all__ = ["JobLog", "TerminalLog", "digests_of", "write_folder", "write_word_list"]

TERMINAL = ("finished", "failed", "canceled")


def write_folder(root: Path, files: int, size: int = 4096) -> Path:
    """Write ``files`` files of ``size`` bytes each into a new folder ``root``; return it."""
    root.mkdir(parents=True)
    for n in range(files):
        (root / f"file{n:03}.bin").write_bytes(bytes([n % 251]) * size + str(n).encode())
    return root


def digests_of(root: Path) -> tuple[tuple[str, str], ...]:
    """Return the SHA-256 of every file of ``root``, by name, computed here."""
    files = sorted(p for p in root.iterdir() if p.is_file())
    return tuple((p.name, hashlib.sha256(p.read_bytes()).hexdigest()) for p in files)


def write_word_list(path: Path, words: int) -> Path:
    """Write a word list of ``words`` made-up words, one a line; return its path."""
    stems = ("cat", "car", "dog", "cap", "bird", "cod", "cab", "fish")
    lines = [f"{stems[n % len(stems)]}{n}" for n in range(words)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class JobLog:
    """Collect a service's job signals as (event, job_id, payload) tuples, in arrival order."""

    def __init__(self, service: Any) -> None:
        self.events: list[tuple[str, str, object]] = []
        service.job_started.connect(self._recorder("started"))
        service.job_progressed.connect(self._recorder("progressed"))
        service.job_finished.connect(self._recorder("finished"))
        service.job_failed.connect(self._recorder("failed"))
        service.job_canceled.connect(self._recorder("canceled"))

    def _recorder(self, event: str) -> Callable[..., None]:
        def record(_kind: str, job_id: str, payload: object = None) -> None:
            self.events.append((event, job_id, payload))

        return record

    def of(self, job_id: str, *events: str) -> list[object]:
        """Return the payloads of ``job_id``'s events of the given names."""
        return [p for event, jid, p in self.events if jid == job_id and event in events]

    def terminals(self, job_id: str) -> list[str]:
        """Return the names of ``job_id``'s terminal events."""
        return [event for event, jid, _ in self.events if jid == job_id and event in TERMINAL]


class TerminalLog:
    """Collect the manager's TerminalEvents with the thread that sent each.

    A job's own terminal signal is handled in the job's thread; the fallback of a cancel
    that outwaited the worker runs on the GUI (main) thread.
    """

    def __init__(self, manager: Any) -> None:
        self._lock = threading.Lock()
        self._events: list[tuple[TerminalEvent, threading.Thread]] = []
        # Direct: a plain callable would be queued to the manager's (GUI) thread,
        # hiding the thread that really sent the event.
        manager.worker_terminal.connect(self._record, Qt.ConnectionType.DirectConnection)

    def _record(self, event: TerminalEvent) -> None:
        with self._lock:
            self._events.append((event, threading.current_thread()))

    def of(self, job_id: str) -> list[TerminalEvent]:
        """Return the terminal events of ``job_id``."""
        with self._lock:
            return [e for e, _ in self._events if e.worker_id == job_id]

    def wait_of(self, qtbot: QtBot, job_id: str) -> list[TerminalEvent]:
        """Return the terminal events of ``job_id`` once it has one.

        The manager's stack connected to ``worker_terminal`` first, so Qt queues the
        service's event before it calls this log in the job's thread: the service's
        terminal signal can arrive on the GUI thread before the log has the event.
        """
        qtbot.waitUntil(lambda: bool(self.of(job_id)), timeout=5000)
        return self.of(job_id)

    def sent_by_the_job(self, job_id: str) -> bool:
        """Return True if every terminal event of ``job_id`` came from its own thread."""
        with self._lock:
            sent = [t for e, t in self._events if e.worker_id == job_id]
        return bool(sent) and threading.main_thread() not in sent
