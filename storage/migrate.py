"""Alembic migrations, applied on start-up and by `ocop-bot db upgrade`."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

_SCRIPTS = Path(__file__).parent / "migrations"


def alembic_config(connection: Connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_SCRIPTS))
    # env.py runs on the connection we hand it, so the URL (and its password) never goes into config.
    cfg.attributes["connection"] = connection
    return cfg


async def upgrade_database(engine: AsyncEngine) -> None:
    if engine.dialect.name != "sqlite":
        async with engine.begin() as conn:
            await conn.run_sync(lambda sync_conn: command.upgrade(alembic_config(sync_conn), "head"))
        return
    async with engine.connect() as conn:
        # SQLite changes a constraint by copying the table; with foreign keys on, dropping the old copy fails while
        # other rows point at it. The switch only works outside a transaction, and every key is checked after.
        await conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        await conn.commit()
        try:
            await conn.run_sync(lambda sync_conn: command.upgrade(alembic_config(sync_conn), "head"))
            broken = (await conn.exec_driver_sql("PRAGMA foreign_key_check")).all()
            if broken:
                raise RuntimeError(f"migration left rows pointing nowhere: {broken[:5]}")
            await conn.commit()
        finally:
            await conn.rollback()
            await conn.exec_driver_sql("PRAGMA foreign_keys=ON")
            await conn.commit()


async def migration_state(engine: AsyncEngine) -> tuple[str | None, str | None]:
    """(the database's revision, the code's head); raises when the database cannot be reached."""
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
        revision = await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())
        head = await conn.run_sync(lambda c: ScriptDirectory.from_config(alembic_config(c)).get_current_head())
    return revision, head
