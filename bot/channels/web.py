"""Web chat: a phone-sized chat page at / and the JSON API behind it (also the simplest way to script the bot).

The identity is the server's (bot/channels/web_identity.py): the page gets it as a cookie, a script from
POST /api/session → {"token": "..."}, sent back as `Authorization: Bearer <token>`.

POST /api/chat  {"text": "..."} or {"choice": "<option id>"}
→ {"replies": [{"text": "...", "options": [{"id": "...", "label": "..."}], "inline": false, "accepts": null,
                "files": [{"name": "x.ics", "mime": "text/calendar", "url": "/files/…?exp=…&sig=…"}]}]}
POST /api/upload  multipart/form-data, one or more `file` parts → the same answer.
GET /api/events  Server-Sent Events: `event: notice` with one reply (as above) for every proactive message.
"""

from __future__ import annotations

import html
import json
from collections.abc import Awaitable, Callable
from dataclasses import replace
from functools import cache, partial
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from bot.channels.web_identity import WebIdentity
from bot.channels.web_notices import WebNotices
from bot.channels.web_push import WebPush, acceptable_endpoint
from bot.flood import HourlyLimit
from bot.http.headers import html_page
from bot.http.webhooks import MALFORMED, TOO_LARGE, read_json
from bot.outbox.outcomes import NotThere, Send
from handlers.forms.validators import has_control_characters
from handlers.shown import button_label, question_index
from handlers.types import Attachment, Incoming, IncomingFile, Reply
from messages import t
from storage.statuses import PUSHED, SHOWN

Handle = Callable[..., Awaitable[list[Reply]]]  # (incoming, *, follow_up=False) → replies
Link = Callable[[Attachment], str]  # a signed address the page can fetch a file from
MAX_BODY = 64 * 1024
MAX_FILES_AT_ONCE = 10  # as many as one dossier item takes
MAX_TEXT = 10_000
_PAGE = Path(__file__).parents[1] / "static" / "index.html"
_WORKER = Path(__file__).parents[1] / "static" / "sw.js"
_dumps = partial(json.dumps, ensure_ascii=False)


def add_webchat_routes(app: web.Application, handle: Handle, language: str, identity: WebIdentity,
                       notices: WebNotices, link: Link, max_upload_bytes: int,
                       push: Callable[[], WebPush | None] = lambda: None,
                       save_push: Callable[[str, str, str, str], Awaitable[None]] | None = None,
                       forget_push: Callable[[str, str], Awaitable[None]] | None = None,
                       identities: HourlyLimit | None = None) -> None:
    def may_open(request: web.Request) -> float | None:
        """None when this client address may have one more web identity now, else the seconds to wait."""
        return identities.take(request.remote) if identities is not None else None

    async def page(request: web.Request) -> web.Response:
        response = html_page(render_page(language))
        # A first visit, or a cookie this server did not issue; over the address's limit, the page asks later.
        if identity.chat_for(request) is None and may_open(request) is None:
            identity.set_cookie(response, identity.issue())
        return response

    async def session(request: web.Request) -> web.Response:
        wait = may_open(request)
        if wait is not None:
            response = _error(429, "api.too_many_identities", language)
            response.headers["Retry-After"] = str(max(1, round(wait)))
            return response
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
        if has_control_characters(body):  # the page replaces them before sending: this request is not the page's
            return _error(400, "api.control_characters", language)
        incoming = _incoming(body, chat_id)
        if incoming is None:
            return _error(400, "api.bad_request", language)
        replies = await handle(incoming)
        return web.json_response({"replies": [reply_json(r, link) for r in replies]}, dumps=_dumps)

    async def upload(request: web.Request) -> web.Response:
        chat_id = identity.chat_for(request)
        if chat_id is None:
            return _error(401, "api.no_identity", language)
        try:
            files = await read_files(request, max_upload_bytes)
        except TooManyFiles:
            # Refused as a whole, nothing kept: a note only, so the question on screen stays as it is.
            note = Reply(t(language, "api.too_many_files", max=MAX_FILES_AT_ONCE))
            return web.json_response({"replies": [reply_json(note, link)]}, dumps=_dumps)
        except (ValueError, AssertionError, ConnectionError, aiohttp.ClientPayloadError):
            return _error(400, "api.bad_upload", language)
        if not files:
            return _error(400, "api.bad_upload", language)
        answered = await answer_files(handle, files, Incoming(channel="web", chat_id=chat_id, user_id=chat_id))
        return web.json_response({"replies": [reply_json(r, link) for r in answered]}, dumps=_dumps)

    async def events(request: web.Request) -> web.StreamResponse:
        chat_id = identity.chat_for(request)
        if chat_id is None:
            return _error(401, "api.no_identity", language)
        return await notices.stream(request, chat_id)

    async def push_key(_request: web.Request) -> web.Response:
        pusher = push()
        if pusher is None:  # the operator has not configured Web Push: the page does not offer it
            return _error(404, "api.no_push", language)
        return web.json_response({"public_key": pusher.public_key})

    async def push_subscribe(request: web.Request) -> web.Response:
        chat_id = identity.chat_for(request)
        if chat_id is None:
            return _error(401, "api.no_identity", language)
        if push() is None or save_push is None:
            return _error(404, "api.no_push", language)
        body = await read_json(request)
        keys = body.get("keys") if isinstance(body, dict) else None
        if not isinstance(body, dict) or not acceptable_endpoint(body.get("endpoint")) or not isinstance(keys, dict) \
                or not all(isinstance(keys.get(k), str) and 0 < len(keys[k]) <= 100 for k in ("p256dh", "auth")):
            return _error(400, "api.bad_request", language)
        await save_push(chat_id, body["endpoint"], keys["p256dh"], keys["auth"])
        return web.json_response({"ok": True})

    async def push_unsubscribe(request: web.Request) -> web.Response:
        """The page turned notifications off: its browser's subscription is forgotten (only this chat's own)."""
        chat_id = identity.chat_for(request)
        if chat_id is None:
            return _error(401, "api.no_identity", language)
        body = await read_json(request)
        endpoint = body.get("endpoint") if isinstance(body, dict) else None
        if not isinstance(endpoint, str) or not 0 < len(endpoint) <= 1000 or forget_push is None:
            return _error(400, "api.bad_request", language)
        await forget_push(chat_id, endpoint)
        return web.json_response({"ok": True})

    async def manifest(_request: web.Request) -> web.Response:
        """So the page can be added to the home screen (and, there, get Web Push on iOS 16.4 and later)."""
        return web.json_response(web_manifest(language), content_type="application/manifest+json", dumps=_dumps)

    async def service_worker(_request: web.Request) -> web.Response:
        return web.Response(text=_WORKER.read_text(encoding="utf-8"), content_type="text/javascript",
                            headers={"Service-Worker-Allowed": "/", "Cache-Control": "no-cache"})

    app.router.add_get("/", page)
    app.router.add_get("/sw.js", service_worker)
    app.router.add_get("/manifest.webmanifest", manifest)
    for name, mime in ICONS.items():
        app.router.add_get(f"/{name}", partial(_static, name, mime))
    app.router.add_get("/api/push", push_key)
    app.router.add_post("/api/push", push_subscribe)
    app.router.add_delete("/api/push", push_unsubscribe)
    app.router.add_post("/api/session", session)
    app.router.add_post("/api/chat", chat)
    app.router.add_post("/api/upload", upload)
    app.router.add_get("/api/events", events)


def web_outbox_send(notices: WebNotices, link: Link, push: WebPush | None) -> Send:
    """Sending for the dispatcher: a notice is shown on the chat's open pages; when none is open here, pushed to
    the browsers that subscribed (Web Push); NotThere when neither, and it waits for the page."""

    async def send(chat_id: str, reply: Reply) -> str:
        payload = reply_json(reply, link)
        try:
            await notices.send(chat_id, payload)
            return SHOWN
        except NotThere:
            if push is None:
                raise
        await push.push(chat_id, payload)
        return PUSHED

    return send


class TooManyFiles(Exception):  # noqa: N818  (more files than one upload may carry)
    pass


async def read_files(request: web.Request, max_bytes: int) -> list[tuple[str | None, str | None, bytes]]:
    """The `file` parts of a multipart upload, each read to at most one byte past the limit (the form's own size
    check then refuses it politely). More than MAX_FILES_AT_ONCE parts: refused before anything is kept."""
    reader = await request.multipart()
    files: list[tuple[str | None, str | None, bytes]] = []
    while (part := await reader.next()) is not None:
        if not isinstance(part, aiohttp.BodyPartReader) or part.name != "file":
            continue
        if len(files) == MAX_FILES_AT_ONCE:
            raise TooManyFiles
        content = bytearray()
        while len(content) <= max_bytes and (chunk := await part.read_chunk(256 * 1024)):
            content += chunk
        files.append((part.filename, part.headers.get("Content-Type"), bytes(content)))
    return files


async def answer_files(handle: Handle, files: list[tuple[str | None, str | None, bytes]],
                       sender: Incoming) -> list[Reply]:
    """Each file of one upload to the open step, in turn, as `sender`'s message. What each file got (a refusal, say)
    is kept; the question is shown once, after the last file."""
    answered: list[Reply] = []
    for index, (name, mime, content) in enumerate(files):
        file = IncomingFile(mime=mime, size=len(content), name=name, read=reader(content))
        replies = await handle(replace(sender, file=file), follow_up=index > 0)
        answered += replies if index == len(files) - 1 else replies[:max(question_index(replies), 0)]
    return answered


def reader(content: bytes) -> Callable[[], Awaitable[bytes]]:
    async def read() -> bytes:
        return content
    return read


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


def reply_json(reply: Reply, link: Link) -> dict[str, Any]:
    # Every file (a chart, a broadcast's photo, an .ics, a dossier's PDF) as a signed address: the page shows
    # pictures inline and offers the rest for download.
    files = [{"name": a.name if a.content is None else Path(a.path).name, "mime": a.mime, "url": link(a)}
             for a in reply.attachments]
    return {"text": reply.text, "inline": reply.inline, "files": files, "accepts": reply.accepts,
            "invite_notifications": reply.invite_notifications, "receipt": reply.receipt,
            "push_settings": reply.push_settings, "redraws": reply.redraws,
            "options": [{"id": o.id, "label": button_label(o)} for o in reply.options]}


# The page's icons (made once with Pillow, in bot/static/): the browser tab, the home screen, iOS.
ICONS = {"favicon.ico": "image/x-icon", "icon-192.png": "image/png", "icon-512.png": "image/png",
         "icon-maskable-512.png": "image/png", "apple-touch-icon.png": "image/png"}


async def _static(name: str, mime: str, _request: web.Request) -> web.Response:
    return web.Response(body=_static_bytes(name), content_type=mime, headers={"Cache-Control": "max-age=604800"})


@cache
def _static_bytes(name: str) -> bytes:
    return (_PAGE.parent / name).read_bytes()


@cache
def web_manifest(language: str) -> dict[str, Any]:
    return {"name": t(language, "api.page_title"), "short_name": "OCOP", "lang": language, "start_url": "/",
            "scope": "/", "display": "standalone", "background_color": "#e8efe6", "theme_color": "#2e7d32",
            "icons": [{"src": "/icon-192.png", "sizes": "192x192", "type": "image/png"},
                      {"src": "/icon-512.png", "sizes": "512x512", "type": "image/png"},
                      {"src": "/icon-maskable-512.png", "sizes": "512x512", "type": "image/png",
                       "purpose": "maskable"}]}


def _error(status: int, key: str, language: str) -> web.Response:
    return web.json_response({"error": t(language, key)}, status=status, dumps=_dumps)


@cache
def render_page(language: str) -> str:
    """The page with its few fixed words from the catalog (so they are translated like everything else)."""
    page = _PAGE.read_text(encoding="utf-8")
    for key in ("page_title", "page_placeholder", "page_send", "page_offline", "page_photo", "page_file",
                "push_ask", "push_yes", "push_later", "receipt_save", "push_on", "push_refused", "push_unsupported",
                "push_failed", "push_off", "push_status_on", "push_turn_off", "push_later_note", "push_bell"):
        page = page.replace("{{" + key + "}}", html.escape(t(language, f"api.{key}")))
    return page.replace("{{lang}}", language)
