from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from bot.conversation import ConversationRunner
from bot.flood import FloodGuard, HourlyLimit
from bot.metrics import Metrics
from handlers.notices.quiet import QuietHours
from handlers.types import Quotas
from storage.db import create_engine, create_sessionmaker
from storage.migrate import upgrade_database
from tests.support.channels import Channels, producer_on_three_channels
from tests.support.clock import Clock
from tests.support.fakes import Chat
from tests.support.flood_rules import CHAT_INTERVAL

POSTGRES_URL = os.environ.get("OCOP_TEST_POSTGRES_URL")


@pytest.fixture(autouse=True)
def chat_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    """The bot keeps the fakes' per-chat rule (tests.support.fakes.CHAT_INTERVAL), in this process and any it starts."""
    monkeypatch.setenv("OCOP_CHAT_INTERVAL", str(CHAT_INTERVAL))


def _postgres_or_skip() -> str:
    if POSTGRES_URL:
        return POSTGRES_URL
    if os.environ.get("CI") == "true":
        pytest.fail("OCOP_TEST_POSTGRES_URL must be set in CI: PostgreSQL tests may not be skipped there")
    pytest.skip("OCOP_TEST_POSTGRES_URL is not set")


@contextlib.asynccontextmanager
async def fresh_postgres_database() -> AsyncIterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    base = make_url(_postgres_or_skip())
    name = f"ocop_t_{uuid.uuid4().hex[:12]}"
    admin_dsn = base.set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    async with fresh_postgres_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'ocop.db'}"
    else:
        async with fresh_postgres_database() as url:
            yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'ocop.db'}"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def make_runner(tmp_path: Path, clock: Clock) -> AsyncIterator[Callable]:
    """Builds a runner on a database URL; several calls on one URL act like a restart or a second process."""
    engines = []

    async def make(url: str, max_upload_mb: int = 1, flood: FloodGuard | None = None,
                   metrics: Metrics | None = None, quotas: Quotas | None = None,
                   uploads: HourlyLimit | None = None, quiet: QuietHours | None = None) -> ConversationRunner:
        engine = create_engine(url)
        engines.append(engine)
        await upgrade_database(engine)
        return ConversationRunner(create_sessionmaker(engine), data_dir=tmp_path / "data",
                                  max_upload_bytes=max_upload_mb * 1024 * 1024, default_language="vi", clock=clock,
                                  flood=flood, metrics=metrics, quotas=quotas, uploads=uploads, quiet=quiet)

    yield make
    for engine in engines:
        await engine.dispose()


@pytest.fixture
async def chat(make_runner: Callable, sqlite_url: str) -> Chat:
    return Chat(await make_runner(sqlite_url))


@pytest.fixture
async def channels(tmp_path: Path, aiohttp_client: Any) -> AsyncIterator[Channels]:
    async for bot in producer_on_three_channels(tmp_path, aiohttp_client):
        yield bot
