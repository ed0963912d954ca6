"""Sends outbox rows right after the update that wrote them commits.

A stop-gap until the reminders issue brings the dispatcher (rate limits, leases, retries with backoff):
rows are claimed here only by this process, and a failed send stays pending for the next kick.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.types import Option, Reply
from storage.outbox import mark, pending_for_channel

log = logging.getLogger(__name__)
Send = Callable[[str, Reply], Awaitable[None]]  # raises when the message could not be sent


def outbox_reply(text: str, options: list[dict[str, str]]) -> Reply:
    return Reply(text, options=tuple(Option(o["id"], o["label"]) for o in options), inline=True)


class OutboxSender:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], senders: dict[str, Send]) -> None:
        self._sessions = sessions
        self._senders = senders
        self._task: asyncio.Task[None] | None = None
        self._again = False

    def kick(self) -> None:
        """Send what is pending soon, without making the caller wait."""
        if self._task is not None and not self._task.done():
            self._again = True
            return
        self._task = asyncio.create_task(self._drain())

    async def stop(self) -> None:
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)

    async def _drain(self) -> None:
        self._again = True
        while self._again:
            self._again = False
            for channel, send in self._senders.items():
                await self._send_channel(channel, send)

    async def _send_channel(self, channel: str, send: Send) -> None:
        async with self._sessions() as session, session.begin():
            rows = await pending_for_channel(session, channel)
            for message, account in rows:
                try:
                    await send(account.chat_id, outbox_reply(message.text, message.options))
                    mark(message, sent=True)
                except Exception as exc:  # the row keeps its outcome; it stays pending until it fails 5 times
                    log.warning("outbox message %s to a %s chat not sent: %r", message.id, channel, exc)
                    mark(message, sent=False, error=repr(exc))
                session.add(message)
