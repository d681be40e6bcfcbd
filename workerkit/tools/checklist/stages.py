"""The app's migration stages: which they are, and each one's gates and claim."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from workerkit._app import App, Stage, Suite
from workerkit.flags import Flag
from workerkit.tools.checklist.benchmark import check_benchmark
from workerkit.tools.checklist.evidence import Evidence
from workerkit.tools.checklist.gates import (
    Gate,
    check_contract,
    check_flag,
    check_no_legacy_route,
    check_shadow,
    check_suite,
)
from workerkit.tools.checklist.options import CONTRACT_DIR

__all__ = ["StageResult", "check_stages", "contract_suite", "default_stages", "stages_of"]


@dataclass(frozen=True, slots=True)
class StageResult:
    """One stage's checked gates, and whether the project claims to have reached it."""

    spec: Stage
    gates: tuple[Gate, ...]
    claimed: bool

    @property
    def passed(self) -> bool:
        """Return True when every gate of the stage passed."""
        return all(gate.passed for gate in self.gates)


def stages_of(app: App) -> tuple[Stage, ...]:
    """Return the app's declared stages, or ``default_stages`` when it declares none."""
    return app.stages or default_stages(app)


def default_stages(app: App) -> tuple[Stage, ...]:
    """Return one stage per declared kind, in order, then one that removes legacy."""
    per_kind = tuple(
        Stage(number, f"migrate {name}", kinds=(name,))
        for number, name in enumerate(app.names, start=1)
    )
    last = Stage(len(per_kind) + 1, "removal of the legacy stack", removes_legacy=True)
    return (*per_kind, last)


def contract_suite(kind: str, paths: Sequence[str] = (CONTRACT_DIR,)) -> Suite:
    """Return the simplified-stack part of the contract suite for ``kind``."""
    name = str(kind)  # a kind's name may be a StrEnum member; the words are plain text
    return Suite(f"{name} contract", tuple(paths), ("simplified", name))


def check_stages(evidence: Evidence) -> tuple[StageResult, ...]:
    """Check every stage of the evidence's app, in order."""
    routes = [check_no_legacy_route(evidence, kind) for kind in evidence.app.names]
    return tuple(
        StageResult(stage, _check_stage(evidence, stage, routes), _claims(evidence, stage, routes))
        for stage in stages_of(evidence.app)
    )


def _check_stage(evidence: Evidence, spec: Stage, routes: list[Gate]) -> tuple[Gate, ...]:
    gates: list[Gate] = []
    contract = evidence.options.contract_tests
    for kind in spec.kinds:
        gates.append(check_flag(evidence, kind))
        gates.append(check_contract(evidence, contract_suite(kind, contract)))
        gates.append(check_benchmark(evidence, kind))
        if evidence.app.kind(kind).shadowable:
            gates.append(check_shadow(evidence, kind))
    if spec.removes_legacy:
        gates += routes
    gates += [check_benchmark(evidence, worker) for worker in spec.workers]
    gates += [check_suite(evidence, suite) for suite in spec.suites]
    return tuple(gates)


def _claims(evidence: Evidence, spec: Stage, routes: list[Gate]) -> bool:
    # A stage that migrates kinds is claimed by switching one of them; a stage that
    # migrates none (the last, usually) once no kind can reach legacy any more.
    if spec.kinds:
        return any(_is_simplified(evidence.flag(kind)) for kind in spec.kinds)
    return all(gate.passed for gate in routes)


def _is_simplified(flag: Flag | str) -> bool:
    return isinstance(flag, Flag) and flag.value == "simplified"
