"""The contract suite as a pytest plugin (entry point ``pytest11``: ``workerkit``).

A test module subclasses ``workerkit.testing.ContractSuite`` with a ``contract``; this
plugin runs each case for every declared kind on every stack of the contract, reports a
legacy case that fails as an expected failure of the legacy stack, and runs every
legacy case (and every test marked ``workerkit_isolated``) in a child pytest, where a
hang or a crash is that case's result instead of the end of the run
(``workerkit.testing._isolation``).
"""

from __future__ import annotations

import time
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from workerkit.testing import _isolation as isolation

__all__ = [
    "contract_harness",
    "pytest_addoption",
    "pytest_collection_finish",
    "pytest_collection_modifyitems",
    "pytest_configure",
    "pytest_generate_tests",
    "pytest_pyfunc_call",
    "pytest_runtest_call",
    "pytest_runtest_logfinish",
    "pytest_runtest_logstart",
    "pytest_runtest_makereport",
    "pytest_runtest_teardown",
    "pytest_sessionfinish",
    "pytest_terminal_summary",
]

_MARKER = "workerkit_contract"
LANES_INI = "workerkit_child_processes"
# Two: the isolated cases mostly wait, so two children keep a 2-core machine busy.
DEFAULT_LANES = 2


def pytest_addoption(parser: pytest.Parser) -> None:
    """Declare the ini option for how many child pytests run isolated cases at once."""
    parser.addini(
        LANES_INI,
        "how many child pytests run isolated cases (legacy contract cases) at once",
        default=str(DEFAULT_LANES),
    )


def _lanes(config: pytest.Config) -> int:
    value = str(config.getini(LANES_INI)).strip()
    if not value.isdigit() or int(value) < 1:
        raise pytest.UsageError(
            f"{LANES_INI} = {value!r}: give a whole number of child processes, 1 or more "
            f"(the default is {DEFAULT_LANES})."
        )
    return int(value)


def pytest_configure(config: pytest.Config) -> None:
    """Register the plugin's markers."""
    config.addinivalue_line(
        "markers", f"{_MARKER}(kind, stack): a workerkit contract case of one kind on one stack"
    )
    config.addinivalue_line(
        "markers",
        f"{isolation.MARKER}(child=None): run this test in a child pytest, where a hang or "
        "a crash is its result (for tests that drive a legacy stack); the tests of a folder "
        "share a child, those given a child='name' share one of their own",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize the cases of a ContractSuite subclass over (kind, stack)."""
    if "contract_kind" not in metafunc.fixturenames:
        return
    from workerkit.testing._cases import contract_of

    contract = contract_of(metafunc.cls)
    if contract is None:
        raise pytest.UsageError(
            f"{metafunc.cls.__name__ if metafunc.cls else metafunc.function.__name__} uses the "
            "workerkit contract cases without a contract: subclass ContractSuite and set "
            "contract = Contract(app, quick=..., long=...)."
        )
    params = [
        pytest.param(str(kind), stack, marks=pytest.mark.workerkit_contract(str(kind), stack))
        for kind in contract.app.names
        for stack in contract.labels
    ]
    ids = [f"{p.values[0]}-{p.values[1]}" for p in params]
    metafunc.parametrize(("contract_kind", "contract_stack"), params, ids=ids)


@pytest.fixture
def contract_harness(
    request: pytest.FixtureRequest,
    qtbot: Any,
    tmp_path: Path,
    contract_kind: str,
    contract_stack: str,
) -> Iterator[Any]:
    """Return the harness of one contract case: a fresh JobService routed to one stack."""
    from workerkit.testing._cases import contract_of
    from workerkit.testing._harness import Harness

    contract = contract_of(request.cls)
    assert contract is not None
    harness = Harness(contract, contract_kind, contract_stack, request, qtbot, tmp_path)
    try:
        yield harness
    finally:
        harness.close()


# --- isolation -------------------------------------------------------------------------


def _isolated(item: pytest.Item) -> bool:
    if item.get_closest_marker(isolation.MARKER) is not None:
        return True
    contract = item.get_closest_marker(_MARKER)
    return contract is not None and contract.args[1] == "legacy"


def _batch_key(item: pytest.Item, root: Path) -> str:
    """Name the batch of an isolated case: its folder, and its own child's name if it has one.

    A long case that mostly waits can take a child of its own (``child="name"``), so that
    it runs beside its folder's other cases instead of after them.
    """
    folder = item.path.parent
    key = f"{folder.relative_to(root)}/" if folder.is_relative_to(root) else str(folder)
    # Any of its markers may name the child: a hook may add a plain one closer to the test.
    names = (m.kwargs["child"] for m in item.iter_markers(isolation.MARKER) if "child" in m.kwargs)
    child = next(names, None)
    return key if child is None else f"{key} ({child})"


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Replay the isolated cases after the parent's own, and lift their per-test timeout.

    Their children run in the background from the start of the run: with the parent's
    own cases first, the parent waits for a child's result only once it has nothing
    else to run, instead of at each isolated case it reaches. Their children keep the
    per-test timeout.
    """
    if isolation.in_child():
        return
    own: list[pytest.Item] = []
    isolated: list[pytest.Item] = []
    for item in items:
        (isolated if _isolated(item) else own).append(item)
    for item in isolated:
        item.stash[isolation.TIMEOUT_KEY] = isolation.case_timeout(item)
        item.add_marker(pytest.mark.timeout(0), append=False)
    items[:] = own + isolated


_RUNNER = pytest.StashKey[isolation.Runner]()


def pytest_collection_finish(session: pytest.Session) -> None:
    """Group the isolated cases of each folder (or named child) into a batch; start them now."""
    if isolation.in_child() or session.config.option.collectonly:
        return
    groups: dict[str, list[pytest.Item]] = {}
    for item in session.items:
        if _isolated(item):
            groups.setdefault(_batch_key(item, session.config.rootpath), []).append(item)
    batches = [isolation.Batch(key, items, session.config) for key, items in groups.items()]
    for batch in batches:
        for item in batch.items:
            item.stash[isolation.BATCH_KEY] = batch
    runner = session.config.stash[_RUNNER] = isolation.Runner(batches, _lanes(session.config))
    runner.start()


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """Say, per batch of isolated cases, how many children it took and how long it ran."""
    runner = config.stash.get(_RUNNER, None)
    if runner is None or not runner.batches:
        return
    lanes = isolation.child_processes(runner.lanes)
    terminalreporter.write_sep("-", f"isolated cases ({lanes} at once)")
    for batch in runner.batches:
        terminalreporter.write_line(batch.describe())


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Kill a child still running (the run stopped early); note the contract results."""
    runner = session.config.stash.get(_RUNNER, None)
    if runner is not None:
        runner.stop()
    results = session.config.stash.get(_RESULTS, None)
    cache = getattr(session.config, "cache", None)
    if results and cache is not None:
        stored = cache.get(CONTRACT_CACHE, {})
        stamp = {"epoch": time.time(), "time": time.strftime("%Y-%m-%d %H:%M:%S")}
        stored.update({key: {**counts, **stamp} for key, counts in results.items()})
        cache.set(CONTRACT_CACHE, stored)


# --- what the checklist reads -------------------------------------------------------------

CONTRACT_CACHE = "workerkit/contract"
"""The key in pytest's cache of the last contract outcomes, per ``kind/stack``."""
_RESULTS = pytest.StashKey[dict[str, dict[str, int]]]()


def _count(item: pytest.Item, report: pytest.TestReport) -> None:
    """Count one contract case's outcome under its ``kind/stack`` for the checklist."""
    marker = item.get_closest_marker(_MARKER)
    if marker is None:
        return
    results = item.config.stash.setdefault(_RESULTS, {})
    counts = results.setdefault(f"{marker.args[0]}/{marker.args[1]}", {})
    outcome = "skipped" if report.skipped else report.outcome
    counts[outcome] = counts.get(outcome, 0) + 1


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Replay an isolated case's outcome from its child instead of running it here."""
    batch = pyfuncitem.stash.get(isolation.BATCH_KEY, None)
    if batch is None:
        return None
    batch.replay(pyfuncitem)
    return True


def pytest_runtest_logstart(nodeid: str) -> None:
    """In a child, note that a case starts (the parent's watchdog times it from here)."""
    if isolation.in_child():
        isolation.write_start(nodeid)


def pytest_runtest_logfinish() -> None:
    """In a child, end the process after a case that left it unfit for the next one."""
    if isolation.in_child():
        isolation.case_finished()


# --- reports ---------------------------------------------------------------------------


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item: pytest.Item) -> None:
    """Close a case's harness before any fixture goes away.

    A sample's fixtures (a store, a server) are requested during the case, so pytest
    would tear them down before the harness; a legacy job thread still using one would
    then crash the process.
    """
    harness = getattr(item, "funcargs", {}).get("contract_harness")
    if harness is not None:
        harness.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """End a legacy contract case that the stack failed as an expected failure of it."""
    try:
        yield
    except isolation.STACK_FAILURES as error:
        if isolation.in_child() or not _fails_as_expected(item):
            raise
        # A broken sample or test (TypeError, NameError, ...) is no defect of the legacy
        # stack: only STACK_FAILURES get here.
        pytest.xfail(f"legacy stack: {_first_line(error)}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Count each contract case's outcome; in a child, note each phase's own result instead."""
    report = yield
    if isolation.in_child():
        isolation.write_phase(item, call.when, call.excinfo)
        return report
    if item.get_closest_marker(_MARKER) is not None and (call.when == "call" or report.failed):
        _count(item, report)
    return report


def _fails_as_expected(item: pytest.Item) -> bool:
    """Return True for a legacy case of a contract whose legacy failures are expected."""
    from workerkit.testing._cases import contract_of

    marker = item.get_closest_marker(_MARKER)
    contract = contract_of(getattr(item, "cls", None))
    return (
        marker is not None
        and marker.args[1] == "legacy"
        and contract is not None
        and contract.legacy_failures == "xfail"
    )


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0][:200] if text else type(error).__name__
