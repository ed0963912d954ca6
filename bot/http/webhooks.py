"""Webhook endpoints (used when OCOP_PUBLIC_URL is set): check the secret, parse, handle, answer once committed.

The request returns once the update's step and its replies are committed (milliseconds), not after the replies are
sent (they wait for the chat's turn at the platform): a platform that heard "ok" has handed us the message for good,
so it must already be on disk.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from aiohttp import web
from telegram import Update
from telegram.ext import Application

log = logging.getLogger(__name__)
TELEGRAM_SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ZALO_SECRET_HEADER = "X-Bot-Api-Secret-Token"


TOO_LARGE, MALFORMED = object(), object()


async def read_json(request: web.Request) -> object:
    """The parsed body, or TOO_LARGE (over the app's client_max_size) or MALFORMED: the one place every JSON
    endpoint reads its body, so each refuses bad input the same way."""
    try:
        return json.loads(await request.read())
    except web.HTTPRequestEntityTooLarge:
        return TOO_LARGE
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: "[[[[…" nested deep
        return MALFORMED


async def checked_body(request: web.Request, header: str, secret: str) -> dict[str, Any] | web.Response:
    """The request's JSON object, or the 4xx to answer: 401 without the secret header, 403 with a wrong one
    (compared in constant time), 413 when too large, 400 when not a JSON object."""
    given = request.headers.get(header)
    if given is None:
        return web.json_response({"error": "missing secret"}, status=401)
    if not hmac.compare_digest(given.encode(), secret.encode()):
        return web.json_response({"error": "wrong secret"}, status=403)
    body = await read_json(request)
    if body is TOO_LARGE:
        return web.json_response({"error": "too large"}, status=413)
    if body is MALFORMED:
        return web.json_response({"error": "malformed JSON"}, status=400)
    if not isinstance(body, dict):
        return web.json_response({"error": "not an object"}, status=400)
    return body


def telegram_webhook_handler(application: Application[Any, Any, Any, Any, Any, Any],
                             receive: Callable[[Update], Awaitable[None]], secret: str
                             ) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handle(request: web.Request) -> web.Response:
        body = await checked_body(request, TELEGRAM_SECRET_HEADER, secret)
        if isinstance(body, web.Response):
            return body
        if not isinstance(body.get("update_id"), int):
            return web.json_response({"error": "not an update"}, status=400)
        try:
            update = Update.de_json(body, application.bot)
        except Exception:  # a body shaped unlike an Update: say so, do not crash
            return web.json_response({"error": "not an update"}, status=400)
        await receive(update)  # committed before Telegram hears "ok": a crash now cannot lose the message
        return web.json_response({"ok": True})

    return handle


class ReceivesEvents(Protocol):
    """The Zalo channel, as the webhook sees it (bot/http imports no channel)."""

    async def receive(self, body: dict[str, Any]) -> None: ...


def zalo_webhook_handler(channel: ReceivesEvents, secret: str) -> Callable[[web.Request], Awaitable[web.Response]]:
    """Zalo's webhook: the same checks; Zalo gets its 200 once the event's step is committed (sending the replies
    goes on after)."""

    async def handle(request: web.Request) -> web.Response:
        body = await checked_body(request, ZALO_SECRET_HEADER, secret)
        if isinstance(body, web.Response):
            return body
        await channel.receive(body)
        return web.json_response({"ok": True})

    return handle
