"""Reading a notice the web page receives live."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import ClientResponse


async def read_notice(page: ClientResponse, seconds: float = 5) -> dict[str, Any]:
    """The next notice the stream carries."""
    async def next_notice() -> dict[str, Any]:
        event = ""
        async for raw in page.content:
            line = raw.decode().rstrip("\n")
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event == "notice":
                return json.loads(line[6:])
        raise AssertionError("the stream ended")
    return await asyncio.wait_for(next_notice(), seconds)
