"""A registration SIGKILLed mid-run: the file opens intact; a re-run adds just what is missing."""

from __future__ import annotations

import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from workerkit import STACKS
from workerkit.imagelib.domain.store import ImageStore
from workerkit.imagelib.sample import SampleManifest
from workerkit.imagelib.service import WorkerService

from ..child import SCRIPTS
from .conftest import (
    EventLog,
    finished_registration,
    images_missing_sidecar_tags,
    run_job,
)

pytestmark = pytest.mark.timeout(120)

ANNOUNCE_TIMEOUT_S = 60


def _first_line(process: subprocess.Popen[str], timeout: float) -> str:
    """Return the first stdout line of ``process``, or '' if none came within ``timeout``."""
    lines: queue.Queue[str] = queue.Queue()
    assert process.stdout is not None
    stdout = process.stdout
    threading.Thread(target=lambda: lines.put(stdout.readline()), daemon=True).start()
    try:
        return lines.get(timeout=timeout)
    except queue.Empty:
        return ""


def _register_and_kill(stack: str, library: Path, db: Path) -> tuple[int, str]:
    """Run the registration in a child, SIGKILL it after its first commit; return what it said."""
    process = subprocess.Popen(
        [sys.executable, str(SCRIPTS / "fault_register_then_die.py"), stack, str(library), str(db)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = _first_line(process, ANNOUNCE_TIMEOUT_S)
    finally:
        process.send_signal(signal.SIGKILL)
        rest, errors = process.communicate(timeout=30)
    assert line.startswith("COMMITTED"), f"no commit announced: {line!r}{rest}\n{errors[-2000:]}"
    assert "DONE" not in rest, "the run finished before it could be killed"
    return process.returncode, line


@pytest.mark.parametrize("stack", STACKS)
def test_registration_killed_mid_run_leaves_a_sound_database_and_resumes(
    qtbot,
    stack: str,
    make_service: Callable[..., WorkerService],
    sample_library: SampleManifest,
    registered_db: Path,
    tmp_path: Path,
) -> None:
    with ImageStore(registered_db) as clean:
        clean_count = clean.count_images()
    assert clean_count == sample_library.images - sample_library.duplicates
    db = tmp_path / "killed.sqlite"
    returncode, line = _register_and_kill(stack, sample_library.root, db)
    assert returncode == -signal.SIGKILL
    with ImageStore(db) as store:
        assert store.integrity_check()
        survived = store.count_images()
        assert int(line.split()[1]) <= survived < clean_count
        assert images_missing_sidecar_tags(store) == []
        service = make_service(store, stack)
        log = EventLog.attach(service)
        rerun = finished_registration(
            run_job(qtbot, log, lambda: service.start_batch_registration(sample_library.root))
        )
        assert rerun.registered_count == clean_count - survived
        assert rerun.error_count == sample_library.corrupt
        assert store.count_images() == clean_count
        assert store.integrity_check()
        assert images_missing_sidecar_tags(store) == []
