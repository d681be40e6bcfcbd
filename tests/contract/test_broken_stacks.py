"""Test the tests: the contract plugin catches each deliberately broken stack.

A child pytest runs every contract case on the simplified stack and on stacks that each
break one guarantee (``broken_app.py``); this test reads its report, prints which case
caught which breakage, and fails if a breakage went uncaught or the sound stack failed
a case.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from xml.etree import ElementTree

import pytest

from workerkit.testing import ContractSuite

from .broken_app import BROKEN

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
CASE = re.compile(r"^(?P<case>test_contract_\w+)\[(?P<kind>\w+)-(?P<stack>\w+)\]$")

CASES = [name for name in dir(ContractSuite) if name.startswith("test_contract_")]

pytestmark = [pytest.mark.timeout(600), pytest.mark.slow]


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    """Run the plugin on the broken stacks; return {stack: {case: passed|failed|skipped}}."""
    report = tmp_path_factory.mktemp("broken") / "report.xml"
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=",
         f"--junitxml={report}", str(HERE / "broken_app.py")],
        cwd=ROOT, capture_output=True, text=True, timeout=540,
    )  # fmt: skip
    found: dict[str, dict[str, str]] = defaultdict(dict)
    for case in ElementTree.parse(report).getroot().iter("testcase"):
        match = CASE.match(case.get("name", ""))
        if match is None:
            continue
        tags = {child.tag for child in case}
        state = (
            "failed"
            if tags & {"failure", "error"}
            else "skipped"
            if "skipped" in tags
            else "passed"
        )
        # A case runs once per kind: it failed if it failed for any kind.
        seen = found[match["stack"]].get(match["case"], "skipped")
        found[match["stack"]][match["case"]] = max(seen, state, key=_RANK.__getitem__)
    return found


_RANK = {"skipped": 0, "passed": 1, "failed": 2}


def test_broken_stacks_each_caught_by_a_contract_case(
    outcomes: dict[str, dict[str, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    table = ["", "broken stack            cases that caught it"]
    for stack in BROKEN:
        caught = sorted(case for case, state in outcomes[stack].items() if state == "failed")
        short = ", ".join(c.removeprefix("test_contract_") for c in caught) or "NONE"
        table.append(f"{stack:<23} {short}")
    with capsys.disabled():
        print("\n".join(table))
    uncaught = [s for s in BROKEN if "failed" not in outcomes[s].values()]
    assert not uncaught, f"no contract case caught: {uncaught}\n" + "\n".join(table)


def test_broken_stacks_sound_stack_passes_every_case(outcomes: dict[str, dict[str, str]]) -> None:
    sound = outcomes["simplified"]
    # Every case ran for at least one kind: none was skipped for all of them.
    assert set(sound) == set(CASES), sorted(set(CASES) ^ set(sound))
    assert {case: state for case, state in sound.items() if state != "passed"} == {}
