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
# The lock replicas starting together take around the migrations (PostgreSQL; the first key is ours alone, see
# storage.outbox.CLAIM_LOCKS for the other).
MIGRATION_LOCK = (0x0C0C, 1)


def alembic_config(connection: Connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_SCRIPTS))
    # env.py runs on the connection we hand it, so the URL (and its password) never goes into config.
    cfg.attributes["connection"] = connection
    return cfg


async def upgrade_database(engine: AsyncEngine) -> None:
    if engine.dialect.name != "sqlite":
        async with engine.begin() as conn:
            # Replicas started together would each find the database empty and create the same tables: all but one
            # failed on a unique violation. The first to get the lock migrates; the rest wait for its commit, then
            # read the new revision and have nothing to do. Held until this transaction ends.
            await conn.execute(text("SELECT pg_advisory_xact_lock(:a, :b)"),
                               {"a": MIGRATION_LOCK[0], "b": MIGRATION_LOCK[1]})
            await conn.run_sync(lambda sync_conn: command.upgrade(alembic_config(sync_conn), "head"))
        return
    async with engine.connect() as conn:
        # SQLite changes a constraint by copying the table; with foreign keys on, dropping the old copy fails while
        # other rows point at it. The switch only works outside a transaction, and every key is checked after.
        await conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        await conn.commit()
        try:
            # The write lock before alembic reads the revision: two processes migrating at once would both find
            # the database empty (the second then waits on the lock and creates tables that exist).
            await conn.exec_driver_sql("BEGIN IMMEDIATE")
            await conn.run_sync(lambda sync_conn: command.upgrade(alembic_config(sync_conn), "head"))
            broken = (await conn.exec_driver_sql("PRAGMA foreign_key_check")).all()
            if broken:
                raise RuntimeError(f"migration left rows pointing nowhere: {broken[:5]}")
            await conn.commit()
        finally:
            await conn.rollback()
            await conn.exec_driver_sql("PRAGMA foreign_keys=ON")
            await conn.commit()


async def new_revision(engine: AsyncEngine, message: str) -> Path:
    """Write the next migration from what the models hold that the database (brought to head first) does not;
    returns its file, to read and finish by hand (data moves, SQLite batch details) before it is committed."""
    await upgrade_database(engine)
    async with engine.connect() as conn:
        def write(sync_conn: Connection) -> Path:
            cfg = alembic_config(sync_conn)
            cfg.set_main_option("file_template", "%%(rev)s_%%(slug)s")
            head = ScriptDirectory.from_config(cfg).get_current_head()
            rev_id = f"{int(head or 0) + 1:04d}"  # revisions are numbered in order: 0019, 0020, ...
            script = command.revision(cfg, message=message, autogenerate=True, rev_id=rev_id)
            assert script is not None and not isinstance(script, list)
            return Path(script.path)
        return await conn.run_sync(write)


async def migration_state(engine: AsyncEngine) -> tuple[str | None, str | None]:
    """(the database's revision, the code's head); raises when the database cannot be reached."""
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
        revision = await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())
        head = await conn.run_sync(lambda c: ScriptDirectory.from_config(alembic_config(c)).get_current_head())
    return revision, head
