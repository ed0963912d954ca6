"""Web chat: a phone-sized chat page at / and the JSON API behind it (also the simplest way to script the bot).

The identity is the server's (bot/web_identity.py): the page gets it as a cookie, a script from
POST /api/session → {"token": "..."}, sent back as `Authorization: Bearer <token>`.

POST /api/chat  {"text": "..."} or {"choice": "<option id>"}
→ {"replies": [{"text": "...", "options": [{"id": "...", "label": "..."}], "inline": false,
                "files": [{"name": "x.ics", "mime": "text/calendar", "data": "<base64>"}]}]}
GET /api/events  Server-Sent Events: `event: notice` with one reply (as above) for every proactive message.
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Awaitable, Callable
from functools import cache, partial
from pathlib import Path

from aiohttp import web

from bot.dispatcher import Send
from bot.web_identity import WebIdentity
from bot.web_notices import WebNotices
from bot.webhooks import MALFORMED, TOO_LARGE, read_json
from handlers.shown import button_label
from handlers.types import Incoming, Reply
from messages import t
from storage.outbox import SHOWN

Handle = Callable[[Incoming], Awaitable[list[Reply]]]
MAX_BODY = 64 * 1024
MAX_TEXT = 10_000
MAX_INLINE_FILE = 256 * 1024  # longer still gets a polite "too long" from the form; this only bounds the work
_PAGE = Path(__file__).parent / "static" / "index.html"
_dumps = partial(json.dumps, ensure_ascii=False)


def add_webchat_routes(app: web.Application, handle: Handle, language: str, identity: WebIdentity,
                       notices: WebNotices) -> None:
    async def page(request: web.Request) -> web.Response:
        response = web.Response(text=render_page(language), content_type="text/html", charset="utf-8")
        if identity.chat_for(request) is None:  # a first visit, or a cookie this server did not issue
            identity.set_cookie(response, identity.issue())
        return response

    async def session(_request: web.Request) -> web.Response:
        token = identity.issue()
        response = web.json_response({"token": token})
        identity.set_cookie(response, token)
        return response

    async def chat(request: web.Request) -> web.Response:
        chat_id = identity.chat_for(request)
        if chat_id is None:
            return _error(401, "api.no_identity", language)
        body = await read_json(request)
        if body is TOO_LARGE:
            return _error(413, "api.too_large", language)
        if body is MALFORMED:
            return _error(400, "api.bad_json", language)
        incoming = _incoming(body, chat_id)
        if incoming is None:
            return _error(400, "api.bad_request", language)
        replies = await handle(incoming)
        return web.json_response({"replies": [reply_json(r) for r in replies]}, dumps=_dumps)

    async def events(request: web.Request) -> web.StreamResponse:
        chat_id = identity.chat_for(request)
        if chat_id is None:
            return _error(401, "api.no_identity", language)
        return await notices.stream(request, chat_id)

    app.router.add_get("/", page)
    app.router.add_post("/api/session", session)
    app.router.add_post("/api/chat", chat)
    app.router.add_get("/api/events", events)


def web_outbox_send(notices: WebNotices) -> Send:
    """Sending for the dispatcher: a notice is shown on the chat's open pages (NotThere when none is open)."""

    async def send(chat_id: str, reply: Reply) -> str:
        await notices.send(chat_id, reply_json(reply))
        return SHOWN

    return send


def _incoming(body: object, chat_id: str) -> Incoming | None:
    if not isinstance(body, dict):
        return None
    text, choice = body.get("text"), body.get("choice")
    if text is None and choice is None:
        return None
    if text is not None and (not isinstance(text, str) or len(text) > MAX_TEXT):
        return None
    if choice is not None and (not isinstance(choice, str) or len(choice) > 128):
        return None
    return Incoming(channel="web", chat_id=chat_id, user_id=chat_id, text=text, choice=choice)


def reply_json(reply: Reply) -> dict:
    # Files made for this reply (an .ics, a registrants sheet) travel inline; stored dossier files do not.
    files = [{"name": a.path, "mime": a.mime, "data": base64.b64encode(a.content).decode()}
             for a in reply.attachments if a.content is not None and len(a.content) <= MAX_INLINE_FILE]
    return {"text": reply.text, "inline": reply.inline, "files": files,
            "options": [{"id": o.id, "label": button_label(o)} for o in reply.options]}


def _error(status: int, key: str, language: str) -> web.Response:
    return web.json_response({"error": t(language, key)}, status=status, dumps=_dumps)


@cache
def render_page(language: str) -> str:
    """The page with its few fixed words from the catalog (so they are translated like everything else)."""
    page = _PAGE.read_text(encoding="utf-8")
    for key in ("page_title", "page_placeholder", "page_send", "page_offline"):
        page = page.replace("{{" + key + "}}", html.escape(t(language, f"api.{key}")))
    return page.replace("{{lang}}", language)
