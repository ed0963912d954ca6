"""The hand-written migrations build exactly the tables the models describe, on both databases, and replicas
starting together migrate once."""

from __future__ import annotations

import asyncio
import shutil
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import storage.migrate
import storage.models  # noqa: F401  (registers the tables)
from storage.db import create_engine
from storage.migrate import migration_state, new_revision, upgrade_database
from tests.support.processes import clean_env

ROOT = Path(__file__).resolve().parents[1]


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


async def test_replicas_started_together_all_migrate_an_empty_database(db_url: str, tmp_path: Path) -> None:
    """Four `ocop-bot db upgrade` at once (replicas starting together): each ends well and the schema is whole."""
    env = clean_env(OCOP_DATABASE_URL=db_url, OCOP_DATA_DIR=str(tmp_path / "data"), PYTHONPATH=str(ROOT))
    started = [await asyncio.create_subprocess_exec(sys.executable, "-m", "bot.cli", "db", "upgrade", cwd=tmp_path,
                                                    env=env,
                                                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
               for _ in range(4)]
    outcomes = [(await p.wait(), (await p.stderr.read()).decode()) for p in started if p.stderr is not None]
    assert outcomes == [(0, "")] * 4
    engine = create_engine(db_url)
    try:
        revision, head = await migration_state(engine)
    finally:
        await engine.dispose()
    assert revision == head


async def test_a_new_migration_is_written_from_what_the_models_hold_and_the_database_lacks(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scripts = tmp_path / "migrations"
    shutil.copytree(ROOT / "storage" / "migrations", scripts, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(storage.migrate, "_SCRIPTS", scripts)
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'dev.db'}")
    try:
        await upgrade_database(engine)
        async with engine.begin() as conn:  # the database lacks an index the models declare
            await conn.exec_driver_sql("DROP INDEX ix_application_status")
        head = int(sorted(p.name for p in (scripts / "versions").glob("0*.py"))[-1][:4])
        written = await new_revision(engine, "application status index")
    finally:
        await engine.dispose()
    assert written.parent == scripts / "versions" and written.name == f"{head + 1:04d}_application_status_index.py"
    source = written.read_text(encoding="utf-8")
    assert f"revision: str = '{head + 1:04d}'" in source and f"down_revision: str | None = '{head:04d}'" in source
    upgrade = source.split("def upgrade", 1)[1].split("def downgrade", 1)[0]
    assert "create_index(batch_op.f('ix_application_status')" in upgrade  # SQLite changes tables in batches


async def test_alembics_own_command_line_reads_the_bots_database(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'ocop.db'}"
    engine = create_engine(url)
    try:
        await upgrade_database(engine)
        _, head = await migration_state(engine)
    finally:
        await engine.dispose()
    shown = await asyncio.create_subprocess_exec(sys.executable, "-m", "alembic", "-c", str(ROOT / "alembic.ini"),
                                                 "current", cwd=tmp_path, env=clean_env(OCOP_DATABASE_URL=url),
                                                 stdout=asyncio.subprocess.PIPE)
    out, _ = await shown.communicate()
    assert shown.returncode == 0 and out.decode().split() == [str(head), "(head)"]
