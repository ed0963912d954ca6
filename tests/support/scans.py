"""The daily scan, run for a given day."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.notices.reminders import ReminderRules, scan

RULES = ReminderRules()


async def scan_on(sessions: async_sessionmaker[AsyncSession], day: date) -> dict[str, int]:
    async with sessions() as session, session.begin():
        return dict(await scan(session, today=day, now=datetime.combine(day, time(1), UTC), rules=RULES))
