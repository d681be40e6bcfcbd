"""Per-worker feature flags: which stack each kind of job runs on, and where that was decided.

Sources, highest first: the runtime API (``WorkerService.set_backend``), command-line
options, environment variables, the ``[workers]`` table of a TOML file, the default.
No Qt here: the CLI imports this module to print the flags without starting Qt.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workerkit.kinds import READ_ONLY_KINDS, Kind

__all__ = [
    "CONFIG_FILE",
    "DEFAULT_VALUE",
    "ENV_VARS",
    "FLAG_VALUES",
    "RUNTIME_SOURCE",
    "Flag",
    "FlagError",
    "add_command",
    "add_flag_options",
    "config_from_args",
    "default_flags",
    "flags_from_args",
    "format_flags",
    "make_flag",
    "resolve_flags",
]

FLAG_VALUES: tuple[str, ...] = ("legacy", "simplified", "shadow")
DEFAULT_VALUE = "legacy"
CONFIG_FILE = "workerkit.toml"
RUNTIME_SOURCE = "runtime set_backend"
ENV_VARS: dict[Kind, str] = {kind: f"WORKERKIT_{kind.value.upper()}" for kind in Kind}

_TABLE = "workers"
_TOML_LINE = re.compile(r"line (\d+)")


class FlagError(ValueError):
    """A flag names an unknown kind or value, or asks for shadow mode on a kind that writes."""


@dataclass(frozen=True, slots=True)
class Flag:
    """Say which value one kind's flag has and which source set it."""

    kind: Kind
    value: str
    source: str


def make_flag(kind: Kind | str, value: str, source: str) -> Flag:
    """Return the checked flag, or raise FlagError naming ``source`` and the allowed values."""
    kind = _parse_kind(kind, source)
    normalised = value.strip().lower() if isinstance(value, str) else value
    if normalised not in FLAG_VALUES:
        raise FlagError(
            f"Invalid value {value!r} for the {kind.value} flag ({source}): "
            f"expected one of {', '.join(FLAG_VALUES)}."
        )
    if normalised == "shadow" and kind not in READ_ONLY_KINDS:
        raise FlagError(
            f"The {kind.value} flag ({source}) is 'shadow', but shadow mode runs every job twice "
            f"and {kind.value} writes to the database; use legacy or simplified "
            f"(shadow is allowed for {', '.join(sorted(READ_ONLY_KINDS))})."
        )
    return Flag(kind, normalised, source)


def default_flags() -> dict[Kind, Flag]:
    """Return every kind's default flag."""
    return {kind: Flag(kind, DEFAULT_VALUE, "default") for kind in Kind}


def resolve_flags(
    *,
    cli: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
    toml_path: Path | None = None,
    cwd: Path | None = None,
) -> dict[Kind, Flag]:
    """Return each kind's flag from the CLI, environment, TOML file and defaults, highest first."""
    flags = default_flags()
    flags.update(_from_toml(toml_path, cwd))
    flags.update(_from_env(os.environ if env is None else env))
    flags.update(_from_cli(cli or {}))
    return flags


def _parse_kind(kind: Kind | str, source: str) -> Kind:
    if isinstance(kind, Kind):
        return kind
    try:
        return Kind.parse(kind)
    except ValueError:
        allowed = ", ".join(k.value for k in Kind)
        raise FlagError(
            f"Unknown worker kind {kind!r} ({source}): expected one of {allowed}."
        ) from None


def _from_cli(cli: Mapping[str, str]) -> dict[Kind, Flag]:
    flags: dict[Kind, Flag] = {}
    for key, value in cli.items():
        option = f"--{key.strip().lower()}"
        kind = _parse_kind(key, f"command line {option}")
        flags[kind] = make_flag(kind, value, f"command line --{kind.value}")
    return flags


def _from_env(env: Mapping[str, str]) -> dict[Kind, Flag]:
    # An empty variable counts as unset, the way shells clear one with `VAR=`.
    return {
        kind: make_flag(kind, env[name], f"environment {name}")
        for kind, name in ENV_VARS.items()
        if env.get(name, "").strip()
    }


def _from_toml(toml_path: Path | None, cwd: Path | None) -> dict[Kind, Flag]:
    if toml_path is None:
        path = (cwd or Path.cwd()) / CONFIG_FILE
        if not path.is_file():
            return {}
        label = CONFIG_FILE
    else:
        path, label = Path(toml_path), str(toml_path)
    table = _read_table(path, label)
    return {
        _parse_kind(key, f"{label} [{_TABLE}] {key}"): _toml_flag(key, value, label)
        for key, value in table.items()
    }


def _toml_flag(key: str, value: Any, label: str) -> Flag:
    source = f"{label} [{_TABLE}] {key}"
    if not isinstance(value, str):
        raise FlagError(
            f"Invalid value {value!r} for the {key} flag ({source}): expected a string, "
            f"one of {', '.join(FLAG_VALUES)}."
        )
    return make_flag(key, value, source)


def _read_table(path: Path, label: str) -> dict[str, Any]:
    try:
        with path.open("rb") as file:
            document = tomllib.load(file)
    except FileNotFoundError:
        raise FlagError(
            f"The flag file {label} does not exist; create it with a [{_TABLE}] table "
            "or pass another path."
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise FlagError(_syntax_message(label, exc)) from None
    table = document.get(_TABLE, {})
    if not isinstance(table, dict):
        raise FlagError(
            f"{label}: '{_TABLE}' must be a table ([{_TABLE}] with kind = \"value\" lines), "
            f"not a {type(table).__name__}."
        )
    return table


def _syntax_message(label: str, exc: tomllib.TOMLDecodeError) -> str:
    # Python 3.11's TOMLDecodeError has no lineno attribute; its message ends "(at line N, ...)".
    found = _TOML_LINE.search(str(exc))
    where = f"line {found.group(1)}" if found else "an unknown line"
    return f"{label}, {where}: invalid TOML ({exc}); fix the file or pass another with --config."


# --- command line -------------------------------------------------------------------------


def add_flag_options(parser: argparse.ArgumentParser) -> None:
    """Add --config and one --<kind> option per worker kind to ``parser``."""
    group = parser.add_argument_group("worker flags")
    group.add_argument(
        "--config",
        type=Path,
        metavar="PATH",
        help=f"TOML file with a [{_TABLE}] table (default: ./{CONFIG_FILE} if it exists)",
    )
    for kind in Kind:
        group.add_argument(
            f"--{kind.value}",
            dest=f"flag_{kind.value}",
            metavar="V",
            help=f"{' | '.join(_allowed(kind))} (overrides {ENV_VARS[kind]})",
        )


def flags_from_args(args: argparse.Namespace) -> dict[str, str]:
    """Return the --<kind> options given on the command line, keyed by kind name."""
    given = {kind.value: getattr(args, f"flag_{kind.value}", None) for kind in Kind}
    return {name: value for name, value in given.items() if value is not None}


def config_from_args(args: argparse.Namespace) -> Path | None:
    """Return the --config path given on the command line, if any."""
    return getattr(args, "config", None)


def add_command(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``workerkit flags``: print each kind's effective flag and its source."""
    command = subparsers.add_parser(
        "flags", help="show which stack each worker kind runs on, and why"
    )
    add_flag_options(command)
    command.set_defaults(handler=_cmd_flags)


def _cmd_flags(args: argparse.Namespace) -> int:
    try:
        flags = resolve_flags(cli=flags_from_args(args), toml_path=config_from_args(args))
    except FlagError as exc:
        print(f"workerkit flags: error: {exc}", file=sys.stderr)
        return 2
    for line in format_flags(flags):
        print(line)
    return 0


def format_flags(flags: Mapping[Kind, Flag]) -> list[str]:
    """Return one aligned line per kind: name, value and source."""
    return [
        f"{kind.value:<13} {flags[kind].value:<11} ({flags[kind].source})"
        for kind in Kind
        if kind in flags
    ]


def _allowed(kind: Kind) -> tuple[str, ...]:
    return FLAG_VALUES if kind in READ_ONLY_KINDS else FLAG_VALUES[:2]
