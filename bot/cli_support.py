"""What the operator commands share: an up-to-date database for one command, and finding a province by name."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.settings import Settings
from handlers.matching import Choice, match_choice
from storage.db import create_engine, create_sessionmaker
from storage.migrate import upgrade_database
from storage.reference import load_reference


@asynccontextmanager
async def database(settings: Settings) -> AsyncIterator[AsyncSession]:
    """One committed session on an up-to-date database, for a command that runs and exits."""
    engine = create_engine(settings.database_url)
    try:
        await upgrade_database(engine)
        async with create_sessionmaker(engine)() as session, session.begin():
            yield session
    finally:
        await engine.dispose()


def find_province(typed: str) -> str | None:
    choices = [Choice(p.code, p.vi, (*p.aliases, *p.former)) for p in load_reference().provinces]
    found = match_choice(typed, choices)
    return found.id if found else None
