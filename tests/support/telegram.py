"""A person on Telegram, as updates posted to the bot."""

from __future__ import annotations

import itertools
import time
from typing import Any

from telegram import Update

from bot.channels.telegram import TelegramChannel
from tests.support.fakes import FakeBotApi
from tests.support.flows import TYPED_TO_PHOTOS

_ids = itertools.count(1)


class TelegramUser:
    """One person in a private chat with the bot, pressing what the bot last showed."""

    def __init__(self, channel: TelegramChannel, api: FakeBotApi, user_id: int = 4242) -> None:
        self.channel, self.api, self.user_id = channel, api, user_id
        self.sent: list[dict[str, Any]] = []
        self.screen: dict[int, dict[str, Any]] = {}
        self.last_message_id: int | None = None  # the message whose inline button was pressed last

    async def _update(self, payload: dict[str, Any]) -> None:
        before, calls = len(self.api.sent()), len(self.api.calls)
        app = self.channel.application
        await app.process_update(Update.de_json({"update_id": next(_ids), **payload}, app.bot))
        self.sent = self.api.sent()[before:]
        # What the chat shows: each message by its id, with the edits Telegram made to it.
        for method, params in self.api.calls[calls:]:
            if method == "sendMessage":
                self.screen[params["message_id"]] = dict(params)
            elif method in ("editMessageReplyMarkup", "editMessageText") and params["message_id"] in self.screen:
                self.screen[params["message_id"]] |= {k: v for k, v in params.items() if k != "message_id"}

    def _message(self, **fields: Any) -> dict[str, Any]:
        return {"message_id": next(_ids), "date": int(time.time()), "chat": {"id": self.user_id, "type": "private"},
                "from": {"id": self.user_id, "is_bot": False, "first_name": "Lan", "language_code": "vi"}, **fields}

    async def say(self, text: str) -> None:
        await self._update({"message": self._message(text=text)})

    async def press(self, label: str) -> None:
        """A reply-keyboard button: Telegram sends its label as text."""
        assert label in self.buttons, (label, self.buttons)
        await self.say(label)

    async def agree_if_asked(self) -> None:
        """Agree to the personal-data notice when it is what the bot asked (the first registration only)."""
        agree = next((label for label in ("✅ Đồng ý", "✅ I agree") if label in self.buttons), None)
        if agree:
            await self.press(agree)

    async def press_inline(self, label: str) -> None:
        """A button on the newest message that has inline buttons; the press names that message, as Telegram's does."""
        holder = next((m for m in reversed(self.screen.values())
                       if "inline_keyboard" in (m.get("reply_markup") or {})), None)
        data = next((b["callback_data"] for row in (holder or {}).get("reply_markup", {}).get("inline_keyboard", [])
                     for b in row if b["text"] == label), None)
        assert holder is not None and data, (label, holder)
        message = self._message(text=holder["text"]) | {"message_id": holder["message_id"]}
        self.last_message_id = holder["message_id"]
        await self._update({"callback_query": {"id": str(next(_ids)), "chat_instance": "ci", "data": data,
                                               "from": self._message()["from"], "message": message}})

    async def photo(self, content: bytes, album: str | None = None) -> None:
        """A photo; with `album`, one of several sent at once (Telegram sends each as an update of its own)."""
        file_id = f"photo{next(_ids)}"
        self.api.files[file_id] = content
        extra = {"media_group_id": album} if album else {}
        await self._update({"message": self._message(**extra, photo=[
            {"file_id": f"{file_id}s", "file_unique_id": "s", "width": 90, "height": 90, "file_size": 100},
            {"file_id": file_id, "file_unique_id": file_id, "width": 1280, "height": 960, "file_size": len(content)},
        ])})

    async def document(self, content: bytes, mime: str, name: str, size: int | None = None) -> None:
        file_id = f"doc{next(_ids)}"
        self.api.files[file_id] = content
        await self._update({"message": self._message(document={
            "file_id": file_id, "file_unique_id": file_id, "file_name": name, "mime_type": mime,
            "file_size": len(content) if size is None else size})})

    async def reach_photos(self) -> None:
        """Register a new cooperative by typing, up to the product photos question."""
        await self.say("/dangky")
        await self.agree_if_asked()
        for answer in TYPED_TO_PHOTOS:
            await self.say(answer)

    async def share_contact(self, phone: str, owner: int | None) -> None:
        contact = {"phone_number": phone, "first_name": "Lan"} | ({"user_id": owner} if owner else {})
        await self._update({"message": self._message(contact=contact)})

    def _markup(self) -> dict[str, Any]:
        return next((m["reply_markup"] for m in reversed(self.screen.values()) if m.get("reply_markup")), {})

    @property
    def buttons(self) -> list[str]:
        return [b["text"] for row in self._markup().get("keyboard", []) for b in row]

    @property
    def text(self) -> str:
        return "\n".join(m["text"] for m in self.sent)

    @property
    def shown(self) -> str:
        """The texts and every button's label, inline or not."""
        inline = [b["text"] for m in self.sent for row in (m.get("reply_markup") or {}).get("inline_keyboard", [])
                  for b in row]
        return "\n".join([self.text, *self.buttons, *inline])
