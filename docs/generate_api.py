"""Write docs/api.md, the reference of workerkit's public names, from their docstrings.

Run ``python docs/generate_api.py`` after changing a public docstring or signature;
``tests/test_api_docs.py`` fails while docs/api.md is out of date. The docstrings are read
with griffe (static analysis, Google style), so nothing is imported.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import griffe

ROOT = Path(__file__).parent.parent
TARGET = ROOT / "docs" / "api.md"
PACKAGES = ("workerkit", "workerkit.testing")


def render() -> str:
    """Return the Markdown reference of every name in the packages' ``__all__``."""
    root = griffe.load("workerkit", docstring_parser="google", search_paths=[str(ROOT)])
    lines = [
        "# API reference",
        "",
        "Generated from the docstrings by `docs/generate_api.py`; do not edit by hand.",
    ]
    for package in PACKAGES:
        module = root if package == "workerkit" else root[package.removeprefix("workerkit.")]
        lines += ["", f"## `{package}`", ""]
        lines += _text(module)
        for name in _exported(module):
            lines += _member(package, name, module[name].final_target)
    return "\n".join(lines).rstrip() + "\n"


def _exported(module: Any) -> list[str]:
    names = module.members["__all__"].value
    return [str(name).strip("'\"") for name in names.elements]


def _member(package: str, name: str, obj: Any) -> list[str]:
    where = obj.module.path
    lines = ["", f"### `{package}.{name}`", "", f"*{obj.kind.value}, from `{where}`*", ""]
    if obj.is_function:
        lines += [f"```python\n{_signature(name, obj)}\n```", ""]
    lines += _text(obj)
    if obj.is_class:
        lines += _class_members(obj)
    return lines


def _class_members(cls: Any) -> list[str]:
    lines: list[str] = []
    signals = [
        f"`{name}{_signal_args(member)}`"
        for name, member in cls.members.items()
        if member.is_attribute and str(member.value or "").startswith("Signal(")
    ]
    if signals:
        lines += ["", "Signals: " + ", ".join(signals) + "."]
    for name, member in _toolkit_members(cls).items():
        if name.startswith("_") or member.is_alias:
            continue
        if member.is_function or (member.is_attribute and "property" in member.labels):
            lines += ["", f"#### `{cls.name}.{name}`", ""]
            if member.is_function:
                lines += [f"```python\n{_signature(name, member)}\n```", ""]
            lines += _text(member)
    return lines


def _toolkit_members(cls: Any) -> dict[str, Any]:
    """Return the class's members with those it inherits from workerkit's own classes."""
    members: dict[str, Any] = {}
    for base in cls.resolved_bases:
        if base.path.startswith("workerkit."):
            members |= _toolkit_members(base)
    return members | dict(cls.members)


def _signal_args(member: Any) -> str:
    return str(member.value).removeprefix("Signal")


def _signature(name: str, function: Any) -> str:
    parameters = []
    for parameter in function.parameters:
        if parameter.name == "self":
            continue
        text = parameter.name
        if parameter.kind.value == "variadic positional":
            text = f"*{text}"
        elif parameter.kind.value == "variadic keyword":
            text = f"**{text}"
        if parameter.annotation is not None:
            text += f": {parameter.annotation}"
        if parameter.default is not None:
            text += f" = {parameter.default}"
        parameters.append(text)
    returns = f" -> {function.returns}" if function.returns is not None else ""
    return f"{name}({', '.join(parameters)}){returns}"


def _text(obj: Any) -> list[str]:
    if obj.docstring is None:
        return []
    lines: list[str] = []
    for section in obj.docstring.parse("google"):
        kind = section.kind.value
        if kind == "text":
            lines += [section.value, ""]
        elif kind in ("parameters", "other parameters"):
            lines += ["**Parameters**", ""]
            lines += [f"- `{p.name}`: {_one_line(p.description)}" for p in section.value]
            lines.append("")
        elif kind in ("returns", "raises"):
            lines += [f"**{kind.capitalize()}**", ""]
            for item in section.value:
                label = item.annotation if kind == "raises" else (item.annotation or "")
                prefix = f"`{label}`: " if label else ""
                lines.append(f"- {prefix}{_one_line(item.description)}")
            lines.append("")
    return lines


def _one_line(text: str) -> str:
    return " ".join(text.split())


def main() -> int:
    """Write docs/api.md; with --check, exit 1 if it is out of date instead."""
    text = render()
    if "--check" in sys.argv[1:]:
        current = TARGET.read_text(encoding="utf-8") if TARGET.is_file() else ""
        if current != text:
            print(f"{TARGET} is out of date: run python docs/generate_api.py", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
