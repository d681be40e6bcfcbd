"""Per-worker feature flags: which stack each kind of job runs on, and where that was decided.

Sources, highest first: the runtime API (``set_stack``), command-line options,
environment variables (``WORKERKIT_<KIND>``), the ``[workers]`` table of a TOML file,
the default. Every kind is one the app declares (``workerkit._app``); nothing here
lists kinds. No Qt here: importing this module loads no Qt.
"""

from __future__ import annotations

import difflib
import os
import sys
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workerkit._config import (
    CONFIG_FILE,
    FLAG_VALUES,
    WORKERS_TABLE,
    Config,
    ConfigError,
    read_config,
)

if TYPE_CHECKING:
    from workerkit._app import App

__all__ = [
    "CONFIG_FILE",
    "DEFAULT_VALUE",
    "FLAG_VALUES",
    "RUNTIME_SOURCE",
    "Flag",
    "FlagError",
    "FlagWarning",
    "default_flags",
    "env_var",
    "flag_item",
    "flags_command",
    "format_flags",
    "make_flag",
    "resolve_flags",
]

DEFAULT_VALUE = "legacy"
RUNTIME_SOURCE = "runtime set_stack"

_TABLE = WORKERS_TABLE


class FlagError(ValueError):
    """A flag names an unknown kind or value, or asks for shadow mode on a kind that writes."""


class FlagWarning(UserWarning):
    """A setting that looks like a flag but sets none (a misspelt kind in WORKERKIT_<KIND>)."""


# workerkit's own settings that share the WORKERKIT_ prefix with the kinds' flags.
_SETTINGS = frozenset({"APP", "CACHE", "CHILD_PYTEST"})


class _Written(str):
    """A flag value that remembers how the command line wrote it."""

    source: str

    def __new__(cls, value: str, source: str) -> _Written:
        written = super().__new__(cls, value)
        written.source = source
        return written


@dataclass(frozen=True, slots=True)
class Flag:
    """Say which value one kind's flag has and which source set it."""

    kind: str
    value: str
    source: str


def env_var(kind: str) -> str:
    """Return the environment variable that sets ``kind``'s flag."""
    return f"WORKERKIT_{str(kind).upper()}"


def __getattr__(name: str) -> Any:
    """Compute ENV_VARS for the configured app on first use."""
    if name == "ENV_VARS":
        return {kind: env_var(kind) for kind in _app(None).names}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _app(app: App | None) -> App:
    if app is not None:
        return app
    from workerkit._app import load_app

    return load_app()


def make_flag(kind: str, value: str, source: str, app: App | None = None) -> Flag:
    """Return the checked flag, or raise FlagError naming ``source`` and the allowed values."""
    app = _app(app)
    name = _parse_kind(app, kind, source)
    normalised = value.strip().lower() if isinstance(value, str) else value
    if normalised not in FLAG_VALUES:
        raise FlagError(
            f"Invalid value {value!r} for the {name} flag ({source}): "
            f"expected one of {', '.join(FLAG_VALUES)}."
        )
    if normalised == "shadow" and not app.kind(name).shadowable:
        raise FlagError(_no_shadow_message(app, name, source))
    return Flag(name, normalised, source)


def _no_shadow_message(app: App, name: str, source: str) -> str:
    allowed = ", ".join(k.name for k in app.kinds if k.shadowable) or "no kind of this app"
    if app.kind(name).writes:
        why = f"{name} writes to the database"
    else:
        why = f"{name} declares no comparator (compare=) to check the candidate with"
    return (
        f"The {name} flag ({source}) is 'shadow', but shadow mode runs every job twice "
        f"and {why}; use legacy or simplified (shadow is allowed for {allowed})."
    )


def default_flags(app: App | None = None) -> dict[str, Flag]:
    """Return every declared kind's default flag: the app's ``default_stack`` (legacy)."""
    app = _app(app)
    source = "default" if app.default_stack == DEFAULT_VALUE else "App(default_stack=)"
    return {name: Flag(name, app.default_stack, source) for name in app.names}


def resolve_flags(
    app: App | None = None,
    *,
    cli: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
    toml_path: Path | None = None,
    cwd: Path | None = None,
) -> dict[str, Flag]:
    """Return each kind's flag from the CLI, environment, TOML file and defaults, highest first."""
    # The flag file first: its mistakes are flag errors, even when it also names the app.
    config = _flag_file(toml_path, cwd)
    app = _app(app)
    flags = default_flags(app)
    flags.update(_from_toml(app, config))
    flags.update(_from_env(app, os.environ if env is None else env))
    flags.update(_from_cli(app, cli or {}))
    return flags


def _parse_kind(app: App, kind: str, source: str) -> str:
    from workerkit._app import UnknownKind

    try:
        return app.kind(kind).name
    except UnknownKind:
        allowed = ", ".join(app.names)
        raise FlagError(
            f"Unknown worker kind {kind!r} ({source}): expected one of {allowed}."
        ) from None


def _from_cli(app: App, cli: Mapping[str, str]) -> dict[str, Flag]:
    flags: dict[str, Flag] = {}
    for key, value in cli.items():
        source = getattr(value, "source", f"command line --{key.strip().lower()}")
        name = _parse_kind(app, key, source)
        flags[name] = make_flag(name, value, source, app)
    return flags


def _from_env(app: App, env: Mapping[str, str]) -> dict[str, Flag]:
    _warn_misspelt(app, env)
    # An empty variable counts as unset, the way shells clear one with `VAR=`.
    return {
        name: make_flag(name, env[env_var(name)], f"environment {env_var(name)}", app)
        for name in app.names
        if env.get(env_var(name), "").strip()
    }


def _warn_misspelt(app: App, env: Mapping[str, str]) -> None:
    """Warn of a WORKERKIT_<NAME> that is close to a declared kind's but names none."""
    variables = {env_var(name): name for name in app.names}
    for variable in env:
        suffix = variable.removeprefix("WORKERKIT_")
        if suffix == variable or variable in variables or suffix in _SETTINGS:
            continue
        close = difflib.get_close_matches(variable, variables, n=1, cutoff=0.8)
        if close:
            warnings.warn(
                FlagWarning(
                    f"{variable} names no worker kind of {app.name}, so it sets no flag; "
                    f"did you mean {close[0]}? (The kinds' variables: "
                    f"{', '.join(variables)}.)"
                ),
                stacklevel=4,
            )


def _from_toml(app: App, config: Config | None) -> dict[str, Flag]:
    if config is None:
        return {}
    flags: dict[str, Flag] = {}
    for key, value in config.workers.items():
        source = config.worker_source(key)
        flags[_parse_kind(app, key, source)] = make_flag(key, value, source, app)
    return flags


def _flag_file(toml_path: Path | None, cwd: Path | None) -> Config | None:
    """Return the flag file: ``toml_path``, else ``./workerkit.toml`` if it exists, else None."""
    if toml_path is None:
        path = (cwd or Path.cwd()) / CONFIG_FILE
        if not path.is_file():
            return None
        label = CONFIG_FILE
    else:
        path, label = Path(toml_path), str(toml_path)
    try:
        return read_config(path, label=label, other="pass another with --config")
    except FileNotFoundError:
        raise FlagError(
            f"The flag file {label} does not exist; create it with a [{_TABLE}] table "
            "or pass another path."
        ) from None
    except ConfigError as exc:
        raise FlagError(str(exc)) from None


# --- command line -------------------------------------------------------------------------


def flag_item(item: str) -> tuple[str, str]:
    """Return (kind, value) of a ``--flag KIND=VALUE`` item; the value keeps the item as source.

    Raises:
        FlagError: ``item`` has no ``=``.
    """
    kind, separator, value = item.partition("=")
    if not separator:
        raise FlagError(f"--flag {item!r}: expected KIND=VALUE, e.g. --flag search=simplified.")
    return kind.strip(), _Written(value, f"command line --flag {item}")


def flags_command(app_spec: str | None, cli: Mapping[str, str], config: Path | None) -> int:
    """Run ``workerkit flags``: print each kind's effective flag and its source; return 0 or 2.

    Args:
        app_spec: ``--app`` (``module:attribute``), or None for the configured app.
        cli: The flags given on the command line, keyed by kind name.
        config: ``--config``, the flag file to read instead of ``./workerkit.toml``.
    """
    from workerkit._app import app_spec as configured_app
    from workerkit._app import load_app

    try:
        spec, source = configured_app(None, app_spec)
        app = load_app(app_spec)
        flags = resolve_flags(app, cli=cli, toml_path=config)
    except ValueError as exc:
        print(f"workerkit flags: error: {exc}", file=sys.stderr)
        return 2
    print(f"app: {app.name} ({spec}; {source})")
    for line in format_flags(flags):
        print(line)
    return 0


def format_flags(flags: Mapping[str, Flag]) -> list[str]:
    """Return one aligned line per kind: name, value and source."""
    width = max((len(str(name)) for name in flags), default=0) + 1
    return [
        f"{name!s:<{max(width, 13)}} {flag.value:<11} ({flag.source})"
        for name, flag in flags.items()
    ]
