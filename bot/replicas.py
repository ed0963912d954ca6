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

from bot.outbox.pacer import Pacer
from storage import replicas
from storage.writer import Transactions

log = logging.getLogger(__name__)
EVERY = 2.0  # seconds between beats: how long the others take to notice a replica that joined
FIRST_LOOK = 0.5  # seconds after start-up: the second beat, which sees replicas started at the same moment
ALIVE = timedelta(seconds=3 * EVERY)  # a replica silent this long no longer takes a share


class ReplicaHeartbeat:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], worker: str, pacers: Iterable[Pacer], *,
                 clock: Callable[[], datetime] | None = None) -> None:
        self._transactions = Transactions(sessions)
        self._worker = worker
        self._pacers = list(pacers)
        self._clock = clock or (lambda: datetime.now(UTC))
        self._task: asyncio.Task[None] | None = None

    async def beat(self) -> int:
        now = self._clock()
        alive = await self._transactions.run(lambda session: replicas.beat(session, self._worker, now, ALIVE))
        if self._pacers and self._pacers[0].replicas != alive:
            log.info("%d replicas share each chat platform's limit", alive)
        for pacer in self._pacers:
            pacer.replicas = alive
        return alive

    async def start(self) -> None:
        await self._beat_logged()  # before the first send: a new replica must not take the whole rate
        # Proactive traffic waits: joining others already sending, until they have heard of this one and slowed down
        # (their next beat); alone, until a second look, since replicas started together may each have counted
        # before the other's beat was committed (two full rates at once, measured).
        alone = not self._pacers or self._pacers[0].replicas == 1
        for pacer in self._pacers:
            pacer.hold_proactive(EVERY + 0.5)
        self._task = asyncio.create_task(self._run(release_after_first_look=alone))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        with contextlib.suppress(Exception):  # a database already gone: the others stop counting it after ALIVE
            await self._transactions.run(lambda session: replicas.leave(session, self._worker))

    async def _run(self, *, release_after_first_look: bool) -> None:
        await asyncio.sleep(FIRST_LOOK)
        # Released once the second look is committed, not after a fixed time: a beat slowed by a busy database
        # would otherwise let two replicas started together both send at the full rate meanwhile.
        if await self._beat_logged() and release_after_first_look:
            for pacer in self._pacers:
                pacer.hold_proactive(0)
        while True:
            await asyncio.sleep(EVERY)
            await self._beat_logged()

    async def _beat_logged(self) -> bool:
        try:
            await self.beat()
        except Exception:  # a database hiccup: keep the last share and try again at the next beat
            log.exception("replica heartbeat failed")
            return False
        return True
