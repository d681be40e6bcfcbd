"""Test the tests: the contract plugin catches each deliberately broken stack.

A child pytest (pytester, in a subprocess: the plugin starts child pytests of its own)
runs every contract case on the simplified stack and on stacks that each break one
guarantee (``broken_app.py``); these tests read its report, print which case caught
which breakage, and fail if a breakage went uncaught or the sound stack failed a case.

The child run takes minutes of mostly waiting, so these tests are isolated: they run in
the plugin's background children beside the rest of the suite, and the child pytest
starts in the test body (a fixture would also run in the parent, which only replays).
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import pytest

from workerkit.testing import ContractSuite

from .broken_app import BROKEN

HERE = Path(__file__).parent
# A line of the child's -rA summary: "PASSED <file>::<class>::<case>[<kind>-<stack>]".
CASE = re.compile(
    r"^(?P<state>PASSED|FAILED|ERROR) \S+::(?P<case>test_contract_\w+)"
    r"\[(?P<kind>\w+)-(?P<stack>\w+)\]"
)
CASES = [name for name in dir(ContractSuite) if name.startswith("test_contract_")]
_RANK = {"skipped": 0, "passed": 1, "failed": 2}

# A child of its own: its three minutes of waiting run beside the folder's other cases.
pytestmark = [
    pytest.mark.timeout(600),
    pytest.mark.slow,
    pytest.mark.workerkit_isolated(child="broken_stacks"),
]

Outcomes = dict[str, dict[str, str]]


@pytest.fixture(scope="module")
def _child_runs() -> dict[str, pytest.RunResult]:
    """Keep the child run of the module: both tests read the one run."""
    return {}


def _outcomes(pytester: pytest.Pytester, runs: dict[str, pytest.RunResult]) -> Outcomes:
    """Run the plugin on the broken stacks; return {stack: {case: passed|failed|skipped}}."""
    if "broken" not in runs:
        runs["broken"] = pytester.runpytest_subprocess(
            "-p", "no:cacheprovider", "-rA", str(HERE / "broken_app.py"), timeout=540
        )
    result = runs["broken"]
    assert result.ret == pytest.ExitCode.TESTS_FAILED, "\n".join(result.outlines[-30:])
    found: Outcomes = defaultdict(lambda: dict.fromkeys(CASES, "skipped"))
    lines = 0
    for match in filter(None, map(CASE.match, result.outlines)):
        lines += 1
        state = "passed" if match["state"] == "PASSED" else "failed"
        # A case runs once per kind: it failed if it failed for any kind.
        seen = found[match["stack"]][match["case"]]
        found[match["stack"]][match["case"]] = max(seen, state, key=_RANK.__getitem__)
    # Every case that ran has its summary line: none was left out of the table.
    tally = result.parseoutcomes()
    assert lines == sum(tally.get(state, 0) for state in ("passed", "failed", "errors")), tally
    return found


def test_broken_stacks_each_caught_by_a_contract_case(
    pytester: pytest.Pytester,
    _child_runs: dict[str, pytest.RunResult],
    capsys: pytest.CaptureFixture[str],
) -> None:
    outcomes = _outcomes(pytester, _child_runs)
    table = ["", "broken stack            cases that caught it"]
    for stack in BROKEN:
        caught = sorted(case for case, state in outcomes[stack].items() if state == "failed")
        short = ", ".join(c.removeprefix("test_contract_") for c in caught) or "NONE"
        table.append(f"{stack:<23} {short}")
    with capsys.disabled():
        print("\n".join(table))
    uncaught = [s for s in BROKEN if "failed" not in outcomes[s].values()]
    assert not uncaught, f"no contract case caught: {uncaught}\n" + "\n".join(table)


def test_broken_stacks_sound_stack_passes_every_case(
    pytester: pytest.Pytester, _child_runs: dict[str, pytest.RunResult]
) -> None:
    outcomes = _outcomes(pytester, _child_runs)
    # Every case passed for at least one kind, and failed for none.
    sound = outcomes["simplified"]
    assert {case: state for case, state in sound.items() if state != "passed"} == {}
