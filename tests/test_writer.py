"""The SQLite writer (storage/writer.py): every write of the process in one thread, transactions that arrive together
committed together, each inside its own savepoint, nobody answered before the commit."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.conversation import ConversationRunner
from storage.db import create_engine, create_sessionmaker
from storage.models import ChatAccount
from storage.writer import ChangedInRead, NotSaved, SqliteWriter, Transactions, WaitedInTransaction, writer_for
from tests.support.catalog import says
from tests.support.checks import present
from tests.support.fakes import JPEG, Chat


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'w.db'}")
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE parent (id INTEGER PRIMARY KEY)"))
        await connection.execute(text("CREATE TABLE note (n INTEGER, who TEXT, "
                                      "parent INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)"))
    yield engine
    await engine.dispose()


def the_writer(engine: AsyncEngine) -> SqliteWriter:
    return present(writer_for(engine))


NOTE = Table("note", MetaData(), Column("n", Integer), Column("who", String), Column("parent", Integer))


def insert(n: int, who: str = "", parent: int | None = None) -> Callable[[AsyncSession], Any]:
    async def work(session: AsyncSession) -> int:
        await session.exec(NOTE.insert().values(n=n, who=who, parent=parent))
        return n
    return work


def rows(path: Path, query: str = "SELECT n, who FROM note ORDER BY rowid") -> list[tuple[Any, ...]]:
    """What another process would read: its own connection, so only committed rows."""
    with contextlib.closing(sqlite3.connect(path)) as connection:
        return connection.execute(query).fetchall()


@contextlib.asynccontextmanager
async def writer_held(writer: SqliteWriter) -> AsyncIterator[None]:
    """Keeps the writer thread aside (as another connection of the process writing would), so that what is
    submitted meanwhile arrives together and is committed as one group when this ends."""
    finished = await writer.turn()
    try:
        yield
    finally:
        finished.set()


async def queued(tasks: list[asyncio.Task[Any]]) -> None:
    await asyncio.sleep(0.05)  # each task ran up to its wait: its transaction is in the writer's queue
    assert not any(task.done() for task in tasks)


async def test_transactions_arriving_together_share_one_commit_in_the_order_they_came(engine: AsyncEngine,
                                                                                     tmp_path: Path) -> None:
    writer = the_writer(engine)
    transactions = Transactions(create_sessionmaker(engine))
    await transactions.run(insert(0))
    commits_before = writer.commits
    async with writer_held(writer):
        tasks = [asyncio.create_task(transactions.run(insert(n))) for n in range(1, 21)]
        await queued(tasks)
    assert await asyncio.gather(*tasks) == list(range(1, 21))
    assert [n for n, _ in rows(tmp_path / "w.db")] == list(range(21))
    assert writer.commits == commits_before + 1  # twenty transactions, one COMMIT


async def test_a_failing_transaction_is_undone_alone_and_its_neighbours_in_the_group_are_kept(
        engine: AsyncEngine, tmp_path: Path) -> None:
    writer = the_writer(engine)
    transactions = Transactions(create_sessionmaker(engine))

    async def fails(session: AsyncSession) -> None:
        await insert(2, "undone")(session)
        raise ValueError("a handler's error")

    async with writer_held(writer):
        tasks = [asyncio.create_task(transactions.run(work)) for work in (insert(1, "kept"), fails, insert(3, "kept"))]
        await queued(tasks)
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert results[0] == 1 and results[2] == 3
    assert isinstance(results[1], ValueError)
    assert rows(tmp_path / "w.db") == [(1, "kept"), (3, "kept")]


async def test_nobody_hears_of_a_transaction_before_its_commit(engine: AsyncEngine, tmp_path: Path) -> None:
    transactions = Transactions(create_sessionmaker(engine))
    for n in range(30):
        await transactions.run(insert(n))
        # The moment the caller is answered, another connection reads the row: it was committed first.
        assert rows(tmp_path / "w.db", "SELECT max(n) FROM note") == [(n,)]


async def test_a_failed_commit_fails_the_whole_group_and_keeps_nothing_of_it(engine: AsyncEngine,
                                                                             tmp_path: Path) -> None:
    writer = the_writer(engine)
    transactions = Transactions(create_sessionmaker(engine))

    async def breaks_the_commit(session: AsyncSession) -> None:
        # A deferred foreign key is checked at COMMIT: the statement succeeds, the group's COMMIT fails.
        await insert(99, "orphan", parent=12345)(session)

    async with writer_held(writer):
        tasks = [asyncio.create_task(transactions.run(work)) for work in (insert(1), breaks_the_commit, insert(2))]
        await queued(tasks)
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(result, NotSaved) for result in results)
    assert rows(tmp_path / "w.db") == []
    assert await transactions.run(insert(3)) == 3  # the writer goes on
    assert rows(tmp_path / "w.db") == [(3, "")]


async def test_waiting_on_anything_but_the_database_inside_a_transaction_fails_loudly(engine: AsyncEngine,
                                                                                     tmp_path: Path) -> None:
    transactions = Transactions(create_sessionmaker(engine))

    async def downloads_inside(session: AsyncSession) -> None:
        await insert(1)(session)
        await asyncio.sleep(0.01)  # a download, a lock, a sleep: everyone's writes would wait for it

    with pytest.raises(WaitedInTransaction):
        await transactions.run(downloads_inside)
    assert rows(tmp_path / "w.db") == []
    assert await transactions.run(insert(2)) == 2


async def test_the_pools_own_writers_queue_with_the_writer_thread_and_never_meet_a_locked_database(
        engine: AsyncEngine, tmp_path: Path) -> None:
    """The dispatcher, the scheduler and broadcasts write through pooled async sessions: they take their turn in the
    writer thread's queue, so a busy writer thread never leaves them sleeping on SQLite's lock (or failing)."""
    sessions = create_sessionmaker(engine)
    transactions = Transactions(sessions)

    async def pooled(n: int) -> None:
        async with sessions() as session, session.begin():
            await insert(n, "pooled")(session)

    await asyncio.gather(*(transactions.run(insert(n, "writer")) for n in range(200)),
                         *(pooled(1000 + n) for n in range(20)))
    written = rows(tmp_path / "w.db")
    assert len(written) == 220
    assert sum(1 for _, who in written if who == "pooled") == 20


async def test_the_writer_thread_ends_when_idle_and_comes_back_with_the_next_write(engine: AsyncEngine,
                                                                                   tmp_path: Path) -> None:
    writer = the_writer(engine)
    transactions = Transactions(create_sessionmaker(engine))
    await transactions.run(insert(1))
    await asyncio.sleep(writer.IDLE_SECONDS + 0.5)
    assert writer._thread is None  # an engine that is dropped leaves no thread behind
    assert await transactions.run(insert(2)) == 2
    assert [n for n, _ in rows(tmp_path / "w.db")] == [1, 2]


# The runner: a person's step through the writer.

async def test_a_failed_commit_asks_everyone_in_the_group_to_send_again_and_their_step_is_unchanged(
        make_runner: Callable[..., Any], sqlite_url: str, tmp_path: Path) -> None:
    runner: ConversationRunner = await make_runner(sqlite_url)
    lan, minh = Chat(runner, user="lan", channel="telegram"), Chat(runner, user="minh", channel="telegram")
    for person in (lan, minh):
        await person.say("/start")
        await person.tap("menu:register")
        await person.agree_if_asked()
    asked = {person.user: person.last for person in (lan, minh)}
    writer = present(writer_for(present(runner.sessions.kw.get("bind"))))

    async def breaks_the_commit(session: AsyncSession) -> None:
        # Raw SQL on the writer's own connection: a chat state for an account that does not exist, its foreign key
        # checked only at COMMIT.
        session.sync_session.execute(text("PRAGMA defer_foreign_keys = ON"))
        session.sync_session.execute(text("INSERT INTO conversation_state (account_id, data, version, updated_at) "
                                          "VALUES (987654, '{}', 0, '2026-01-01')"))

    async with writer_held(writer):
        answers = [asyncio.create_task(person.say("Hợp tác xã")) for person in (lan, minh)]
        poison = asyncio.create_task(Transactions(runner.sessions).run(breaks_the_commit))
        await queued([*answers, poison])
    await asyncio.gather(*answers)
    assert isinstance(poison.exception(), NotSaved)
    for person in (lan, minh):
        assert says(person.last, "error.not_saved")
    # Nothing of the failed group was kept: the same question is open, and answering it again goes on.
    for person in (lan, minh):
        await person.say("Hợp tác xã")
        assert person.last != asked[person.user]
        assert not says(person.text, "error.not_saved")


async def test_a_handler_that_would_wait_inside_the_transaction_is_refused_and_logged(
        make_runner: Callable[..., Any], sqlite_url: str, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    runner: ConversationRunner = await make_runner(sqlite_url)
    chat = Chat(runner, user="lan")
    await chat.say("/start")

    from handlers import router

    async def waits(*_: Any) -> Any:
        await asyncio.sleep(0.01)

    monkeypatch.setattr(router, "handle", waits)
    with caplog.at_level(logging.ERROR):
        await chat.say("xin chào")
    assert says(chat.last, "error.unexpected")
    assert "WaitedInTransaction" in caplog.text


async def test_a_read_that_changes_what_it_read_fails_loudly(engine: AsyncEngine) -> None:
    """Reads after the step (statistics, lists) run on a connection of their own and are never committed: a change
    made there would silently vanish, so it is refused."""
    transactions = Transactions(create_sessionmaker(engine))
    assert await transactions.read(lambda session: asyncio.sleep(0, "read")) == "read"  # a read may wait freely

    async def change(session: AsyncSession) -> None:
        session.add(ChatAccount(channel="web", chat_id="x", role="producer", language="vi"))

    with pytest.raises(ChangedInRead):
        await transactions.read(change)


async def test_a_photo_being_checked_holds_up_no_one_elses_answer(make_runner: Callable, sqlite_url: str,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Decoding a sent photo to its end takes a while on a phone-sized picture: it happens before the update's
    transaction, so another person writing meanwhile is answered at once."""
    from storage.blobs import checked_content

    runner = await make_runner(sqlite_url)
    checking, may_finish = threading.Event(), threading.Event()

    def slow_check(content: bytes, mime: str) -> bytes | str:
        checking.set()
        assert may_finish.wait(20)
        return checked_content(content, mime)

    monkeypatch.setattr("bot.conversation.checked_content", slow_check)
    sending = asyncio.create_task(Chat(runner, user="with-photo").send_file(JPEG, "image/jpeg"))
    assert await asyncio.to_thread(checking.wait, 10)
    other = Chat(runner, user="other")
    await asyncio.wait_for(other.say("xin chào"), 10)
    assert other.replies and not sending.done()
    may_finish.set()
    assert await asyncio.wait_for(sending, 20)  # and the photo's sender is answered too
