"""Run the cases that can hang or kill the process in child pytest processes, in batches.

A legacy stack can deadlock on the GIL and a Qt mutex, die of a SIGSEGV inside a
cancel, or ``terminate()`` a thread inside a C call and leave a lock held forever
(LoRAIro's 2025 manager does all three). In the test process any of these ends the
whole run, or hangs it until the CI limit. So every isolated case (each legacy
contract case, and each test marked ``workerkit_isolated``) runs in a child pytest:
the cases of one folder together, in one child, so the child pays its start-up and
its session fixtures once. The children run in background threads of the parent from
the start of the run, a few at once (``Runner``'s lanes), while the parent runs its own
cases first and replays the isolated ones last. The parent watches each case a child
runs; a case that runs past its timeout is killed with the child, and a hang or a death
by signal is that case's result. The rest of the batch then runs in a new child.

In the parent an isolated case still sets up and tears down its fixtures, but its
test function does not run: its call phase replays the child's outcome (passed,
failed, skipped), so markers such as ``xfail`` apply in the parent as usual.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

__all__ = [
    "CHILD_ENV",
    "MARKER",
    "Batch",
    "ChildDidNotEnd",
    "ChildError",
    "ChildFailed",
    "Runner",
    "in_child",
]

CHILD_ENV = "WORKERKIT_CHILD_PYTEST"
MARKER = "workerkit_isolated"
# When pytest-timeout gives no limit: the longest one case may run in a child.
DEFAULT_CASE_TIMEOUT_S = 300.0
# The child's own pytest-timeout should end a stuck case first, and report where it was:
# the watchdog gives it as long again as the case's limit, up to this.
WATCHDOG_GRACE_S = 30.0
# How long a hung child gets to dump its threads' stacks before it is killed.
ABORT_GRACE_S = 5.0
_POLL_S = 0.1
_TAIL = 12000
BATCH_KEY = pytest.StashKey["Batch"]()
TIMEOUT_KEY = pytest.StashKey[float]()


def _stack_failures() -> tuple[type[BaseException], ...]:
    failures: tuple[type[BaseException], ...] = (AssertionError, RuntimeError, TimeoutError)
    try:
        from pytestqt.exceptions import TimeoutError as WaitTimedOut
    except ImportError:  # the contract cases need pytest-qt; plain isolated tests do not
        return failures
    return (*failures, WaitTimedOut)


# What a stack's misbehaviour raises: a failed check, a refused start, a wait that ran out.
STACK_FAILURES = _stack_failures()


class ChildDidNotEnd(AssertionError):
    """The case's child process hung or was killed by a signal before the case ended."""


class ChildFailed(AssertionError):
    """The case failed in its child process (an assertion, or a stack's refusal)."""


class ChildError(Exception):
    """The case errored in its child process in a way that is no stack's failure."""


def in_child() -> bool:
    """Return True inside a child pytest of an isolation batch."""
    return bool(os.environ.get(CHILD_ENV))


@dataclass(slots=True)
class _Outcome:
    """What the child's case raised, phase by phase, folded into one outcome and its text.

    The child reports each phase's own result, before any ``xfail`` marker is applied:
    the parent applies the markers when it replays the outcome.
    """

    outcome: str = "passed"
    text: str = ""
    stack_failure: bool = True
    ended: bool = False

    def add(self, phase: dict[str, Any]) -> None:
        """Fold one phase's result in: a failure beats an xfail beats a skip beats a pass."""
        if phase["when"] == "teardown":
            self.ended = True
        rank = _RANK[phase["outcome"]]
        if rank > _RANK[self.outcome]:
            self.outcome, self.text = phase["outcome"], phase["text"]
            self.stack_failure = phase["stack_failure"]

    def replay(self) -> None:
        """Pass, fail, xfail or skip here as the case did in the child."""
        if self.outcome == "skipped":
            pytest.skip(self.text or "skipped in its child process")
        if self.outcome == "xfailed":
            pytest.xfail(self.text)
        if self.outcome == "failed":
            kind = ChildFailed if self.stack_failure else ChildError
            raise kind(f"in its child process: {self.text}")


_RANK = {"passed": 0, "skipped": 1, "xfailed": 2, "failed": 3}


class Batch:
    """The isolated cases of one folder, run in child pytest processes, one after another."""

    def __init__(self, key: str, items: Iterable[pytest.Item], config: pytest.Config) -> None:
        self.key = key
        self.items = list(items)
        self.config = config
        self._results: dict[str, _Outcome | BaseException] = {}
        self._changed = threading.Condition()
        self._process: subprocess.Popen[bytes] | None = None
        self._stopped = False
        # What the run cost: its child processes and their wall time, for the summary.
        self.children = 0
        self.seconds = 0.0

    def run(self) -> None:
        """Run children until every case has a result (the cases after a hang in a new one)."""
        started = time.monotonic()
        try:
            while not self._stopped:
                pending = [i for i in self.items if i.nodeid not in self._results]
                if not pending:
                    return
                self.children += 1
                self._run_child(pending)
        finally:
            self.seconds = time.monotonic() - started

    def describe(self) -> str:
        """Say what the batch ran and what it cost: cases, child processes, wall time."""
        return (
            f"{self.key}: {len(self.items)} isolated cases in "
            f"{child_processes(self.children)}, {self.seconds:.0f} s"
        )

    def replay(self, item: pytest.Item) -> None:
        """Wait for ``item``'s result from its child, then pass, fail or skip as it did."""
        with self._changed:
            self._changed.wait_for(lambda: item.nodeid in self._results or self._stopped)
            result = self._results.get(item.nodeid)
        if result is None:
            raise ChildError("the isolation runner stopped before this case ran")
        if isinstance(result, BaseException):
            raise result
        result.replay()

    def fail_pending(self, error: BaseException) -> None:
        """Give every case still without a result ``error`` as its result."""
        for item in self.items:
            self._publish(item.nodeid, error)

    def stop(self) -> None:
        """Kill the running child, if any, and release every wait for a result."""
        self._stopped = True
        process = self._process
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        with self._changed:
            self._changed.notify_all()

    def _publish(self, nodeid: str, result: _Outcome | BaseException) -> None:
        with self._changed:
            self._results.setdefault(nodeid, result)
            self._changed.notify_all()

    def _run_child(self, pending: list[pytest.Item]) -> None:
        with tempfile.TemporaryDirectory(prefix="workerkit-child-") as folder:
            reports, output = Path(folder) / "reports.jsonl", Path(folder) / "output.txt"
            reports.touch()
            with output.open("wb") as sink:
                self._process = subprocess.Popen(
                    _command(pending, Path(folder) / "basetemp"),
                    cwd=self.config.rootpath,
                    env={**os.environ, CHILD_ENV: str(reports), "PYTHONFAULTHANDLER": "1"},
                    stdout=sink,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
                limits = {i.nodeid: i.stash.get(TIMEOUT_KEY, case_timeout(i)) for i in pending}
                watch = _Watch(self._process, reports, limits, self._publish)
                watch.run()
            self._collect(pending, watch, _tail(output))

    def _collect(self, pending: list[pytest.Item], watch: _Watch, output: str) -> None:
        if self._stopped:
            return
        running = watch.running
        if running is not None:
            self._publish(running, ChildDidNotEnd(f"{watch.how_it_ended(output)}:\n{output}"))
        if not any(i.nodeid in self._results for i in pending):
            # The child ran none of them (an import error, a bad option): say so for all.
            self.fail_pending(
                ChildError(
                    f"the child pytest ran none of its cases ({watch.how_it_ended(output)}):\n"
                    f"{output}"
                )
            )


class Runner:
    """Run the batches in background threads, ``lanes`` children at once, beside the parent.

    The cases a child runs mostly wait (on a legacy stack's timeouts, on its threads), so
    two children and the parent's own cases share a 2-core machine well. Each lane takes
    the next batch not yet taken, in the order the parent will replay them; an isolated
    case waits for its result only when its turn comes.
    """

    def __init__(self, batches: Iterable[Batch], lanes: int = 1) -> None:
        self.batches = list(batches)
        self.lanes = max(1, min(lanes, len(self.batches)))
        self._next = iter(self.batches)
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._run, name=f"workerkit-isolation-{lane}", daemon=True)
            for lane in range(self.lanes)
        ]

    def start(self) -> None:
        """Start running the batches."""
        if self.batches:
            for thread in self._threads:
                thread.start()

    def stop(self) -> None:
        """Kill the running children and give up on the cases not run yet."""
        for batch in self.batches:
            batch.stop()

    def _take(self) -> Batch | None:
        with self._lock:
            return next(self._next, None)

    def _run(self) -> None:
        while (batch := self._take()) is not None:
            try:
                batch.run()
            except BaseException as exc:  # never leave the parent waiting for a result
                batch.fail_pending(ChildError(f"running the child pytest failed: {exc!r}"))


class _Watch:
    """Follow a child's report file until it exits; kill it when one case runs too long."""

    def __init__(
        self,
        process: subprocess.Popen[bytes],
        reports: Path,
        limits: dict[str, float],
        publish: Callable[[str, _Outcome], None],
    ) -> None:
        self.process = process
        self.reports = reports
        self.limits = limits
        self.publish = publish
        self.outcomes: dict[str, _Outcome] = {}
        self.running: str | None = None
        self._since = time.monotonic()
        self._read = 0
        self.killed_after: float | None = None

    def run(self) -> None:
        """Poll the child until it exits, reading each case's start and reports."""
        while self.process.poll() is None:
            self._read_reports()
            limit = self.limits.get(self.running or "", DEFAULT_CASE_TIMEOUT_S)
            if time.monotonic() - self._since > limit + min(limit, WATCHDOG_GRACE_S):
                self.killed_after = time.monotonic() - self._since
                self._kill()
                break
            time.sleep(_POLL_S)
        self._read_reports()

    def _kill(self) -> None:
        # A thread that deadlocks holding the GIL also stops pytest-timeout's timer
        # thread; faulthandler (PYTHONFAULTHANDLER) still dumps every thread on SIGABRT,
        # so the report shows where the case hung. Then the whole group goes.
        try:
            self.process.send_signal(signal.SIGABRT)
            self.process.wait(ABORT_GRACE_S)
        except subprocess.TimeoutExpired:
            pass
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def how_it_ended(self, output: str) -> str:
        """Describe how the child ended, for a case it did not finish."""
        code = self.process.returncode
        if self.killed_after is not None:
            return f"the case hung in its child process (killed after {self.killed_after:.0f} s)"
        if "+ Timeout +" in output:
            return "the case hung in its child process (pytest-timeout ended it)"
        if code is not None and code < 0:
            return f"the case's child process was killed by signal {-code}"
        return f"the case's child process exited with status {code} before the case ended"

    def _read_reports(self) -> None:
        with self.reports.open("rb") as stream:
            stream.seek(self._read)
            data = stream.read()
        complete = data[: data.rfind(b"\n") + 1]
        self._read += len(complete)
        for line in complete.decode().splitlines():
            self._take(json.loads(line))

    def _take(self, entry: dict[str, Any]) -> None:
        nodeid = entry["nodeid"]
        if entry["event"] == "start":
            self.running, self._since = nodeid, time.monotonic()
            self.outcomes[nodeid] = _Outcome()
            return
        outcome = self.outcomes[nodeid]
        outcome.add(entry)
        if outcome.ended:
            self.running = None
            self.publish(nodeid, outcome)


def _command(items: list[pytest.Item], basetemp: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        f"--basetemp={basetemp}",
        *[item.nodeid for item in items],
    ]


def child_processes(count: int) -> str:
    """Return "1 child process" or "N child processes"."""
    return f"{count} child process{'' if count == 1 else 'es'}"


def case_timeout(item: pytest.Item) -> float:
    """Return how long ``item`` may run, in seconds: its pytest-timeout limit, or a default."""
    marker = item.get_closest_marker("timeout")
    if marker is not None and marker.args:
        value = float(marker.args[0])
    else:
        try:
            value = float(item.config.getini("timeout") or 0)
        except ValueError:  # pytest-timeout is not installed
            value = 0.0
    return value if value > 0 else DEFAULT_CASE_TIMEOUT_S


def _tail(path: Path) -> str:
    text = path.read_text(errors="replace")
    return text[-_TAIL:]


# --- in the child ----------------------------------------------------------------------

_end_after_case: list[str] = []


def end_child_after_case(reason: str) -> None:
    """Make the child exit once the running case has reported; the rest run in a new child.

    For a case that leaves the process unfit for the next one: a ``terminate()``d thread
    may have died holding a lock (SQLite's, the allocator's) that a later case would wait
    on forever. Outside a child this does nothing.
    """
    if in_child():
        _end_after_case.append(reason)


def case_finished() -> None:
    """In a child, exit now if the case that just finished asked for it."""
    if _end_after_case:
        os._exit(0)  # the case has reported; nothing of this process is trusted any more


def write_start(nodeid: str) -> None:
    """Note in the child's report file that the case ``nodeid`` starts."""
    _append({"event": "start", "nodeid": nodeid})


def write_phase(
    item: pytest.Item, when: str, excinfo: pytest.ExceptionInfo[BaseException] | None
) -> None:
    """Note what one phase of a case raised (nothing, a skip, a failure) in the report file."""
    outcome, text, stack_failure = "passed", "", False
    if excinfo is not None:
        if excinfo.errisinstance(pytest.skip.Exception):
            outcome, text = "skipped", str(excinfo.value.msg)  # type: ignore[attr-defined]
        elif excinfo.errisinstance(pytest.xfail.Exception):
            outcome, text = "xfailed", str(excinfo.value.msg)  # type: ignore[attr-defined]
        else:
            outcome = "failed"
            # The exception's own line first: the parent's reports show the first line.
            head = (excinfo.exconly().strip().splitlines() or [excinfo.typename])[0][:500]
            text = f"{head}\n{str(item.repr_failure(excinfo))[-_TAIL:]}"
            stack_failure = excinfo.errisinstance(STACK_FAILURES)
    _append(
        {
            "event": "phase",
            "nodeid": item.nodeid,
            "when": when,
            "outcome": outcome,
            "stack_failure": stack_failure,
            "text": text,
        }
    )


def _append(entry: dict[str, Any]) -> None:
    with open(os.environ[CHILD_ENV], "a", encoding="utf-8") as stream:
        stream.write(json.dumps(entry) + "\n")
