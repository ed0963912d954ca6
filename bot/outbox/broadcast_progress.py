"""Broadcast progress: one message edited in place at most every few seconds, then a final report.

Runs after every dispatcher round that sent something. Progress is drawn only where the platform can edit a
message (Telegram); everywhere the final report arrives as an outbox row like any other notice.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from messages import format_number, t
from storage import statuses
from storage.audit import record_event
from storage.broadcasts import active_broadcasts, broadcast_figures, failure_reasons
from storage.models import Broadcast, ChatAccount, utcnow
from storage.outbox import enqueue
from storage.writer import Transactions

log = logging.getLogger(__name__)
# Draws or redraws the progress message in a chat; returns its id (None: this channel cannot).
Progress = Callable[[str, str | None, str], Awaitable[str | None]]


@dataclass(frozen=True)
class _Seen:
    """A broadcast as read: its figures, and who is told of them."""
    broadcast_id: int
    account_id: int
    channel: str
    chat_id: str
    message_id: str | None
    counts: Counter[str]
    reasons: Counter[str]
    text: str  # the progress, or the final report when `finished`
    finished: bool


class BroadcastMonitor:
    """Reads the figures, draws progress with no transaction open (it waits on the platform), then writes the
    outcome in one short transaction through the process's writer (`Transactions`)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], progress: dict[str, Progress], *,
                 every_seconds: float = 3.0, clock: Callable[[], datetime] | None = None,
                 on_report: Callable[[], None] | None = None) -> None:
        self._transactions = Transactions(sessions)
        self._progress = progress
        self._every = every_seconds
        self._clock = clock or (lambda: datetime.now(UTC))
        self._last = float("-inf")
        self.on_report = on_report

    async def update(self, *, force: bool = False) -> None:
        now_mono = asyncio.get_running_loop().time()
        if not force and now_mono - self._last < self._every:
            return
        self._last = now_mono
        seen = await self._transactions.read(self._read)
        drawn: dict[int, str | None] = {}
        for item in seen:
            draw = None if item.finished else self._progress.get(item.channel)
            if draw is None:
                continue
            try:
                drawn[item.broadcast_id] = await draw(item.chat_id, item.message_id, item.text)
            except Exception as exc:  # progress is a courtesy: never stop the sending for it
                log.warning("broadcast %s progress not drawn: %r", item.broadcast_id, exc)
        reported = await self._transactions.run(functools.partial(self._write, seen, drawn)) if seen else False
        if reported and self.on_report is not None:
            self.on_report()

    async def _read(self, session: AsyncSession) -> list[_Seen]:
        seen = []
        for broadcast in await active_broadcasts(session, self._clock()):
            counts = await broadcast_figures(session, broadcast.id)
            account = await session.get(ChatAccount, broadcast.account_id)
            if account is None or account.id is None:
                continue
            lang = account.language
            figures = {"sent": format_number(lang, counts["delivered"]),
                       "total": format_number(lang, broadcast.recipients),
                       "failed": format_number(lang, counts["failed"]),
                       "blocked": format_number(lang, counts["unreachable"]),
                       "waiting": format_number(lang, counts["waiting"])}
            # Web notices waiting for their page to open are reported as waiting, not awaited.
            finished = counts[statuses.PENDING] + counts[statuses.SENDING] - counts["waiting"] == 0
            reasons = await failure_reasons(session, broadcast.id) if finished else Counter[str]()
            text = (t(lang, "broadcast.report", id=broadcast.id, **figures,
                      reasons="\n".join(f"• {reason}: {n}" for reason, n in reasons.most_common(5)) or "—")
                    if finished else t(lang, "broadcast.progress", id=broadcast.id, **figures))
            seen.append(_Seen(broadcast.id, account.id, account.channel, account.chat_id,
                              broadcast.progress_message_id, counts, reasons, text, finished))
        return seen

    async def _write(self, seen: list[_Seen], drawn: dict[int, str | None], session: AsyncSession) -> bool:
        reported = False
        for item in seen:
            broadcast = await session.get(Broadcast, item.broadcast_id)
            if broadcast is None or broadcast.status not in statuses.BROADCAST_ACTIVE:
                continue  # finished or cancelled meanwhile (by an officer, or by another replica's monitor)
            if item.broadcast_id in drawn:
                broadcast.progress_message_id = drawn[item.broadcast_id]
            if item.finished:
                broadcast.status, broadcast.finished_at = statuses.BROADCAST_DONE, utcnow()
                await enqueue(session, account_id=item.account_id, reason="broadcast.report",
                              dedupe_key=f"broadcast-report:{item.broadcast_id}", text=item.text)
                await record_event(session, actor_account_id=None, action="broadcast.finished",
                                   subject_type="broadcast", subject_id=str(item.broadcast_id),
                                   details={"counts": {k: n for k, n in item.counts.items()
                                                       if n and k != "delivered"},
                                            "failures": dict(item.reasons)})
                reported = True
            else:
                broadcast.status = statuses.BROADCAST_SENDING
            session.add(broadcast)
        return reported
