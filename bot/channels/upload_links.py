"""Upload links for chats whose platform cannot carry a file (a PDF on Zalo).

At a document step the Zalo question carries a link to a small page on this server. The link names the Zalo chat,
expires after a day and is signed; it works once (its nonce is recorded like a platform update). Files sent from
the page go to that chat's open step exactly as an upload there would, and the answer goes back to the chat on Zalo.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import secrets
import time
from collections.abc import Awaitable, Callable
from functools import cache, partial
from pathlib import Path

from aiohttp import web
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.channels.web import MAX_FILES_AT_ONCE, TooManyFiles, answer_files, read_files
from bot.http.headers import html_page
from handlers.shown import question_index
from handlers.types import Incoming, Reply
from messages import t
from storage.chats import first_time_seen
from storage.writer import Transactions

VALID_SECONDS = 24 * 3600
CHANNEL = "upload-link"  # where used nonces are recorded (processed_update)
_PAGE = Path(__file__).parents[1] / "static" / "upload.html"
Handle = Callable[..., Awaitable[list[Reply]]]
SendBack = Callable[[str, list[Reply]], Awaitable[None]]


class UploadLinks:
    def __init__(self, public_url: str, secret: str, clock: Callable[[], float] = time.time) -> None:
        self._public_url, self._secret, self._clock = public_url, secret.encode(), clock

    def make(self, chat_id: str) -> str:
        chat = base64.urlsafe_b64encode(chat_id.encode()).decode().rstrip("=")
        body = f"{chat}.{secrets.token_urlsafe(9)}.{int(self._clock()) + VALID_SECONDS}"
        return f"{self._public_url}/u/{body}.{self._sign(body)}"

    def read(self, token: str) -> tuple[str, str] | None:
        """(chat id, nonce) of a link this server made and that has not expired; None otherwise."""
        parts = token.split(".")
        if len(token) > 300 or len(parts) != 4:
            return None
        body = ".".join(parts[:3])
        if not hmac.compare_digest(parts[3], self._sign(body)):
            return None
        try:
            if int(parts[2]) < self._clock():
                return None
            chat_id = base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4)).decode()
        except ValueError:
            return None
        return chat_id, parts[1]

    def _sign(self, body: str) -> str:
        return hmac.new(self._secret, body.encode(), hashlib.sha256).hexdigest()[:32]


def add_upload_link_routes(app: web.Application, links: UploadLinks, *, handle: Handle,
                           sessions: Callable[[], async_sessionmaker[AsyncSession]], send_back: SendBack,
                           language: str, max_upload_bytes: int) -> None:
    async def page(request: web.Request) -> web.Response:
        if links.read(request.match_info["token"]) is None:
            return html_page(render_page(language, "upload.expired"), status=403)
        return html_page(render_page(language, None))

    async def upload(request: web.Request) -> web.Response:
        found = links.read(request.match_info["token"])
        if found is None:
            return _answer(403, t(language, "upload.expired"))
        chat_id, nonce = found
        try:
            files = await read_files(request, max_upload_bytes)
        except TooManyFiles:
            return _answer(200, t(language, "api.too_many_files", max=MAX_FILES_AT_ONCE))
        except (ValueError, ConnectionError, AssertionError):
            return _answer(400, t(language, "api.bad_upload"))
        if not files:
            return _answer(400, t(language, "api.bad_upload"))
        if not await Transactions(sessions()).run(lambda session: first_time_seen(session, CHANNEL, nonce)):
            return _answer(403, t(language, "upload.used"))
        answered = await answer_files(handle, files, Incoming(channel="zalo", chat_id=chat_id, user_id=chat_id,
                                                              carries_documents=False))
        await send_back(chat_id, answered)  # the conversation goes on in Zalo
        notes = [r.text for r in answered[:max(question_index(answered), 0)]]
        return _answer(200, "\n".join([*notes, t(language, "upload.back_to_zalo")]))

    app.router.add_get("/u/{token}", page)
    app.router.add_post("/u/{token}", upload)


def _answer(status: int, text: str) -> web.Response:
    return web.json_response({"text": text}, status=status, dumps=partial(json.dumps, ensure_ascii=False))


@cache
def render_page(language: str, problem: str | None) -> str:
    page = _PAGE.read_text(encoding="utf-8")
    for key in ("upload_title", "upload_hint", "upload_send", "page_offline"):
        page = page.replace("{{" + key + "}}", html.escape(t(language, f"api.{key}")))
    page = page.replace("{{problem}}", html.escape(t(language, problem)) if problem else "")
    return page.replace("{{lang}}", language)
