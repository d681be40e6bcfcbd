"""The manager app's kinds through workerkit's contract plugin, on both stacks.

On ``legacy`` the cases run the app's own WorkerManager (``ManagerStack``); a case it
fails is reported as an expected failure of the legacy stack.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from examples.manager_app.tests.support import write_folder, write_word_list
from examples.manager_app.workers import app
from workerkit.testing import Contract, ContractSuite, Sample, call

# The slow step of a long job: a file from a slow share, a slow word index. Shorter than
# the manager's 2 s cancel grace, so a legacy cancel outwaits it.
LONG_STEP_S = 1.0
# Every job here ends within about a second. The manager's wait_for_all_workers on the
# GUI thread runs out its whole timeout (the threads quit through the GUI thread's
# queue), so the contract's waits are kept short.
TERMINAL_TIMEOUT_S = 5.0


def _new_folder(request: pytest.FixtureRequest, files: int) -> Path:
    base = Path(tempfile.mkdtemp(dir=request.getfixturevalue("tmp_path")))
    return write_folder(base / "folder", files)


def _checksum(request: pytest.FixtureRequest, read_delay_s: float = 0.0) -> Sample:
    return call(str(_new_folder(request, 3)), read_delay_s=read_delay_s)


def _lookup(request: pytest.FixtureRequest, open_delay_s: float = 0.0) -> Sample:
    base = Path(tempfile.mkdtemp(dir=request.getfixturevalue("tmp_path")))
    words = write_word_list(base / "words.txt", 2000)
    return call(str(words), "ca*", open_delay_s=open_delay_s)


def _missing(request: pytest.FixtureRequest, name: str) -> str:
    return str(request.getfixturevalue("tmp_path") / "missing" / name)


class TestManagerAppContract(ContractSuite):
    """Every contract case for checksum and lookup."""

    contract = Contract(
        app,
        quick={"checksum": _checksum, "lookup": _lookup},
        long={
            "checksum": lambda r: _checksum(r, read_delay_s=LONG_STEP_S),
            "lookup": lambda r: _lookup(r, open_delay_s=LONG_STEP_S),
        },
        failing={
            "checksum": lambda r: call(_missing(r, "folder")),
            "lookup": lambda r: call(_missing(r, "words.txt"), "ca*"),
        },
        long_step_s=LONG_STEP_S,
        terminal_timeout_s=TERMINAL_TIMEOUT_S,
    )
