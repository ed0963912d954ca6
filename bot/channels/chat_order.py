"""One chat at a time, every chat at once.

A channel handles updates concurrently, so one person's slow photo download or a slow Bot API answer does not
hold up everybody else. Within one chat, though, messages must be handled and answered in the order they came:
`ChatOrder.turn(chat)` is a FIFO lock per chat, taken before anything else is awaited, so tasks started in
arrival order get their turn in arrival order.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator

CONCURRENT_UPDATES = 64  # updates a channel handles at once (PTB's default for "concurrent" is 256)


class ChatOrder:
    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    @contextlib.asynccontextmanager
    async def turn(self, chat: str) -> AsyncIterator[None]:
        lock = self._locks.get(chat)
        if lock is None:
            lock = self._locks[chat] = asyncio.Lock()
        async with lock:
            yield
