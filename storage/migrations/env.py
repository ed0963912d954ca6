"""Alembic environment. `storage.migrate` hands it a live connection; the `alembic` command line (alembic.ini at the
project's root) gets one here, to OCOP_DATABASE_URL as the bot reads it (else the ini's `sqlalchemy.url`)."""

import asyncio
import os

from alembic import context
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (registers the tables on SQLModel.metadata)


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite can only ALTER via table copies
    )
    with context.begin_transaction():
        context.run_migrations()


async def from_the_command_line(url: str) -> None:
    from storage.db import create_engine

    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            await conn.run_sync(run)
            await conn.commit()
    finally:
        await engine.dispose()


given = context.config.attributes.get("connection")
if given is not None:
    run(given)
else:
    asyncio.run(from_the_command_line(os.environ.get("OCOP_DATABASE_URL")
                                      or context.config.get_main_option("sqlalchemy.url") or ""))
