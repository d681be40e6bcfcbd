"""Read the JSON documents the checklist keeps and reads: caches and compare runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["read_json_object"]


def read_json_object(path: Path) -> dict[str, Any]:
    """Return the JSON object in the file at ``path``.

    Raises:
        ValueError: The file is no JSON object; the message names it and the fix.
    """
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not valid JSON ({exc}); delete or regenerate it.") from None
    if not isinstance(document, dict):
        raise ValueError(f"{path} should hold a JSON object; delete or regenerate it.")
    return document
