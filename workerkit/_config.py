"""workerkit's configuration files: where they are, what they may hold, one reader for both.

Two files configure a project, looked up in its working folder:

- ``workerkit.toml``, workerkit's own file: ``[tool.workerkit] app = "module:attribute"``
  names the app, and ``[workers]`` holds ``kind = "legacy" | "simplified" | "shadow"``
  lines (the flags' TOML source). Nothing else may be in it.
- ``pyproject.toml``: only its ``[tool.workerkit]`` table is workerkit's (the same
  ``app`` key); every other table belongs to other tools and is not looked at.

``workerkit.toml`` wins over ``pyproject.toml`` for the app. A file is parsed and
checked once per content: the app lookup and the flags read the same cached result.
Every error names the file, the table or key, and the fix. No Qt here.
"""

from __future__ import annotations

import difflib
import functools
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

__all__ = [
    "CONFIG_FILE",
    "FLAG_VALUES",
    "PROJECT_FILES",
    "PYPROJECT_FILE",
    "WORKERS_TABLE",
    "Config",
    "ConfigError",
    "project_configs",
    "read_config",
    "toml_error_position",
]

CONFIG_FILE = "workerkit.toml"
PYPROJECT_FILE = "pyproject.toml"
# The files that may name the app, in the order they are asked.
PROJECT_FILES: tuple[str, ...] = (CONFIG_FILE, PYPROJECT_FILE)
WORKERS_TABLE = "workers"
FLAG_VALUES: tuple[str, ...] = ("legacy", "simplified", "shadow")

# The schema: what each table of workerkit.toml may hold, named as the messages name it.
_TOP_LEVEL: Mapping[str, str] = {"tool": "[tool.workerkit]", WORKERS_TABLE: f"[{WORKERS_TABLE}]"}
_TOOL: Mapping[str, str] = {"workerkit": "[tool.workerkit]"}
_TOOL_KEYS: Mapping[str, str] = {"app": "app"}
_SCHEMA = (
    f'[tool.workerkit] with app = "module:attribute", and [{WORKERS_TABLE}] with '
    f'kind = "{FLAG_VALUES[1]}" lines'
)
_Fix = Callable[[str], str]
_WHERE = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")


class ConfigError(ValueError):
    """A configuration file is not valid TOML or breaks the schema; the message says the fix."""


@dataclass(frozen=True, slots=True)
class Config:
    """The workerkit settings one file holds.

    Attributes:
        path: The file read.
        label: How messages and flag sources name the file.
        app: ``[tool.workerkit] app`` (``module:attribute``), or None.
        workers: The ``[workers]`` table: kind name to stack name, as written (the
            kinds and values are checked against the app by ``workerkit.flags``).
    """

    path: Path
    label: str
    app: str | None
    workers: Mapping[str, str]

    @property
    def app_source(self) -> str:
        """Return where the app was named, as the tools show it."""
        return f"{self.path.name} [tool.workerkit] app"

    def worker_source(self, key: str) -> str:
        """Return where the flag of ``key`` was set, as the tools show it."""
        return f"{self.label} [{WORKERS_TABLE}] {key}"


def read_config(path: Path, *, label: str | None = None, other: str | None = None) -> Config:
    """Read and check ``path`` (``workerkit.toml``'s schema, or pyproject's tool table).

    Args:
        path: The file; a file named ``pyproject.toml`` is checked only in
            ``[tool.workerkit]``, any other as a ``workerkit.toml``.
        label: How messages name the file (default: the path as given).
        other: How to use another file instead, added to each fix ("pass another
            with --config").

    Raises:
        FileNotFoundError: There is no such file.
        ConfigError: The file is not UTF-8 TOML, or holds a table, key or value the
            schema does not allow.
    """
    data = Path(path).read_bytes()
    return _parsed(Path(path), label or str(path), other, data)


def project_configs(cwd: Path | None = None) -> tuple[Config, ...]:
    """Return the configuration files of the folder ``cwd`` (default: the working folder).

    The files that exist of ``workerkit.toml`` and ``pyproject.toml``, in that order,
    each named by its full path.

    Raises:
        ConfigError: One of them is not valid (see ``read_config``).
    """
    base = cwd or Path.cwd()
    return tuple(read_config(base / name) for name in PROJECT_FILES if (base / name).is_file())


@functools.lru_cache(maxsize=64)
def _parsed(path: Path, label: str, other: str | None, data: bytes) -> Config:
    def fix(text: str) -> str:
        if not other:
            return text
        return f"{text}, or {other}" if " or " in text else f"{text} or {other}"

    try:
        document = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{label}: not UTF-8 text (byte {exc.start}); {fix('save it as UTF-8')}."
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(_syntax_message(label, exc, fix("fix the file"))) from None
    pyproject = path.name == PYPROJECT_FILE
    _check_stray_table(label, document, fix)
    if not pyproject:
        _check_top_level(label, document, fix)
    tool = _table(label, document.get("tool", {}), "tool", "[tool.workerkit]")
    table = _table(label, tool.get("workerkit", {}), "tool.workerkit", "[tool.workerkit]")
    if not pyproject:
        _check_keys(label, tool, "tool", _TOOL, f"{CONFIG_FILE} holds only {_SCHEMA}", fix)
    holds = '[tool.workerkit] holds only app = "module:attribute"'
    _check_keys(label, table, "tool.workerkit", _TOOL_KEYS, holds, fix)
    app = table.get("app")
    if app is not None and not isinstance(app, str):
        raise ConfigError(
            f"{label}: [tool.workerkit] app must be a string 'module:attribute', not {app!r}."
        )
    workers: Mapping[str, str] = MappingProxyType({})
    if not pyproject:
        workers = _workers(label, document.get(WORKERS_TABLE, {}))
    return Config(path=path, label=label, app=app, workers=workers)


def _workers(label: str, table: Any) -> Mapping[str, str]:
    if not isinstance(table, dict):
        raise ConfigError(
            f"{label}: '{WORKERS_TABLE}' must be a table ([{WORKERS_TABLE}] with "
            f'kind = "value" lines), not a {type(table).__name__}.'
        )
    for key, value in table.items():
        if not isinstance(value, str):
            raise ConfigError(
                f"Invalid value {value!r} for the {key} flag ({label} [{WORKERS_TABLE}] {key}): "
                f"expected a string, one of {', '.join(FLAG_VALUES)}."
            )
    # Read-only: the parsed file is cached and shared by every reader.
    return MappingProxyType(dict(table))


def _check_stray_table(label: str, document: Mapping[str, Any], fix: _Fix) -> None:
    stray = document.get("workerkit")
    if isinstance(stray, dict) and "app" in stray:
        raise ConfigError(
            f"{label} has a [workerkit] table with app = {stray['app']!r}; workerkit reads "
            f"[tool.workerkit]: {fix('rename the table to [tool.workerkit]')}."
        )


def _check_top_level(label: str, document: Mapping[str, Any], fix: _Fix) -> None:
    unknown = [key for key in document if key not in _TOP_LEVEL]
    if not unknown:
        return
    key = unknown[0]
    written = f"table [{key}]" if isinstance(document[key], dict) else f"top-level key {key!r}"
    hint = "[tool.workerkit]" if key == "workerkit" else _suggestion(key, _TOP_LEVEL)
    raise ConfigError(
        f"{label}: unknown {written}{_did_you_mean(hint)}; {CONFIG_FILE} holds only "
        f"{_SCHEMA}: {fix('rename or remove it')}."
    )


def _check_keys(
    label: str,
    table: Mapping[str, Any],
    name: str,
    allowed: Mapping[str, str],
    holds: str,
    fix: _Fix,
) -> None:
    for key, value in table.items():
        if key in allowed:
            continue
        written = f"table [{name}.{key}]" if isinstance(value, dict) else f"key {key!r} in [{name}]"
        hint = _did_you_mean(_suggestion(key, allowed))
        raise ConfigError(
            f"{label}: unknown {written}{hint}; {holds}: {fix('rename or remove it')}."
        )


def _table(label: str, value: Any, name: str, form: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(
            f"{label}: '{name}' must be a table ({form}), not a {type(value).__name__}."
        )
    return value


def _suggestion(key: str, allowed: Mapping[str, str]) -> str | None:
    close = difflib.get_close_matches(key, list(allowed), n=1, cutoff=0.6)
    return allowed[close[0]] if close else None


def _did_you_mean(hint: str | None) -> str:
    return f" (did you mean {hint}?)" if hint else ""


def toml_error_position(exc: tomllib.TOMLDecodeError) -> tuple[str, tuple[int, int] | None]:
    """Split a TOML syntax error into its reason and its (line, column), if it names them.

    Python 3.11's TOMLDecodeError has no lineno attribute; its message ends
    "(at line N, column M)".

    Args:
        exc: The error ``tomllib`` raised.

    Returns:
        The message without the position, and the 1-based (line, column) or None.
    """
    reason = str(exc)
    found = _WHERE.search(reason)
    if found is None:
        return reason, None
    return reason[: found.start()], (int(found[1]), int(found[2]))


def _syntax_message(label: str, exc: tomllib.TOMLDecodeError, fix: str) -> str:
    # The position goes to the front of the message, where the file's name is.
    reason, position = toml_error_position(exc)
    if position is None:
        return f"{label}: invalid TOML ({reason}); {fix}."
    line, column = position
    return f"{label}, line {line}, column {column}: invalid TOML ({reason}); {fix}."
