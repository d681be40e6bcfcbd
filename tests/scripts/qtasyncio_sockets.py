"""Try a real aiohttp POST under QtAsyncio, the way the pool runtime would send it.

Usage: qtasyncio_sockets.py URL. Prints one line ``RESULT {json}`` last:
{"ok": true, "status": ...} or {"ok": false, "error_type": ..., "error": ...}.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import aiohttp
from PySide6 import QtAsyncio


async def post(url: str) -> dict[str, Any]:
    """POST an empty JSON object to ``url`` with aiohttp on the running loop."""
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.post(url, json={}, timeout=aiohttp.ClientTimeout(total=10)) as response,
        ):
            await response.read()
            return {"ok": True, "status": response.status}
    except (NotImplementedError, OSError, aiohttp.ClientError) as error:
        return {"ok": False, "error_type": type(error).__name__, "error": str(error)}


def main() -> int:
    """Run the attempt under QtAsyncio and print its result."""
    result = QtAsyncio.run(post(sys.argv[1]), keep_running=False)
    print("RESULT " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
