"""Open web chat pages, told at once: each page holds a Server-Sent Events stream, and a notice the dispatcher
sends to a web chat is written to that chat's open streams. It counts as shown only once written to one.

Streams live in the process that serves them, so each replica's dispatcher claims web notices only for the pages
open on it (`chats`); a notice for a page that is closed waits in the outbox until the page opens again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from typing import Any

from aiohttp import web

from bot.outbox.outcomes import NotThere

PING_SECONDS = 20  # keeps proxies from closing an idle stream
WRITE_SECONDS = 10  # a stream that cannot take a notice this long is not showing it
Delivery = tuple[str, "asyncio.Future[bool]"]


class WebNotices:
    def __init__(self) -> None:
        self._pages: dict[str, set[asyncio.Queue[Delivery | None]]] = {}
        self.on_open: Callable[[], None] | None = None  # the dispatcher's kick: pending notices go out at once

    def chats(self) -> set[str]:
        return {chat for chat, pages in self._pages.items() if pages}

    async def send(self, chat_id: str, payload: dict[str, Any]) -> None:
        """Write one notice to every open page of the chat; NotThere when none took it."""
        pages = list(self._pages.get(chat_id, ()))
        if not pages:
            raise NotThere(chat_id)
        loop = asyncio.get_running_loop()
        data = json.dumps(payload, ensure_ascii=False)
        writes = []
        for queue in pages:
            written: asyncio.Future[bool] = loop.create_future()
            queue.put_nowait((data, written))
            writes.append(written)
        done, _ = await asyncio.wait(writes, timeout=WRITE_SECONDS)
        if not any(w.result() for w in done if not w.cancelled()):
            raise NotThere(chat_id)

    async def stream(self, request: web.Request, chat_id: str) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache",
                                               "X-Accel-Buffering": "no"})  # nginx: pass events on at once
        await response.prepare(request)
        queue: asyncio.Queue[Delivery | None] = asyncio.Queue()
        self._pages.setdefault(chat_id, set()).add(queue)
        try:
            await response.write(b"retry: 3000\n\n")  # the browser reconnects 3 s after a drop
            if self.on_open is not None:
                self.on_open()
            while True:
                try:
                    item = await asyncio.wait_for(queue.get(), PING_SECONDS)
                except TimeoutError:
                    await response.write(b": ping\n\n")
                    continue
                if item is None:  # the server is stopping
                    break
                data, written = item
                try:
                    await response.write(f"event: notice\ndata: {data}\n\n".encode())
                except (ConnectionError, RuntimeError):
                    written.set_result(False)
                    break
                written.set_result(True)
        except (ConnectionError, RuntimeError):
            pass  # the page went away; whatever it had not taken stays in the outbox
        finally:
            pages = self._pages.get(chat_id, set())
            pages.discard(queue)
            if not pages:
                self._pages.pop(chat_id, None)
            while not queue.empty():
                item = queue.get_nowait()
                if item is not None and not item[1].done():
                    item[1].set_result(False)
        with contextlib.suppress(ConnectionError, RuntimeError):
            await response.write_eof()
        return response

    def close(self) -> None:
        """End every open stream (pages reconnect to whichever server answers next)."""
        for pages in self._pages.values():
            for queue in pages:
                queue.put_nowait(None)
