"""The contract suite as a pytest plugin (entry point ``pytest11``: ``workerkit``).

A test module subclasses ``workerkit.testing.ContractSuite`` with a ``contract``; this
plugin runs each case for every declared kind on every stack of the contract, and
reports a legacy case that fails as an expected failure of the legacy stack.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest
from pluggy import Result

__all__ = [
    "contract_harness",
    "pytest_configure",
    "pytest_generate_tests",
    "pytest_runtest_teardown",
]

_MARKER = "workerkit_contract"
# What a stack's misbehaviour raises: a failed check, a refused start, a wait that ran out.
_STACK_FAILURES = (AssertionError, RuntimeError, TimeoutError)


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker the plugin puts on every contract case."""
    config.addinivalue_line(
        "markers", f"{_MARKER}(kind, stack): a workerkit contract case of one kind on one stack"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize the cases of a ContractSuite subclass over (kind, stack)."""
    if "contract_kind" not in metafunc.fixturenames:
        return
    from workerkit.testing.cases import contract_of

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
    from workerkit.testing.cases import contract_of
    from workerkit.testing.harness import Harness
    from workerkit.testing.keepalive import legacy_workers_kept

    contract = contract_of(request.cls)
    assert contract is not None
    # A legacy job that ends before its start returns can crash the process (keepalive).
    with legacy_workers_kept():
        harness = Harness(contract, contract_kind, contract_stack, request, qtbot, tmp_path)
        try:
            yield harness
        finally:
            harness.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, None, None]:
    """Close a case's harness before any fixture goes away.

    A sample's fixtures (a store, a server) are requested during the case, so pytest
    would tear them down before the harness; a legacy job thread still using one would
    then crash the process.
    """
    harness = getattr(item, "funcargs", {}).get("contract_harness")
    if harness is not None:
        harness.close()
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Result[pytest.TestReport], None]:
    """Report a failing legacy contract case as an expected failure of the legacy stack."""
    outcome = yield
    report = outcome.get_result()
    marker = item.get_closest_marker(_MARKER)
    if marker is None or call.when != "call" or not report.failed:
        return
    from workerkit.testing.cases import contract_of
    from workerkit.testing.child import in_child

    contract = contract_of(getattr(item, "cls", None))
    if marker.args[1] != "legacy" or contract is None or contract.legacy_failures != "xfail":
        return
    if in_child():
        return  # the parent reports it, from the child's exit status
    # A broken sample or test (TypeError, NameError, ...) is no defect of the legacy stack.
    if call.excinfo is None or not call.excinfo.errisinstance(_STACK_FAILURES):
        return
    report.outcome = "skipped"
    report.wasxfail = f"legacy stack: {_first_line(call)}"


def _first_line(call: pytest.CallInfo[None]) -> str:
    if call.excinfo is None:
        return "failed"
    text = str(call.excinfo.value).strip().splitlines()
    return text[0][:200] if text else call.excinfo.typename
