"""The facts the gates decide on, each gathered once: flags, tests, compare runs, shadow log."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workerkit._app import App, Suite
from workerkit._shadow_log import read_numbered_shadow_log
from workerkit.flags import Flag, FlagError, default_flags, env_var, resolve_flags
from workerkit.tools.checklist.compare_runs import (
    CompareRun,
    compare_candidates,
    find_compare,
    run_compare,
)
from workerkit.tools.checklist.config import Budgets
from workerkit.tools.checklist.jsonfile import read_json_object
from workerkit.tools.checklist.options import Options
from workerkit.tools.checklist.sources import newer_source
from workerkit.tools.checklist.suites import SuiteRecord, cached_suite, run_suite

__all__ = ["Evidence"]


@dataclass(slots=True)
class Evidence:
    """Gather each fact once: the flags, the compare runs, the suite results, the shadow log."""

    options: Options
    app: App
    budgets: Budgets
    watched: tuple[Path, ...] = ()
    _flags: dict[str, Flag] | None = None
    _flag_error: str | None = None
    _compare_runs: dict[str, CompareRun | str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        try:
            self._flags = resolve_flags(
                self.app,
                env=self.options.environment(),
                toml_path=self.options.config,
                cwd=Path.cwd(),
            )
        except FlagError as exc:
            self._flag_error = str(exc)

    def flag(self, kind: str) -> Flag | str:
        """Return the kind's effective flag, or why the flags cannot be read."""
        return self._flag_error or (self._flags or {})[kind]

    def routes(self, kind: str) -> list[tuple[str, str]]:
        """Return each source that decides ``kind``'s stack, with the stack it names.

        Each configuration source is read on its own, so a lower one hidden by a higher
        one still shows. A JobService routes the kinds a partial stacks mapping leaves
        out by the app's default_stack too, so that source covers it.
        """
        routes = [("the app's default_stack", default_flags(self.app)[kind].value)]
        flag = self.flag(kind)
        if isinstance(flag, str):
            return [*routes, ("the flag sources", f"nothing readable ({flag})")]
        env_value = self.options.environment().get(env_var(kind), "").strip()
        if env_value:
            routes.append((f"environment {env_var(kind)}", env_value.lower()))
        toml = resolve_flags(self.app, env={}, toml_path=self.options.config, cwd=Path.cwd())
        if toml[kind].source != "default":
            routes.append((toml[kind].source, toml[kind].value))
        return routes

    def compare_run(self, worker: str) -> CompareRun | str:
        """Return the compare run that measured ``worker``, or why there is none."""
        if worker not in self._compare_runs:
            self._compare_runs[worker] = (
                run_compare(self.options, worker)
                if self.options.run
                else find_compare(compare_candidates(self.options, worker), worker)
            )
        return self._compare_runs[worker]

    def suite(self, suite: Suite) -> SuiteRecord | None:
        """Return the suite's result: run now with --run, else cached (None: never run)."""
        if self.options.run:
            return run_suite(self.options, suite)
        return cached_suite(self.options, suite)

    def changed_since(self, epoch: float) -> str | None:
        """Return the first watched source file changed after ``epoch``, if any."""
        return newer_source(self.options.root, self.watched, epoch)

    def contract_record(self, kind: str) -> dict[str, Any] | None:
        """Return the contract outcomes of ``kind`` on simplified from pytest's cache, if any.

        The contract plugin keeps them in ``.pytest_cache`` after every pytest run that ran
        contract cases, so the command the checklist prints counts when run by hand.
        """
        from workerkit.testing.plugin import CONTRACT_CACHE

        path = self.options.root / ".pytest_cache" / "v" / CONTRACT_CACHE
        record = read_json_object(path).get(f"{kind}/simplified") if path.is_file() else None
        return record if isinstance(record, dict) else None

    def shadow_records(self, kind: str) -> list[tuple[int, dict[str, Any]]]:
        """Return the shadow log's records of ``kind`` with their line numbers.

        Raises:
            ValueError: A line of the log is broken; the message names the file and line.
        """
        records = read_numbered_shadow_log(self.options.shadow_log)
        return [(number, record) for number, record in records if record["kind"] == kind]
