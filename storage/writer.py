"""Where a process's write transactions run: on SQLite one writer thread with its own connection, committing the
transactions that arrive together at once; on PostgreSQL a pooled session each.

A transaction is a coroutine function given the session (`work(session)`). On SQLite it runs to its end in the
writer thread without ever yielding to an event loop: the session answers at once, so `await session.exec(...)`
never suspends, and anything that would (a download, a sleep, a lock) fails loudly as `WaitedInTransaction`
instead of holding up every other chat's writes. Each transaction of a group runs inside its own SAVEPOINT, so
one that fails is rolled back alone; the group's COMMIT is one fsync for all, and no caller hears of its result
before that COMMIT. A failed COMMIT fails the whole group with `NotSaved`: nothing of it was kept.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import queue
import threading
import weakref
from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from sqlalchemy import Connection, event
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import Session
from sqlmodel.ext.asyncio.session import AsyncSession

log = logging.getLogger(__name__)

T = TypeVar("T")
Work = Callable[[AsyncSession], Awaitable[T]]


class WaitedInTransaction(RuntimeError):
    """Code inside a write transaction waited on something other than the database (I/O, a sleep, a lock).
    Do that before the transaction: while it waits, nobody else in the process can write."""


class ChangedInRead(RuntimeError):
    """A read (Transactions.read) changed objects of its session: that would be lost, so it fails loudly."""


class NotSaved(RuntimeError):
    """The transaction's group could not be committed: nothing of it was kept (the caller may try again)."""


class Transactions:
    """Runs write transactions for one database: `await transactions.run(work)`."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        engine = getattr(sessions, "kw", {}).get("bind")  # a test's stand-in for a sessionmaker has no kw
        self._writer = writer_for(engine) if isinstance(engine, AsyncEngine) else None

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        return self._sessions

    async def run(self, work: Work[T]) -> T:
        if self._writer is not None:
            return await self._writer.run(work)
        return await self._on_a_live_connection(work, write=True)

    async def read(self, work: Work[T]) -> T:
        """A read that may be slow (statistics, an export) on a pooled connection of its own, never in the writer:
        under WAL it reads the last committed state while writes go on. A change it makes fails loudly."""
        async def unchanged(session: AsyncSession) -> T:
            result = await work(session)
            if session.new or session.dirty or session.deleted:
                raise ChangedInRead("a read after the step changed what it read; changes belong in the step")
            return result

        return await self._on_a_live_connection(unchanged, write=False)

    async def _on_a_live_connection(self, work: Work[T], *, write: bool) -> T:
        for attempt in range(2):
            try:
                async with self._sessions() as session, (session.begin() if write else contextlib.nullcontext()):
                    return await work(session)
            except DBAPIError as exc:
                # A connection that died while it idled in the pool (a database restart): SQLAlchemy has marked
                # every pooled connection of before as stale, so one more try gets a fresh one. This replaces a
                # ping on every checkout, a round trip per transaction.
                if not exc.connection_invalidated or attempt:
                    raise
                log.info("a pooled database connection had died; running the transaction again on a new one")
        raise AssertionError("unreachable: the second try returns or raises")


async def off_the_loop(function: Callable[..., T], *args: Any) -> T:
    """Slow work (checking a photo, drawing a chart) without holding up the event loop: in a worker thread from
    the loop, and right here in the writer thread, which is off the loop already."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return function(*args)
    return await asyncio.to_thread(function, *args)


def writer_for(engine: AsyncEngine) -> SqliteWriter | None:
    """The engine's writer (one per SQLite engine, made with it by storage.db.create_engine); None on PostgreSQL."""
    return _WRITERS.get(engine.sync_engine)


def attach_writer(engine: AsyncEngine, database: str) -> SqliteWriter:
    writer = _WRITERS[engine.sync_engine] = SqliteWriter(database)
    return writer


_WRITERS: weakref.WeakKeyDictionary[Any, SqliteWriter] = weakref.WeakKeyDictionary()


@atexit.register
def _finish_writers() -> None:
    """A writer thread is a daemon: at exit it would be stopped with its connection open, leaving the last commits in
    the -wal file beside the database. Ended here, its connection closes, and the last connection to close moves
    the WAL into the database file, so the file left behind (and any plain copy of it) holds everything."""
    for writer in list(_WRITERS.values()):
        writer.finish()


@dataclass
class _Job:
    work: Work[Any]
    done: asyncio.Future[Any]


_Result = tuple[_Job, Any, BaseException | None]  # a job, its value, or the error to raise instead


class _Stop:
    """Asks the writer thread to end now, after what was queued before it."""


_STOP = _Stop()


@dataclass
class _Turn:
    """Another connection of this process wants to write (the pool's async sessions: the dispatcher, the
    scheduler, broadcasts): it waits in the same queue, and the writer thread stands aside until it is done."""
    granted: asyncio.Future[None]
    finished: threading.Event = field(default_factory=threading.Event)


class SqliteWriter:
    """One thread, one synchronous connection. The thread starts with the first write and ends after a second with
    nothing to do (so an engine that is dropped leaves no thread behind)."""

    BATCH = 64  # transactions in one COMMIT at most: a bound on how long the first of them waits for the last
    IDLE_SECONDS = 1.0
    TURN_SECONDS = 30.0  # as long as SQLite's own busy timeout

    def __init__(self, database: str) -> None:
        self._database = database
        self._queue: queue.SimpleQueue[_Job | _Turn | _Stop] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.commits = 0  # groups committed, and the transactions in them: for tests and the metrics
        self.committed = 0

    async def run(self, work: Work[T]) -> T:
        done: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._put(_Job(work, done))
        return await done

    async def turn(self) -> threading.Event:
        """Wait until this process's other writes are done; set the returned event when yours is committed."""
        granted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        turn = _Turn(granted)
        self._put(turn)
        try:
            await granted
        except asyncio.CancelledError:
            turn.finished.set()  # given up: the writer thread does not wait for it
            raise
        return turn.finished

    def finish(self, timeout: float = 5.0) -> None:
        """End the thread now rather than after its idle second, and wait for it (its connection closes)."""
        with self._lock:
            thread = self._thread
            if thread is None:
                return
            self._queue.put(_STOP)
        thread.join(timeout)

    def _put(self, item: _Job | _Turn) -> None:
        with self._lock:
            self._queue.put(item)
            if self._thread is None:
                self._thread = threading.Thread(target=self._serve, name="sqlite-writer", daemon=True)
                self._thread.start()

    def _serve(self) -> None:
        engine = create_sync_engine(f"sqlite:///{self._database}", connect_args={"timeout": 30})
        event.listen(engine, "connect", _writer_pragmas)
        # pysqlite would begin a plain deferred transaction at the first write; the writer takes the write lock at
        # once, so the update's reads see what it then writes on (and a writer elsewhere cannot slip in between).
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
        try:
            with engine.connect() as connection:
                waiting: _Job | _Turn | _Stop | None = None
                while True:
                    item = waiting or self._next()
                    waiting = None
                    if item is None or isinstance(item, _Stop):
                        return
                    if isinstance(item, _Turn):
                        _stand_aside(item, self.TURN_SECONDS)
                        continue
                    batch = [item]
                    while len(batch) < self.BATCH:
                        try:
                            more = self._queue.get_nowait()
                        except queue.Empty:
                            break
                        if isinstance(more, _Turn | _Stop):
                            waiting = more
                            break
                        batch.append(more)
                    committed = _commit_together(connection, batch)
                    if committed is not None:
                        self.commits += 1  # counted before anyone hears of it
                        self.committed += len(batch)
                        _settle(committed)
        except BaseException:
            log.exception("the SQLite writer stopped")
            raise
        finally:
            engine.dispose()
            self._after_error()

    def _next(self) -> _Job | _Turn | _Stop | None:
        try:
            return self._queue.get(timeout=self.IDLE_SECONDS)
        except queue.Empty:
            pass
        with self._lock:  # nothing came: end the thread, unless something arrived just now
            try:
                return self._queue.get_nowait()
            except queue.Empty:
                self._thread = None
                return None

    def _after_error(self) -> None:
        """The thread ended. When an error ended it (not idleness), what is still queued goes to a new thread."""
        with self._lock:
            if self._thread is not threading.current_thread():
                return  # it ended idle: `_next` let go of it already
            self._thread = None
            if not self._queue.empty():
                self._thread = threading.Thread(target=self._serve, name="sqlite-writer", daemon=True)
                self._thread.start()


def _writer_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # transactions are begun explicitly (the "begin" listener)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=30000"):
        dbapi_connection.execute(f"PRAGMA {pragma}")


def _commit_together(connection: Connection, batch: list[_Job]) -> list[_Result] | None:
    """Runs the batch under one COMMIT: each job's result to hand out, or None when it was not committed (the
    jobs are told so here)."""
    results: list[_Result] = []
    try:
        transaction = connection.begin()
    except Exception as exc:  # the database is locked elsewhere for over 30 s, or gone
        _settle([(job, None, _not_saved(exc)) for job in batch])
        return None
    for job in batch:
        try:
            results.append((job, _run_in_savepoint(connection, job.work), None))
        except BaseException as exc:  # noqa: BLE001  (handed to the caller, who decides)
            results.append((job, None, exc))
    try:
        transaction.commit()
    except Exception as exc:
        log.warning("a group of %d transactions could not be committed: %s", len(batch), type(exc).__name__)
        with contextlib.suppress(Exception):  # the connection is rolled back or gone either way
            transaction.rollback()
        _roll_back_what_is_left(connection)
        _settle([(job, None, _not_saved(exc)) for job, _, _ in results])
        return None
    return results


def _roll_back_what_is_left(connection: Connection) -> None:
    """A COMMIT that SQLite refused (a deferred constraint, a full disk) leaves SQLite's transaction open while
    SQLAlchemy counts it as ended: end it, or the next group could not begin."""
    with contextlib.suppress(Exception):
        raw = connection.connection.dbapi_connection
        if raw is not None and raw.in_transaction:
            raw.execute("ROLLBACK")


def _not_saved(exc: Exception) -> NotSaved:
    error = NotSaved(f"not committed: {type(exc).__name__}: {exc}")
    error.__cause__ = exc
    return error


def _run_in_savepoint(connection: Connection, work: Work[T]) -> T:
    # Each job in a SAVEPOINT of the group's transaction: released when it ends, rolled back to (undoing this job
    # alone) when it fails. The savepoint is plain SQL and the session only joins the group's transaction
    # ("rollback_only": it never commits it, and is closed, not rolled back): SQLAlchemy's own nested transaction
    # cost the writer about 0.3 ms per job in building and tracking it.
    connection.exec_driver_sql("SAVEPOINT job")
    sync = Session(bind=connection, join_transaction_mode="rollback_only", expire_on_commit=False)
    # AsyncSession builds its sync session by calling sync_session_class: this one hands over the bound session.
    session = AsyncSession(sync_session_class=cast(type[Session], lambda **_: sync))
    try:
        result = run_without_waiting(work(session))
        sync.flush()
    except BaseException:
        connection.exec_driver_sql("ROLLBACK TO SAVEPOINT job")
        raise
    finally:
        connection.exec_driver_sql("RELEASE SAVEPOINT job")
        sync.close()
    return result


def run_without_waiting(awaitable: Awaitable[T]) -> T:
    """Run an awaitable that never needs the event loop to its end, here and now."""
    steps: Generator[Any, None, T] = awaitable.__await__()
    try:
        awaited = steps.send(None)
    except StopIteration as finished:
        return finished.value  # type: ignore[no-any-return]  # the awaitable's declared result
    except RuntimeError as exc:
        if "no running event loop" not in str(exc):
            raise
        # asyncio's sleep, timeouts, tasks and thread hand-offs all look for the loop first: there is none here.
        raise WaitedInTransaction("a write transaction used asyncio (a sleep, a task, a thread hand-off); "
                                  "do that before the transaction") from exc
    with contextlib.suppress(RuntimeError):
        steps.close()
    raise WaitedInTransaction(f"a write transaction waited on {awaited!r}; do that before the transaction")


def _settle(results: list[_Result]) -> None:
    by_loop: dict[asyncio.AbstractEventLoop, list[_Result]] = {}
    for result in results:
        by_loop.setdefault(result[0].done.get_loop(), []).append(result)
    for loop, settled in by_loop.items():
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
            loop.call_soon_threadsafe(_settle_on_loop, settled)


def _settle_on_loop(results: list[_Result]) -> None:
    for job, value, error in results:
        if job.done.done():
            continue
        if error is None:
            job.done.set_result(value)
        else:
            job.done.set_exception(error)


def _stand_aside(turn: _Turn, seconds: float) -> None:
    def grant() -> None:
        if not turn.granted.done():
            turn.granted.set_result(None)

    try:
        turn.granted.get_loop().call_soon_threadsafe(grant)
    except RuntimeError:  # its loop is closed: nobody is waiting
        return
    if not turn.finished.wait(seconds):
        log.warning("another writer of this process held its turn for over %.0f s; writing on", seconds)
