"""A Bot API HTTP server on 127.0.0.1 for tests that run the real `ocop-bot` process."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.support.fakes import SENDING
from tests.support.flood_rules import FloodRules


class FakeBotApiServer:
    def __init__(self, *, reject_token: bool = False, send_delay: float = 0.0) -> None:
        self.reject_token = reject_token
        self.send_delay = send_delay  # seconds each sendMessage takes, to leave sends in flight
        self.hang = 0  # this many sendMessage calls hang for hang_seconds, then fail without delivering
        self.hang_seconds = 1.0
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.rules = FloodRules()  # Telegram's limits, as strictly as Telegram applies them
        self.refused: list[tuple[str, dict[str, Any]]] = []
        self.pending_updates: list[dict[str, Any]] = []
        self._ids = itertools.count(1)
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._method)
        self.server = TestServer(app, host="127.0.0.1")

    async def __aenter__(self) -> FakeBotApiServer:
        await self.server.start_server()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.server.close()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    async def _method(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        form = await request.post()
        params = {k: _maybe_json(str(v)) for k, v in form.items()}
        if method == "sendMessage" and self.hang > 0:
            self.hang -= 1
            await asyncio.sleep(self.hang_seconds)
            return web.json_response({"ok": False, "error_code": 504, "description": "Gateway Timeout"}, status=504)
        if method in SENDING and (rule := self.rules.refusal(str(params.get("chat_id")))):
            self.refused.append((method, params | {"rule": rule, "at": round(time.monotonic(), 3)}))
            return web.json_response({"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 1",
                                      "parameters": {"retry_after": 1}}, status=429)
        self.calls.append((method, params))
        if self.reject_token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        if method == "getUpdates":
            if not self.pending_updates:
                await asyncio.sleep(0.2)
            updates, self.pending_updates = self.pending_updates, []
            return web.json_response({"ok": True, "result": updates})
        result: Any = True
        if method == "getMe":
            result = {"id": 999, "is_bot": True, "first_name": "OCOP", "username": "ocop_test_bot"}
        elif method == "sendMessage":
            await asyncio.sleep(self.send_delay)
            result = {"message_id": next(self._ids), "date": 0, "text": params.get("text"),
                      "chat": {"id": int(params["chat_id"]), "type": "private"}}
        return web.json_response({"ok": True, "result": result})

    def sent_texts(self) -> list[str]:
        return [p["text"] for m, p in self.calls if m == "sendMessage"]


def _maybe_json(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value
