"""Test doubles: a Bot API that records requests and never opens a socket, sample files, a chat driver."""

from __future__ import annotations

import io
import itertools
import json
from dataclasses import dataclass, field
from datetime import time as clock_time
from typing import Any

from PIL import Image
from sqlmodel import select
from telegram.ext import Application
from telegram.request import BaseRequest, RequestData

from bot.channels.telegram import build_application
from bot.conversation import ConversationRunner
from bot.outbox.dispatcher import Dispatcher, Limits
from bot.outbox.pacer import Pacer
from handlers.types import Contact, Incoming, IncomingFile, Reply
from storage.models import OutboxMessage
from tests.support.flood_rules import CHAT_INTERVAL, CHAT_WINDOW, FloodRules
from tests.support.waiting import eventually


def _image(kind: str, size: tuple[int, int] = (64, 48)) -> bytes:
    """A real, whole picture: uploads are decoded to check they arrived complete."""
    out = io.BytesIO()
    Image.new("RGB", size, (180, 120, 40)).save(out, kind)
    return out.getvalue()


JPEG = _image("JPEG")
PNG = _image("PNG")
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
SENDING = frozenset({"sendMessage", "sendPhoto", "sendDocument", "sendMediaGroup", "editMessageText",
                     "editMessageReplyMarkup"})
EXE = b"MZ\x90\x00" + b"\x00" * 512
VALID_MST = "0300588569"  # a real tax code shape: its check digit is right
OTHER_MST = "0100109106"




async def outcome_of(sessions: Any, dedupe_key: str | None = None) -> OutboxMessage:
    """The notice's outbox row (the only row that is not a reply, or the one with `dedupe_key`) once its outcome is
    committed: a platform takes a notice a moment before the row says so, and a person reads slower than that."""
    query = select(OutboxMessage).where(OutboxMessage.reason != "reply")
    if dedupe_key is not None:
        query = query.where(OutboxMessage.dedupe_key == dedupe_key)
    rows: list[OutboxMessage] = []

    async def settled() -> bool:
        async with sessions() as session:
            rows[:] = [(await session.exec(query)).one()]
        return rows[0].status != "sending"

    await eventually(settled)
    return rows[0]


def pacer_for_tests(rate: float = 25.0) -> Pacer:
    """The pacer `ocop-bot run` builds, with the tests' per-chat interval."""
    return Pacer(rate, per_chat_interval=CHAT_INTERVAL)


def telegram_app(api: BaseRequest) -> Application:
    """The Telegram application `ocop-bot run` builds, talking to `api`."""
    return build_application("123456:TEST-TOKEN", "http://127.0.0.1:9", api, pacer=pacer_for_tests())


class FakeBotApi(BaseRequest):
    """Answers Bot API methods the way Telegram does, records every call, serves uploaded files, and enforces
    Telegram's flood limits as strictly as Telegram: at most `limit` sending calls in any sliding second over the
    bot and one a second in a chat; a call over either is refused with 429 and retry_after (and recorded in
    `refused`, so a test can say none was)."""

    def __init__(self, *, limit: int = 30, chat_window: float | None = None) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.files: dict[str, bytes] = {}
        self.refused: list[tuple[str, dict[str, Any]]] = []
        self._ids = itertools.count(1000)
        self.rules = FloodRules(limit, CHAT_WINDOW if chat_window is None else chat_window)

    @property
    def read_timeout(self) -> float:
        return 1.0

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         read_timeout: Any = None, write_timeout: Any = None, connect_timeout: Any = None,
                         pool_timeout: Any = None) -> tuple[int, bytes]:
        assert url.startswith("http://127.0.0.1:9/"), f"the tests must never leave the machine: {url}"
        if "/file/bot" in url:
            return 200, self.files[url.split("/file/bot", 1)[1].split("/", 1)[1]]
        endpoint = url.rsplit("/", 1)[1]
        params = request_data.parameters if request_data else {}
        if endpoint in SENDING and self.rules.over(str(params.get("chat_id"))):
            self.refused.append((endpoint, params))
            return 429, (b'{"ok": false, "error_code": 429, "description": "Too Many Requests: retry after 1", '
                         b'"parameters": {"retry_after": 1}}')
        self.calls.append((endpoint, params))
        return 200, json.dumps({"ok": True, "result": self._result(endpoint, params)}).encode()

    def _result(self, endpoint: str, params: dict[str, Any]) -> Any:
        if endpoint == "getMe":
            return {"id": 999, "is_bot": True, "first_name": "OCOP", "username": "ocop_test_bot"}
        if endpoint in ("sendMessage", "sendPhoto", "sendDocument", "editMessageText"):
            if endpoint != "editMessageText":
                params["message_id"] = next(self._ids)  # what Telegram gives the message: edits name it
            return {"message_id": params.get("message_id"), "date": 0, "text": params.get("text"),
                    "chat": {"id": int(params["chat_id"]), "type": "private"}}
        if endpoint == "sendMediaGroup":
            return [{"message_id": next(self._ids), "date": 0, "chat": {"id": int(params["chat_id"]),
                                                                         "type": "private"}}
                    for _ in params.get("media", [])]
        if endpoint == "getFile":
            file_id = params["file_id"]
            return {"file_id": file_id, "file_unique_id": file_id, "file_size": len(self.files[file_id]),
                    "file_path": file_id}
        return True

    def sent(self) -> list[dict[str, Any]]:
        return [params for endpoint, params in self.calls if endpoint == "sendMessage"]


@dataclass
class Chat:
    """Drives the conversation runner the way a person would, keeping the replies of the last turn."""

    runner: ConversationRunner
    user: str = "web-user-1"
    channel: str = "web"
    replies: list[Reply] = field(default_factory=list)
    transcript: list[str] = field(default_factory=list)  # every reply text of the whole conversation

    async def _send(self, **kw: Any) -> list[Reply]:
        base: dict[str, Any] = {"channel": self.channel, "chat_id": self.user, "user_id": self.user,
                "can_share_contact": self.channel == "telegram"}
        notices = await self.receive_notices()
        self.replies = notices + await self.runner.handle(Incoming(**base | kw))
        self.transcript += [r.text for r in self.replies[len(notices):]]
        return self.replies

    async def receive_notices(self) -> list[Reply]:
        """What an open web page is shown meanwhile: the chat's due notices, through the real dispatcher."""
        if self.channel != "web":
            return []
        shown: list[Reply] = []

        async def page(_chat_id: str, reply: Reply) -> str:
            shown.append(reply)
            self.transcript.append(reply.text)
            return "shown"

        dispatcher = Dispatcher(self.runner.sessions, {"web": page}, Limits(quiet_start=clock_time(0),
                                                                             quiet_end=clock_time(0)),
                                reachable={"web": lambda: {self.user}}, worker=f"page-{self.user}")
        await dispatcher.drain()
        return shown

    async def say(self, text: str) -> list[Reply]:
        return await self._send(text=text)

    async def tap(self, option_id: str) -> list[Reply]:
        assert option_id in self.option_ids, f"{option_id} is not on screen: {self.option_ids}"
        return await self._send(choice=option_id)

    async def agree_if_asked(self) -> list[Reply]:
        """Agree to the personal-data notice when it is what the bot asked (the first registration only)."""
        return await self.tap("consent:yes") if "consent:yes" in self.option_ids else self.replies

    async def press_stale(self, option_id: str) -> list[Reply]:
        return await self._send(choice=option_id)

    async def send_file(self, content: bytes, mime: str | None, name: str | None = None,
                        size: int | None = None) -> list[Reply]:
        async def read() -> bytes:
            return content
        file = IncomingFile(mime=mime, size=len(content) if size is None else size, name=name, read=read)
        return await self._send(file=file)

    async def share_contact(self, phone: str, owner: str | None) -> list[Reply]:
        return await self._send(contact=Contact(phone=phone, user_id=owner))

    @property
    def text(self) -> str:
        return "\n".join(r.text for r in self.replies)

    @property
    def shown(self) -> str:
        """Everything on screen after the last turn: the texts and the options' labels (a review's answers are its
        rows)."""
        return "\n".join([self.text, *self.option_labels])

    @property
    def last(self) -> str:
        return self.replies[-1].text

    @property
    def option_ids(self) -> list[str]:
        return [o.id for r in self.replies for o in r.options]

    @property
    def option_labels(self) -> list[str]:
        return [o.label for r in self.replies for o in r.options]
