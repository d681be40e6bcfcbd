"""Decide the gates of a kind or stage: flag, test suite, contract, shadow log, legacy route.

The benchmark gate, which weighs compare rows against budgets, is ``benchmark``'s.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from workerkit import _stacks as stacks
from workerkit._app import Suite
from workerkit.flags import CONFIG_FILE, Flag, env_var
from workerkit.tools.checklist.evidence import Evidence
from workerkit.tools.checklist.suites import SuiteRecord

__all__ = [
    "Gate",
    "Status",
    "check_contract",
    "check_flag",
    "check_no_legacy_route",
    "check_shadow",
    "check_suite",
]


class Status(StrEnum):
    """Say how a gate came out; only ``pass`` counts as passed."""

    PASS = "pass"
    FAIL = "fail"
    NOT_RUN = "not run"


@dataclass(frozen=True, slots=True)
class Gate:
    """One checked gate: its name, its status and the evidence or the reason it failed."""

    name: str
    status: Status
    detail: str

    @property
    def passed(self) -> bool:
        """Return True when the gate passed."""
        return self.status is Status.PASS


def check_flag(evidence: Evidence, kind: str) -> Gate:
    """Pass when ``kind``'s effective flag is simplified (shadow does not count)."""
    name = f"{kind} flag"
    flag = evidence.flag(kind)
    if isinstance(flag, str):
        return Gate(name, Status.FAIL, f"the flags cannot be read: {flag}")
    if flag.value == "simplified":
        return Gate(name, Status.PASS, f"simplified ({flag.source})")
    return Gate(name, Status.FAIL, _flag_reason(flag, evidence.options.config))


def _flag_reason(flag: Flag, config: Path | None) -> str:
    kind, env = flag.kind, env_var(flag.kind)
    toml = str(config) if config is not None else CONFIG_FILE
    served = "; shadow mode still serves legacy results" if flag.value == "shadow" else ""
    if flag.source.startswith("environment"):
        fix = f"set {env}=simplified (the environment overrides {toml})"
    else:
        fix = f'set {env}=simplified or [workers] {kind} = "simplified" in {toml}'
    return f"flag {kind} is {flag.value} ({flag.source}){served}; {fix}"


def check_suite(evidence: Evidence, suite: Suite) -> Gate:
    """Pass when the suite's selected tests passed: run now with --run, else from the cache."""
    record = evidence.suite(suite)
    if record is None:
        return Gate(
            suite.name,
            Status.NOT_RUN,
            f"not run; run `workerkit checklist --run` or `{suite.command()}`",
        )
    changed = None if evidence.options.run else evidence.changed_since(record.epoch)
    if changed is not None:
        return Gate(
            suite.name,
            Status.NOT_RUN,
            f"the cached run of {record.time} is older than {changed}; "
            "rerun with `workerkit checklist --run`",
        )
    return _suite_gate(suite, record, cached=not evidence.options.run)


def _suite_gate(suite: Suite, record: SuiteRecord, *, cached: bool) -> Gate:
    when = f"{'cached run' if cached else 'run'} of {record.time}"
    if record.error:
        return Gate(suite.name, Status.FAIL, f"{record.error} ({when})")
    if record.exit_code == 0 and record.failed == 0 and record.passed > 0:
        return Gate(suite.name, Status.PASS, f"{record.counts()} ({when}: {suite.command()})")
    return Gate(
        suite.name,
        Status.FAIL,
        f"{suite.command()} exited {record.exit_code}: {record.counts()} ({when}); {record.tail}",
    )


def check_contract(evidence: Evidence, suite: Suite) -> Gate:
    """Pass when the kind's simplified contract cases passed.

    Read from a --run, from the checklist's cache, or from the last pytest run that ran
    them (pytest's cache, ``workerkit/contract``): the printed command counts when run.
    """
    gate = check_suite(evidence, suite)
    if gate.status is not Status.NOT_RUN or evidence.options.run:
        return gate
    record = evidence.contract_record(suite.words[-1])
    return gate if record is None else _contract_gate(evidence, suite, record)


def _contract_gate(evidence: Evidence, suite: Suite, record: Mapping[str, Any]) -> Gate:
    changed = evidence.changed_since(record.get("epoch", 0.0))
    if changed is not None:
        return Gate(
            suite.name,
            Status.NOT_RUN,
            f"the last pytest run of its contract cases ({record.get('time')}) is older than "
            f"{changed}; run `{suite.command()}` again",
        )
    passed, failed = record.get("passed", 0), record.get("failed", 0)
    counts = f"{passed} passed, {failed} failed, {record.get('skipped', 0)} skipped"
    status = Status.PASS if passed and not failed else Status.FAIL
    return Gate(suite.name, status, f"{counts} (pytest run of {record.get('time')})")


def check_shadow(evidence: Evidence, kind: str) -> Gate:
    """Pass when the shadow log compared enough ``kind`` requests and none mismatched."""
    name = f"{kind} shadow"
    path, needed = evidence.options.shadow_log, evidence.budgets.min_compared
    if not path.is_file():
        return Gate(
            name,
            Status.FAIL,
            f"no shadow log at {path}; run {kind} with {env_var(kind)}=shadow "
            f"for at least {needed} requests",
        )
    try:
        records = evidence.shadow_records(kind)
    except ValueError as exc:
        return Gate(name, Status.FAIL, str(exc))
    mismatches = [(n, r) for n, r in records if not r["match"]]
    if mismatches:
        line, first = mismatches[0]
        differences = "; ".join(first.get("differences", [])[:2]) or "no differences recorded"
        return Gate(
            name,
            Status.FAIL,
            f"{len(mismatches)} of {len(records)} compared {kind} requests mismatched; "
            f"first at {path} line {line}: {differences}",
        )
    if len(records) < needed:
        return Gate(
            name,
            Status.FAIL,
            f"only {len(records)} compared {kind} requests in {path}, {needed} needed; "
            f"keep {env_var(kind)}=shadow longer",
        )
    return Gate(name, Status.PASS, f"{len(records)} compared, 0 mismatches ({path})")


def check_no_legacy_route(evidence: Evidence, kind: str) -> Gate:
    """Pass when nothing configured or built in can send a ``kind`` job to the legacy stack."""
    name = f"{kind} cannot reach legacy"
    if "legacy" not in stacks.STACKS:
        return Gate(
            name, Status.PASS, "the legacy stack is no longer registered in workerkit._stacks"
        )
    routes = evidence.routes(kind)
    legacy = [f"{source} says {value}" for source, value in routes if value != "simplified"]
    if legacy:
        return Gate(
            name,
            Status.FAIL,
            f"{kind} can still run on legacy: {'; '.join(legacy)}. Declare "
            'App(..., default_stack="simplified") and make every flag source that names '
            "legacy say simplified (or drop it)",
        )
    sources = ", ".join(source for source, _ in routes)
    return Gate(name, Status.PASS, f"every source says simplified: {sources}")
