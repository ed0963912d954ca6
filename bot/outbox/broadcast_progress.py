"""Broadcast progress: one message edited in place at most every few seconds, then a final report.

Runs after every dispatcher round that sent something. Progress is drawn only where the platform can edit a
message (Telegram); everywhere the final report arrives as an outbox row like any other notice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from messages import format_number, t
from storage import statuses
from storage.audit import record_event
from storage.broadcasts import active_broadcasts, broadcast_figures, failure_reasons
from storage.models import ChatAccount, utcnow
from storage.outbox import enqueue

log = logging.getLogger(__name__)
# Draws or redraws the progress message in a chat; returns its id (None: this channel cannot).
Progress = Callable[[str, str | None, str], Awaitable[str | None]]


class BroadcastMonitor:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], progress: dict[str, Progress], *,
                 every_seconds: float = 3.0, clock: Callable[[], datetime] | None = None,
                 on_report: Callable[[], None] | None = None) -> None:
        self._sessions = sessions
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
        reported = False
        async with self._sessions() as session, session.begin():
            for broadcast in await active_broadcasts(session, self._clock()):
                counts = await broadcast_figures(session, broadcast.id)
                account = await session.get(ChatAccount, broadcast.account_id)
                if account is None:
                    continue
                lang = account.language
                figures = {"sent": format_number(lang, counts["delivered"]),
                           "total": format_number(lang, broadcast.recipients),
                           "failed": format_number(lang, counts["failed"]),
                           "blocked": format_number(lang, counts["unreachable"]),
                           "waiting": format_number(lang, counts["waiting"])}
                # Web notices waiting for their page to open are reported as waiting, not awaited.
                if counts[statuses.PENDING] + counts[statuses.SENDING] - counts["waiting"] == 0:
                    broadcast.status, broadcast.finished_at = statuses.BROADCAST_DONE, utcnow()
                    reasons = await failure_reasons(session, broadcast.id)
                    text = t(lang, "broadcast.report", id=broadcast.id, **figures,
                             reasons="\n".join(f"• {reason}: {n}" for reason, n in reasons.most_common(5)) or "—")
                    await enqueue(session, account_id=account.id, reason="broadcast.report",
                                  dedupe_key=f"broadcast-report:{broadcast.id}", text=text)
                    await record_event(session, actor_account_id=None, action="broadcast.finished",
                                       subject_type="broadcast", subject_id=str(broadcast.id),
                                       details={"counts": {k: n for k, n in counts.items() if n and k != "delivered"},
                                                "failures": dict(reasons)})
                    reported = True
                else:
                    broadcast.status = statuses.BROADCAST_SENDING
                    draw = self._progress.get(account.channel)
                    if draw is not None:
                        try:
                            broadcast.progress_message_id = await draw(
                                account.chat_id, broadcast.progress_message_id,
                                t(lang, "broadcast.progress", id=broadcast.id, **figures))
                        except Exception as exc:  # progress is a courtesy: never stop the sending for it
                            log.warning("broadcast %s progress not drawn: %r", broadcast.id, exc)
                session.add(broadcast)
        if reported and self.on_report is not None:
            self.on_report()
