"""The quick subset of this repository's tests: ``pytest -m "not slow"``.

Every test that drives a legacy stack (each one starts a child pytest), the contract
and fault suites, and the files that build packages, run benchmarks or run pytest
inside pytest are marked ``slow`` here; what is left checks the toolkit's own code on
the simplified stack and the tools' logic, in well under two minutes.
"""

from __future__ import annotations

import pytest

# Folders whose every test is slow: the contract and fault suites (recorded scenarios,
# slow inputs, both stacks).
SLOW_FOLDERS: tuple[str, ...] = ("tests/contract/", "tests/faults/")
# Files that build wheels, run the benchmarks, or run pytest or a command in a child.
SLOW_FILES: frozenset[str] = frozenset(
    {
        "tests/test_wheel.py",
        "tests/test_compare.py",
        "tests/test_compare_peer.py",
        "tests/test_isolation.py",
        "tests/test_user_guide.py",
        "tests/test_state_machine.py",
        "tests/simplified/test_cancel_mid_decode.py",
        "examples/manager_app/tests/test_contract.py",
        "examples/numbers_app/tests/test_contract.py",
    }
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the slow tests ``slow`` (see the module docstring)."""
    slow = pytest.mark.slow
    for item in items:
        path = item.nodeid.split("::", 1)[0]
        if path.startswith(SLOW_FOLDERS) or path in SLOW_FILES or _drives_legacy(item):
            item.add_marker(slow)


def _drives_legacy(item: pytest.Item) -> bool:
    """Return True for a test run in a child pytest: a legacy parameter or an isolated test."""
    if item.get_closest_marker("workerkit_isolated") is not None:
        return True
    callspec = getattr(item, "callspec", None)
    return callspec is not None and "legacy" in map(str, callspec.params.values())
