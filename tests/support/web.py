"""Talking to the web chat API as a script does: a server-issued token per person, sent as a bearer token."""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from bot.app import RUNNER
from storage.models import OutboxMessage

_tokens: weakref.WeakKeyDictionary[TestClient, dict[str, str]] = weakref.WeakKeyDictionary()


async def token_for(client: TestClient, person: str) -> str:
    """The token the server issued to this person (one is asked for on first use)."""
    tokens = _tokens.setdefault(client, {})
    if person not in tokens:
        response = await client.post("/api/session")
        assert response.status == 200
        tokens[person] = (await response.json())["token"]
    return tokens[person]


def chat_id_of(token: str) -> str:
    return "web-" + token.split(".")[0]


async def post_chat(client: TestClient, person: str, body: Any = None, **kw: Any) -> ClientResponse:
    headers = {"Authorization": f"Bearer {await token_for(client, person)}"} | kw.pop("headers", {})
    if body is None:
        return await client.post("/api/chat", headers=headers, **kw)
    return await client.post("/api/chat", json=body, headers=headers, **kw)


async def status_of(client: TestClient, row_id: int, settled: str | None = None, seconds: float = 2) -> str:
    """The row's status; with `settled`, once it has become that (its outcome is committed just after the send)."""
    for _ in range(int(seconds / 0.02)):
        async with client.app[RUNNER].sessions() as session:
            status = (await session.get(OutboxMessage, row_id)).status
        if settled is None or status == settled:
            break
        await asyncio.sleep(0.02)
    return status


async def open_page(client: TestClient, person: str) -> Any:
    token = await token_for(client, person)
    response = await client.get("/api/events", headers={"Authorization": f"Bearer {token}"})
    assert response.status == 200 and response.headers["Content-Type"] == "text/event-stream"
    return response
