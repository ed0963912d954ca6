"""A dispatcher over a sender that records what it was asked to send."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.outbox.dispatcher import Dispatcher, Limits
from handlers.types import Reply


class RecordingSender:
    """Sends by recording; `fail[chat_id]` lists exceptions to raise, one per attempt, before succeeding."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self.fail: dict[str, list[Exception]] = {}

    async def __call__(self, chat_id: str, reply: Reply) -> None:
        failures = self.fail.get(chat_id)
        if failures:
            raise failures.pop(0)
        await asyncio.sleep(0)
        self.sent.append((chat_id, reply.text))


def dispatcher(sessions, sender, clock, *, after_round=None, **limits: Any) -> Dispatcher:
    settings: dict[str, Any] = {"backoff_base": 30.0} | limits
    return Dispatcher(sessions, {"telegram": sender}, Limits(**settings), clock=clock,
                      after_round=after_round)
