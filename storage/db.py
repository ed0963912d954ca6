"""Engine and session creation; SQLite gets WAL and foreign keys, PostgreSQL runs as is."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar, cast

from sqlalchemy import Connection, CursorResult, Executable, event
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.util import await_only
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.writer import SqliteWriter, attach_writer


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


POOL_SIZE = 20  # per process, kept open; as many again opened under a burst (replicas x 40 <= max_connections)


def create_engine(url: str) -> AsyncEngine:
    if not is_sqlite(url):
        # No ping per checkout (a round trip per transaction): a connection found dead is handled where it is used
        # (Transactions.run tries once more, the conversation runner retries an update).
        # Connections kept open for as many transactions as run at once here (16 chats' steps, the sent marks, the
        # dispatcher): with SQLAlchemy's 5, the overflow was closed at every return and opened again at once — a
        # new connection, its type codecs and every statement prepared anew, for one update in five.
        return create_async_engine(url, pool_size=POOL_SIZE, max_overflow=POOL_SIZE)
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, connect_args={"timeout": 30})

    @event.listens_for(engine.sync_engine, "connect")
    def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]  # DBAPI objects: untyped
        cursor = dbapi_connection.cursor()
        # WAL lets readers proceed while one update commits; synchronous=NORMAL is still durable
        # against process crashes, which is the failure we guard against.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    if database and database != ":memory:":  # an in-memory database is one connection's: no second one to write on
        _queue_behind_writer(engine, attach_writer(engine, database))
    return engine


def _queue_behind_writer(engine: AsyncEngine, writer: SqliteWriter) -> None:
    """SQLite has one writer at a time, and a writer that finds the lock taken sleeps in steps of up to a
    second (its busy handler), unfairly. So this engine's pooled connections, before their first write
    statement, queue in the writer thread's own queue (storage.writer), and the thread stands aside until
    their transaction ends (the connection goes back to the pool). Reads never wait. Other processes (CLI
    commands) still meet SQLite's own lock."""

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _before_write(conn, _cursor, statement, _params, _context, _many) -> None:  # type: ignore[no-untyped-def]  # DBAPI objects: untyped
        if conn.info.get(_WRITING) or statement.lstrip()[:6].upper() not in _WRITES:
            return
        # We are inside SQLAlchemy's greenlet: this awaits on the event loop.
        conn.info[_WRITING] = await_only(_turn(writer))

    @event.listens_for(engine.sync_engine.pool, "checkin")
    def _after_commit(_dbapi_connection, record) -> None:  # type: ignore[no-untyped-def]  # DBAPI objects: untyped
        if record is not None and (finished := record.info.pop(_WRITING, None)) is not None:
            finished.set()


_WRITING = "ocop_holds_write_turn"
_WRITES = {"INSERT", "UPDATE", "DELETE", "REPLAC"}


async def _turn(writer: SqliteWriter) -> threading.Event:
    try:
        async with asyncio.timeout(30):  # as long as SQLite's own busy timeout
            return await writer.turn()
    except TimeoutError:
        raise sqlite3.OperationalError("database is locked (waited 30 s for this process's other writers)") from None


def aware(moment: datetime) -> datetime:
    """SQLite hands some times back (aggregates, plain selects) without their time zone: the stored times are UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


# Both take a table or a model class (SQLAlchemy's stubs name only the table).
DialectInsert = Callable[[Any], postgresql.Insert] | Callable[[Any], sqlite.Insert]


def dialect_insert(session: AsyncSession) -> DialectInsert:
    """The INSERT that knows ON CONFLICT for this session's database."""
    return postgresql.insert if on_postgresql(session) else sqlite.insert


async def core(session: AsyncSession, statement: Executable,
               params: dict[str, Any] | list[dict[str, Any]] | None = None) -> CursorResult[Any]:
    """A Core statement on the session's own connection (same transaction), without the ORM's per-statement work:
    for the statements every update runs. A list of params is one executemany (cached, unlike multi-row VALUES)."""
    sync = session.sync_session
    bind = sync.get_bind()
    if isinstance(bind, Connection) and not bind.dialect.is_async:  # the SQLite writer: we are on its thread
        return sync.connection().execute(statement, params)
    connection = await session.connection()
    return await connection.execute(statement, params)


M = TypeVar("M", bound=SQLModel)


def as_loaded(session: AsyncSession, model: type[M], values: Sequence[Any]) -> M:
    """A row read by a Core statement (the table's columns, in order) as the model instance the ORM would have
    loaded: persistent in the session, its changes flushed as UPDATEs. An ORM select costs about 100 µs more per
    row in building the object, and the update path reads two rows every time."""
    mapper = sa_inspect(model)
    instance = mapper.class_manager.new_instance()
    for column, value in zip(mapper.local_table.columns, values, strict=True):
        set_committed_value(instance, column.key, value)
    make_transient_to_detached(instance)
    session.add(instance)
    return cast(M, instance)


def on_postgresql(session: AsyncSession) -> bool:
    # The sync session's bind: in the SQLite writer that is a Connection the async session does not know of.
    return session.sync_session.get_bind().dialect.name == "postgresql"


async def insert_ignoring_duplicates(session: AsyncSession, model: type[SQLModel], rows: list[dict[str, Any]],
                                     unique: list[str]) -> int:
    """INSERT … ON CONFLICT DO NOTHING on SQLite and PostgreSQL alike: how two replicas create the same row
    at the same moment without one of them failing. Returns how many rows were inserted."""
    if not rows:
        return 0
    statement = dialect_insert(session)(model).values(rows).on_conflict_do_nothing(index_elements=unique)
    result = await session.exec(statement)
    return int(result.rowcount or 0)
