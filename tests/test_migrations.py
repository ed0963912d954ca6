"""The hand-written migrations build exactly the tables the models describe, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (registers the tables)
from storage.db import create_engine
from storage.migrate import upgrade_database


async def test_migrations_match_the_models(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        await upgrade_database(engine)
        async with engine.connect() as conn:
            diffs = await conn.run_sync(lambda sync: compare_metadata(MigrationContext.configure(sync),
                                                                      SQLModel.metadata))
    finally:
        await engine.dispose()
    assert diffs == []
