"""The replica heartbeat: every instance says it is alive every few seconds and learns how many are, so that each
paces its sends at the configured rate divided among them (three replicas no longer send 75 a second against
Telegram's 30). An instance that dies stops counting after ALIVE; one that stops cleanly at once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.pacer import Pacer
from storage import replicas

log = logging.getLogger(__name__)
EVERY = 2.0  # seconds between beats: how long the others take to notice a replica that joined
ALIVE = timedelta(seconds=3 * EVERY)  # a replica silent this long no longer takes a share


class ReplicaHeartbeat:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], worker: str, pacers: Iterable[Pacer], *,
                 clock: Callable[[], datetime] | None = None) -> None:
        self._sessions = sessions
        self._worker = worker
        self._pacers = list(pacers)
        self._clock = clock or (lambda: datetime.now(UTC))
        self._task: asyncio.Task[None] | None = None

    async def beat(self) -> int:
        async with self._sessions() as session, session.begin():
            alive = await replicas.beat(session, self._worker, self._clock(), ALIVE)
        for pacer in self._pacers:
            pacer.replicas = alive
        return alive

    async def start(self) -> None:
        await self._beat_logged()  # before the first send: a new replica must not take the whole rate
        if self._pacers and self._pacers[0].replicas > 1:
            # The others still send at their old share until their next beat: proactive traffic waits for that.
            for pacer in self._pacers:
                pacer.hold_proactive(EVERY + 0.5)
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        with contextlib.suppress(Exception):  # a database already gone: the others stop counting it after ALIVE
            async with self._sessions() as session, session.begin():
                await replicas.leave(session, self._worker)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(EVERY)
            await self._beat_logged()

    async def _beat_logged(self) -> None:
        try:
            await self.beat()
        except Exception:  # a database hiccup: keep the last share and try again at the next beat
            log.exception("replica heartbeat failed")
