"""A Bot API that answers inside the process: python-telegram-bot runs for real, nothing crosses a network."""

from __future__ import annotations

import asyncio
import io
import itertools
import json
from collections import Counter
from typing import Any

from PIL import Image
from telegram.request import BaseRequest, RequestData

BASE_URL = "http://127.0.0.1:9"  # never contacted: every request is answered by do_request below


def _photo() -> bytes:
    """A real JPEG of about 10 KB: uploads are decoded to check they arrived whole."""
    out = io.BytesIO()
    Image.effect_noise((96, 96), 64).convert("RGB").save(out, "JPEG", quality=95)
    return out.getvalue()


PHOTO = _photo()
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n" + b"0" * 20_000 + b"\ntrailer<<>>\n%%EOF\n"
FILES = {"photo": PHOTO, "pdf": PDF}


class OfflineBotApi(BaseRequest):
    """Answers sendMessage, getFile, file downloads and the start-up calls; keeps each chat's last markup."""

    def __init__(self, latency: float = 0.0) -> None:
        self.latency = latency  # seconds Telegram takes to answer a sendMessage (0: measure only the bot)
        self._ids = itertools.count(1)
        self.last_markup: dict[int, dict[str, Any]] = {}
        self.last_text: dict[int, str] = {}
        self.registered: set[int] = set()  # chats that were told their application code
        self.calls: Counter[str] = Counter()  # Bot API methods called, by name

    @property
    def read_timeout(self) -> float:
        return 5.0

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         read_timeout: Any = None, write_timeout: Any = None, connect_timeout: Any = None,
                         pool_timeout: Any = None) -> tuple[int, bytes]:
        if "/file/bot" in url:
            return 200, FILES[url.rsplit("/", 1)[1].split("-", 1)[0]]
        endpoint = url.rsplit("/", 1)[1]
        self.calls[endpoint] += 1
        params = request_data.parameters if request_data else {}
        result: Any = True
        if endpoint == "sendMessage":
            if self.latency:
                await asyncio.sleep(self.latency)
            chat = int(params["chat_id"])
            markup = params.get("reply_markup")
            if markup:
                self.last_markup[chat] = json.loads(markup) if isinstance(markup, str) else markup
            self.last_text[chat] = params.get("text", "")
            if "OCOP-20" in self.last_text[chat]:
                self.registered.add(chat)
            result = {"message_id": next(self._ids), "date": 0, "chat": {"id": chat, "type": "private"}}
        elif endpoint == "getFile":
            file_id = params["file_id"]
            result = {"file_id": file_id, "file_unique_id": file_id, "file_size": len(FILES[file_id.split("-")[0]]),
                      "file_path": file_id}
        elif endpoint == "getMe":
            result = {"id": 999, "is_bot": True, "first_name": "OCOP", "username": "ocop_bench_bot"}
        return 200, json.dumps({"ok": True, "result": result}).encode()

    def buttons(self, chat: int) -> list[str]:
        return [b["text"] for row in self.last_markup.get(chat, {}).get("keyboard", []) for b in row]

    def inline(self, chat: int) -> dict[str, str]:
        return {b["text"]: b["callback_data"] for row in self.last_markup.get(chat, {}).get("inline_keyboard", [])
                for b in row}
