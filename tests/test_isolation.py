"""Isolated tests run in a child pytest, where a hang or a crash is the test's own result.

Each test writes a small project with ``pytester`` and runs pytest on it in a subprocess,
as a user's run would go: the workerkit plugin is loaded from its entry point.
"""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.timeout(180)

CASES = """
import os
import threading
from pathlib import Path

import pytest

isolated = pytest.mark.workerkit_isolated


def note(name):
    with open(Path(__file__).parent / "pids.txt", "a") as pids:
        pids.write(f"{name} {os.getpid()}\\n")


@isolated
def test_passes():
    note("passes")


@isolated
def test_fails():
    note("fails")
    assert 1 == 2, "one is not two"


@isolated
def test_skips():
    pytest.skip("nothing to do here")


@isolated
@pytest.mark.xfail(strict=True, reason="known")
def test_known_failure():
    raise RuntimeError("still broken")


@isolated
@pytest.mark.timeout(3)
def test_hangs():
    note("hangs")
    threading.Event().wait()


@isolated
@pytest.mark.timeout(2)
def test_hangs_holding_the_gil():
    import ctypes

    note("hangs holding the GIL")
    # A C call made with the GIL held: pytest-timeout's timer thread can never run.
    ctypes.PyDLL(None).sleep(600)


@isolated
def test_runs_after_the_hang():
    note("after hang")


@isolated
def test_dies():
    note("dies")
    os.abort()


@isolated
def test_runs_after_the_death():
    note("after death")


@isolated
def test_unfit_afterwards():
    from workerkit.testing._isolation import end_child_after_case

    note("unfit")
    end_child_after_case("left a lock held")


@isolated
def test_runs_in_a_fresh_child():
    note("fresh")


def test_runs_here():
    note("parent")
"""


Outcome = tuple[pytest.RunResult, dict[str, int]]


@pytest.fixture(scope="module")
def _runs() -> dict[str, Outcome]:
    """Keep the module's one run of the cases above: both tests read it."""
    return {}


@pytest.fixture
def outcome(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, _runs: dict[str, Outcome]
) -> Outcome:
    """Run the cases above once; return the run and, per case that noted it, its process id."""
    if "cases" not in _runs:
        monkeypatch.setenv("COLUMNS", "400")  # the summary lines in full
        pytester.makeini("[pytest]\ntimeout_method = thread\n")
        pytester.makepyfile(test_cases=CASES)
        result = pytester.runpytest_subprocess("-rA", "-p", "no:cacheprovider")
        lines = (pytester.path / "pids.txt").read_text().splitlines()
        pids = {name: int(pid) for name, pid in (line.rsplit(" ", 1) for line in lines)}
        _runs["cases"] = (result, pids)
    return _runs["cases"]


def test_isolation_replays_each_outcome_of_the_child(
    outcome: Outcome,
) -> None:
    """Fails if a child's pass, failure, skip, xfail, hang or death is reported otherwise."""
    result, _ = outcome
    result.assert_outcomes(passed=6, failed=4, skipped=1, xfailed=1)
    text = result.stdout.str()
    assert re.search(r"FAILED test_cases.py::test_fails - .*ChildFailed: .*one is not two", text)
    assert re.search(r"SKIPPED \[1\] .*: nothing to do here", text), text
    assert "XFAIL test_cases.py::test_known_failure - known" in text
    assert re.search(
        r"FAILED test_cases.py::test_hangs - .*ChildDidNotEnd: the case hung in its child "
        r"process \(pytest-timeout ended it\)",
        text,
    ), text
    assert re.search(
        r"FAILED test_cases.py::test_hangs_holding_the_gil - .*ChildDidNotEnd: the case hung in "
        r"its child process \(killed after \d s\)",
        text,
    ), text
    assert re.search(r'File ".*test_cases.py", line \d+ in test_hangs_holding_the_gil', text), (
        "the report lacks the stack of the hung case"
    )
    assert re.search(
        r"FAILED test_cases.py::test_dies - .*ChildDidNotEnd: the case's child process was "
        r"killed by signal 6",
        text,
    ), text


def test_isolation_goes_on_in_a_new_child_after_a_hang_a_death_or_an_unfit_case(
    outcome: Outcome,
) -> None:
    """Fails if the cases after a hang, a crash or a case that ended its child are lost or
    share that child; or if the folder's cases do not share one child."""
    result, pids = outcome
    assert pids["passes"] == pids["fails"]
    assert pids["after hang"] != pids["hangs"]
    assert pids["after hang"] != pids["hangs holding the GIL"] != pids["hangs"]
    assert pids["after death"] != pids["dies"]
    assert pids["fresh"] != pids["unfit"]
    assert pids["parent"] not in {pids["passes"], pids["after hang"], pids["fresh"]}
    text = result.stdout.str()
    for case in ("runs_after_the_hang", "runs_after_the_death", "runs_in_a_fresh_child"):
        assert f"PASSED test_cases.py::test_{case}" in text, text


# Two isolated cases, each waiting for the other to have started: they pass only when
# their children run at the same time. {marker} and {other} (the other case's file, from
# the project's root) are filled in per layout.
RENDEZVOUS = """
import time
from pathlib import Path

import pytest

pytestmark = {marker}


def test_meets_the_other_child():
    Path(__file__).with_suffix(".started").touch()
    there = Path(__file__).parents[1] / "{other}"
    deadline = time.monotonic() + 60
    while not there.with_suffix(".started").exists():
        assert time.monotonic() < deadline, "the other case's child never ran meanwhile"
        time.sleep(0.05)
"""

IN_THE_PARENT = """
def test_runs_in_the_parent():
    pass
"""

# As a project's conftest may: mark the cases isolated again, closer to them than their
# module's mark (which may name a child of its own).
MARKING_CONFTEST = """
import pytest


def pytest_collection_modifyitems(items):
    for item in items:
        if item.name == "test_meets_the_other_child":
            item.add_marker(pytest.mark.workerkit_isolated)
"""

ISOLATED = "pytest.mark.workerkit_isolated"
LAYOUTS = {
    # One child per folder: the folders' children run side by side.
    "two folders": {
        "a/test_a.py": (ISOLATED, "b/test_b.py"),
        "b/test_b.py": (ISOLATED, "a/test_a.py"),
    },
    # A case given a child of its own runs beside its folder's child.
    "a child of its own": {
        "a/test_a.py": (ISOLATED, "a/test_own.py"),
        "a/test_own.py": (f'{ISOLATED}(child="own")', "a/test_a.py"),
    },
}


@pytest.mark.parametrize("layout", LAYOUTS)
def test_isolation_runs_two_children_at_once(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, layout: str
) -> None:
    """Fails if two batches (two folders, or a folder and a case with a child of its own) do
    not run side by side (each case would wait 60 s for the other in vain), or if the parent
    replays an isolated case before it has run its own cases."""
    monkeypatch.setenv("COLUMNS", "400")
    pytester.makeini("[pytest]\nworkerkit_child_processes = 2\n")
    pytester.makeconftest(MARKING_CONFTEST)
    for path, (marker, other) in LAYOUTS[layout].items():
        file = pytester.path / path
        file.parent.mkdir(exist_ok=True)
        file.parent.joinpath("__init__.py").touch()
        file.write_text(RENDEZVOUS.replace("{marker}", marker).replace("{other}", other))
    pytester.makepyfile(test_parent=IN_THE_PARENT)
    result = pytester.runpytest_subprocess("-v", "-p", "no:cacheprovider", timeout=150)
    result.assert_outcomes(passed=3)
    ran = [
        line.split(" ")[0]
        for line in result.outlines
        if line.endswith("PASSED") or " PASSED " in line
    ]
    # The parent's own cases first, then the replays of the isolated ones.
    assert [name.rsplit("::", 1)[-1] for name in ran] == [
        "test_runs_in_the_parent",
        "test_meets_the_other_child",
        "test_meets_the_other_child",
    ], result.stdout.str()
    text = result.stdout.str()
    assert "isolated cases (2 child processes at once)" in text
    if layout == "a child of its own":
        assert re.search(r"^a/ \(own\): 1 isolated cases in 1 child process", text, re.M), text


def test_isolation_refuses_a_lane_count_below_one(pytester: pytest.Pytester) -> None:
    """Fails if a bad workerkit_child_processes is taken silently instead of named."""
    pytester.makeini("[pytest]\nworkerkit_child_processes = 0\n")
    pytester.makepyfile(test_one="def test_one():\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*workerkit_child_processes = '0': give a whole number*"])
