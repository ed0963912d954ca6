"""What the operator commands share: an up-to-date database for one command, and finding a province by name."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.settings import Settings
from handlers.forms import matching
from storage.db import create_engine, create_sessionmaker
from storage.migrate import upgrade_database


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


find_province = matching.find_province  # the operator's commands name provinces as people do
