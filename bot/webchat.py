"""Web chat: a phone-sized chat page at / and the JSON API behind it (also the simplest way to script the bot).

POST /api/chat  {"user": "<id>", "text": "..."} or {"user": "<id>", "choice": "<option id>"}
→ {"replies": [{"text": "...", "options": [{"id": "...", "label": "..."}], "inline": false,
                "files": [{"name": "x.ics", "mime": "text/calendar", "data": "<base64>"}]}]}
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Awaitable, Callable
from functools import cache, partial
from pathlib import Path

from aiohttp import web

from bot.webhooks import MALFORMED, TOO_LARGE, read_json
from handlers.shown import button_label
from handlers.types import Incoming, Reply
from messages import t

Handle = Callable[[Incoming], Awaitable[list[Reply]]]
MAX_BODY = 64 * 1024
MAX_TEXT = 10_000
MAX_INLINE_FILE = 256 * 1024  # longer still gets a polite "too long" from the form; this only bounds the work
_PAGE = Path(__file__).parent / "static" / "index.html"
_dumps = partial(json.dumps, ensure_ascii=False)


def add_webchat_routes(app: web.Application, handle: Handle, language: str) -> None:
    async def page(_request: web.Request) -> web.Response:
        return web.Response(text=render_page(language), content_type="text/html", charset="utf-8")

    async def chat(request: web.Request) -> web.Response:
        body = await read_json(request)
        if body is TOO_LARGE:
            return _error(413, "api.too_large", language)
        if body is MALFORMED:
            return _error(400, "api.bad_json", language)
        incoming = _incoming(body)
        if incoming is None:
            return _error(400, "api.bad_request", language)
        replies = await handle(incoming)
        return web.json_response({"replies": [_reply_json(r) for r in replies]}, dumps=_dumps)

    app.router.add_get("/", page)
    app.router.add_post("/api/chat", chat)


def _incoming(body: object) -> Incoming | None:
    if not isinstance(body, dict):
        return None
    user, text, choice = body.get("user"), body.get("text"), body.get("choice")
    if not isinstance(user, str) or not 1 <= len(user) <= 64:
        return None
    if text is None and choice is None:
        return None
    if text is not None and (not isinstance(text, str) or len(text) > MAX_TEXT):
        return None
    if choice is not None and (not isinstance(choice, str) or len(choice) > 128):
        return None
    return Incoming(channel="web", chat_id=user, user_id=user, text=text, choice=choice)


def _reply_json(reply: Reply) -> dict:
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
