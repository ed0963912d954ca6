"""A fake Zalo Bot API on 127.0.0.1 and helpers to talk to the bot through it."""

from __future__ import annotations

import asyncio
import inspect
import itertools
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.app import build_app
from bot.channels.zalo import ZALO_SECRET_HEADER
from bot.settings import Settings, webhook_secret
from tests.support.files import serve_in_chunks
from tests.support.flood_rules import CHAT_INTERVAL, FloodRules

TOKEN = "1234567890:zalo-test-token"


class FakeZalo:
    """The Zalo Bot API as its documentation describes it: an empty long poll ends with error_code 408, polled
    updates name the sender `first_name`, getUpdates refuses to work while a webhook is set; sending calls over
    30 a sliding second, or to a chat within its interval, are refused with 429 (recorded in `refused`)."""

    def __init__(self, single_object: bool = False, webhook: str = "") -> None:
        self.webhook = webhook
        self.photos: dict[str, bytes] = {}  # image addresses Zalo would serve, for image events
        self.refuse_next: list[int] = []  # error codes to answer the next sending calls with (429, 5xx)
        self.rules = FloodRules()  # Zalo does not publish its limits: held to Telegram's, as strictly
        self.refused: list[tuple[str, dict[str, Any]]] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.updates: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.single_object = single_object
        self._ids = itertools.count(1)
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._method)
        app.router.add_get("/photos/{name}", self._photo)
        self.server = TestServer(app, host="127.0.0.1")

    async def _method(self, request: web.Request) -> web.Response:
        method, body = request.match_info["method"], await request.json()
        assert request.match_info["token"] == TOKEN
        self.calls.append((method, body))
        if method == "getUpdates":
            if self.webhook:
                return web.json_response({"ok": False, "error_code": 409, "description": "webhook is set"})
            try:
                update = await asyncio.wait_for(self.updates.get(), 0.3)
            except TimeoutError:
                return web.json_response({"ok": False, "error_code": 408, "description": "Request timeout"},
                                         status=408)
            # Zalo may answer one update object instead of a list.
            return web.json_response({"ok": True, "result": update if self.single_object else [update]})
        if method in ("sendMessage", "sendPhoto") and self.rules.over(str(body.get("chat_id"))):
            self.refused.append((method, body))  # over the limits: as Zalo would, without saying how long to wait
            return web.json_response({"ok": False, "error_code": 429, "description": "Too many requests"},
                                     status=429)
        if method in ("sendMessage", "sendPhoto") and self.refuse_next:
            code = self.refuse_next.pop(0)
            self.calls.append((f"{method}-{code}", body))
            return web.json_response({"ok": False, "error_code": code, "description": "refused"}, status=code)
        if method == "getMe":
            return web.json_response({"ok": True, "result": {"id": "bot", "account_name": "bot.OCOP"}})
        if method in ("getWebhookInfo", "setWebhook", "deleteWebhook"):
            self.webhook = body.get("url", "") if method == "setWebhook" else "" if method == "deleteWebhook" \
                else self.webhook
            return web.json_response({"ok": True, "result": {"url": self.webhook, "updated_at": 1_749_538_250_568}})
        return web.json_response({"ok": True, "result": {"message_id": str(next(self._ids))}})

    async def _photo(self, request: web.Request) -> web.StreamResponse:
        """The picture from Zalo's file servers, in chunks as over a real network (every other one without a length,
        as a CDN may send it)."""
        name = request.match_info["name"]
        content = self.photos.get(name)
        if content is None:
            return web.Response(status=404)
        return await serve_in_chunks(request, content, length=int(name[1:].split(".")[0]) % 2 == 0)

    def say(self, text: str, chat: str = "zalo-user-1", message_id: str | None = None) -> None:
        self.updates.put_nowait({"event_name": "message.text.received", "message": {
            "message_id": message_id or f"m{next(self._ids)}", "date": int(time.time() * 1000), "text": text,
            "from": {"id": chat, "first_name": "Lan"}, "chat": {"id": chat, "chat_type": "PRIVATE"}}})

    def send_photo(self, content: bytes | None, chat: str = "zalo-user-1", field: str = "photo_url") -> None:
        """The person sends a picture; Zalo passes on its address (`photo_url`, or `photo` as in the docs)."""
        name = f"p{next(self._ids)}.jpg"
        if content is not None:
            self.photos[name] = content
        url = f"http://127.0.0.1:{self.server.port}/photos/{name}"
        self.updates.put_nowait({"event_name": "message.image.received", "message": {
            "message_id": f"m{next(self._ids)}", "date": int(time.time() * 1000), field: url,
            "from": {"id": chat, "first_name": "Lan"}, "chat": {"id": chat, "chat_type": "PRIVATE"}}})

    def send_unsupported(self, chat: str = "zalo-user-1") -> None:
        self.updates.put_nowait({"event_name": "message.unsupported.received", "message": {
            "message_id": f"m{next(self._ids)}", "date": int(time.time() * 1000),
            "from": {"id": chat, "first_name": "Lan"}, "chat": {"id": chat, "chat_type": "PRIVATE"}}})

    def sent(self) -> list[str]:
        return [body["text"] for method, body in self.calls if method == "sendMessage"]


async def start(aiohttp_client: Any, tmp_path: Path, fake: FakeZalo, **extra: Any) -> TestClient:
    await fake.server.start_server()
    settings = Settings(_env_file=None, OCOP_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'z.db'}",
                        OCOP_DATA_DIR=str(tmp_path / "data"), ZALO_BOT_TOKEN=TOKEN, OCOP_QUIET_HOURS="",
                        ZALO_API_BASE_URL=f"http://127.0.0.1:{fake.server.port}", OCOP_FLOOD_BURST=1000, **extra)
    return await aiohttp_client(build_app(settings))


async def reply_to(fake: FakeZalo, text: str) -> str:
    return await reply_to_event(fake, lambda: fake.say(text))


async def reply_to_event(fake: FakeZalo, send: Callable[[], object]) -> str:
    """What the bot sent back after the person's next event (a message, a photo, …), polled or posted to the
    webhook (`send` may be a coroutine function)."""
    before = len(fake.sent())
    sent = send()
    if inspect.isawaitable(sent):
        await sent
    for _ in range(750):  # up to 15 s on a loaded machine; an answer ends the wait at once
        await asyncio.sleep(0.02)
        if len(fake.sent()) > before and fake.updates.empty():
            break
    # The rest of the answer: its messages come a chat interval apart, so it is whole once none came for a few.
    count = -1
    while count != len(fake.sent()):
        count = len(fake.sent())
        await asyncio.sleep(3 * CHAT_INTERVAL)
    return "\n".join(fake.sent()[before:])


async def pump_webhook(fake: FakeZalo, client: TestClient) -> None:
    """Deliver the person's events as Zalo does once a webhook is set (OCOP_PUBLIC_URL): each POSTed to the bot with
    the secret header, one after another. Run it as a task for the test's length."""
    secret = webhook_secret(TOKEN, "zalo")
    while True:
        update = await fake.updates.get()
        response = await client.post("/webhook/zalo", json=update, headers={ZALO_SECRET_HEADER: secret})
        assert response.status == 200, await response.text()
