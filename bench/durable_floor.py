"""The least a durable bot must add to the stock form: after each update, the chat's answers and the update's id
committed to SQLite, by one writer thread with its own connection, every update waiting at the time sharing one
COMMIT. No ORM, no savepoints, no reply journal, nothing read back: a floor, not a design. The stock form plus this
is as fast as any durable version of it can be on this machine, so it bounds what a target relative to the stock
form can ask of ours.
"""

from __future__ import annotations

import asyncio
import json
import queue
import sqlite3
import threading
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.ext import Application


class FloorWriter:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._queue: queue.SimpleQueue[tuple[int, int, str, asyncio.Future[None]] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name="floor-writer", daemon=True)
        self._thread.start()

    async def save(self, application: Application[Any, Any, Any, Any, Any, Any], update: Update) -> None:
        chat = update.effective_chat.id if update.effective_chat else 0
        answers = json.dumps(application.user_data.get(chat, {}), ensure_ascii=False)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.put((update.update_id, chat, answers, done))
        await done

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()

    def _serve(self) -> None:
        connection = sqlite3.connect(self._path, isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute("CREATE TABLE IF NOT EXISTS state (chat INTEGER PRIMARY KEY, answers TEXT)")
        connection.execute("CREATE TABLE IF NOT EXISTS processed (update_id INTEGER PRIMARY KEY)")
        while (item := self._queue.get()) is not None:
            batch = [item]
            while True:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._queue.put(None)
                    break
                batch.append(more)
            connection.execute("BEGIN IMMEDIATE")
            connection.executemany("INSERT OR IGNORE INTO processed VALUES (?)", [(u,) for u, _, _, _ in batch])
            connection.executemany("INSERT OR REPLACE INTO state VALUES (?, ?)", [(c, a) for _, c, a, _ in batch])
            connection.execute("COMMIT")
            for *_, done in batch:
                done.get_loop().call_soon_threadsafe(_settle, done)
        connection.close()


def _settle(done: asyncio.Future[None]) -> None:
    if not done.done():
        done.set_result(None)
