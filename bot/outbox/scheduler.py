"""The daily reminder scan (APScheduler), run in OCOP_TIMEZONE and once at start-up to catch up on downtime."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.notices.reminders import ReminderRules, scan
from storage.writer import Transactions

log = logging.getLogger(__name__)


class ReminderScheduler:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], rules: ReminderRules, *, timezone: str,
                 scan_at: time, on_added: Callable[[], None] | None = None,
                 clock: Callable[[], datetime] | None = None, retry_after: timedelta = timedelta(minutes=5),
                 retries: int = 12) -> None:
        self._transactions = Transactions(sessions)
        self._rules = rules
        self._zone = ZoneInfo(timezone)
        self._scan_at = scan_at
        self._on_added = on_added
        self._clock = clock or (lambda: datetime.now(UTC))
        self._scheduler: AsyncIOScheduler | None = None
        self._running: set[asyncio.Task[None]] = set()
        self.last_run: datetime | None = None
        # A scan that fails (the database restarting at 08:00) is tried again every few minutes for an hour,
        # rather than waiting for tomorrow: a 7-day reminder a day late is a reminder missed.
        self._retry_after = retry_after
        self._retries = retries

    async def run_scan(self, as_of: date | None = None) -> Counter[str]:
        """Enqueue what is due as of `as_of` (default: today in OCOP_TIMEZONE). Safe to run any number of times."""
        now = self._clock()
        today = as_of or now.astimezone(self._zone).date()
        added = await self._transactions.run(lambda session: scan(session, today=today, now=now, rules=self._rules))
        self.last_run = now
        log.info("reminder scan for %s added %s", today.isoformat(), dict(added) or "nothing")
        if added and self._on_added is not None:
            self._on_added()
        return added

    async def _scheduled(self, attempt: int = 0) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._running.add(task)
        try:
            await self.run_scan()
        except asyncio.CancelledError:  # shutting down mid-scan: its transaction rolls back; the next start rescans
            log.info("reminder scan interrupted by shutdown")
        except Exception:
            if attempt < self._retries and self._scheduler is not None and self._scheduler.running:
                log.exception("reminder scan failed; trying again in %s", self._retry_after)
                self._scheduler.add_job(self._scheduled, DateTrigger(datetime.now(UTC) + self._retry_after),
                                        args=[attempt + 1], id=f"scan-retry-{attempt + 1}", replace_existing=True)
            else:
                log.exception("reminder scan failed; it runs again at the next scheduled time")
        finally:
            if task is not None:
                self._running.discard(task)

    def start(self) -> None:
        self._scheduler = AsyncIOScheduler(timezone=self._zone)
        trigger = CronTrigger(hour=self._scan_at.hour, minute=self._scan_at.minute, timezone=self._zone)
        # coalesce + grace: a machine asleep at 08:00 scans once when it wakes, not once per missed day.
        self._scheduler.add_job(self._scheduled, trigger, id="daily-scan", coalesce=True,
                                misfire_grace_time=6 * 3600)
        self._scheduler.add_job(self._scheduled, id="startup-scan")  # no trigger: runs once, now
        self._scheduler.start()

    async def stop(self) -> None:
        """Stop scheduling, and let a scan in progress end before the database closes under it."""
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        # Waited for, not cancelled: a scan is a few queries, and cancelling one mid-query left the database
        # driver's thread posting to a closed event loop.
        await asyncio.gather(*self._running, return_exceptions=True)
