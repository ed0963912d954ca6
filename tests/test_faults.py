"""Fault runs: the database locked or dropping connections, the Bot API timing out, the process killed in the
middle of a broadcast. Afterwards nothing is lost and nothing is sent twice (or, for a hard kill, only what was
in flight at that instant, which no chat platform lets a sender know)."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import sys
import threading
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, time
from pathlib import Path

import aiohttp
import asyncpg
from sqlalchemy import event, insert
from sqlalchemy.engine import make_url
from sqlalchemy.util import await_only
from sqlmodel import col, select

from bot.channels.telegram import build_application, outbox_send
from bot.channels.telegram_request import AiohttpBotRequest
from bot.conversation import ConversationRunner
from bot.http.webhooks import TELEGRAM_SECRET_HEADER
from bot.outbox.dispatcher import Dispatcher, Limits
from bot.settings import webhook_secret
from storage.db import create_engine
from storage.migrate import upgrade_database
from storage.models import ChatAccount, ConversationState, OutboxMessage
from storage.outbox import enqueue
from tests.support.catalog import says
from tests.support.checks import present
from tests.support.fake_bot_api_server import FakeBotApiServer
from tests.support.fakes import Chat, pacer_for_tests
from tests.support.processes import ROOT, TOKEN, clean_env, free_port


async def state_of(runner: ConversationRunner) -> ConversationState:
    async with runner.sessions() as session:
        return (await session.exec(select(ConversationState))).one()


async def test_an_update_waits_out_another_process_holding_the_sqlite_lock(make_runner: Callable,
                                                                           sqlite_url: str) -> None:
    runner = await make_runner(sqlite_url)
    chat = Chat(runner, user="lan")
    await chat.say("/dangky")
    await chat.agree_if_asked()
    path = make_url(sqlite_url).database
    locked, release = threading.Event(), threading.Event()

    def other_process() -> None:  # e.g. `ocop-bot import products` writing a big batch
        conn = sqlite3.connect(present(path))
        conn.execute("BEGIN EXCLUSIVE")
        locked.set()
        release.wait(5)
        conn.commit()
        conn.close()

    holder = threading.Thread(target=other_process)
    holder.start()
    await asyncio.to_thread(locked.wait, 5)
    answer = asyncio.create_task(chat.say("Hợp tác xã"))
    await asyncio.sleep(1.0)
    assert not answer.done()  # waiting for the lock, not failing
    release.set()
    await answer
    await asyncio.to_thread(holder.join)
    assert says(chat.text, "ask.producer_name")  # answered normally once the lock was free
    assert (await state_of(runner)).data["entity_type"] == "cooperative"


async def test_postgres_connections_killed_between_and_during_updates(make_runner: Callable,
                                                                      postgres_url: str) -> None:
    runner = await make_runner(postgres_url)
    chat = Chat(runner, user="binh")
    await chat.say("/dangky")
    await chat.agree_if_asked()
    admin = await asyncpg.connect(make_url(postgres_url).set(drivername="postgresql")
                                  .render_as_string(hide_password=False))
    try:
        database = make_url(postgres_url).database
        kill_all = ("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = $1 AND pid <> pg_backend_pid()")
        # Between updates (a database restart while the bot idles): every pooled connection is dead.
        await admin.execute(kill_all, database)
        await chat.say("Hợp tác xã")
        assert says(chat.text, "ask.producer_name")

        # During an update: the connection dies just as the new step is being written.
        engine = runner.sessions.kw["bind"]
        fired: list[int] = []

        @event.listens_for(engine.sync_engine, "before_cursor_execute")
        def kill_this_connection(conn, _cursor, statement, _params, _context, _many) -> None:
            if statement.startswith("UPDATE conversation_state") and not fired:
                pid = conn.connection.dbapi_connection._connection.get_server_pid()
                fired.append(pid)
                await_only(admin.execute("SELECT pg_terminate_backend($1)", pid))

        await chat.say("HTX Chè Tân Cương")
        event.remove(engine.sync_engine, "before_cursor_execute", kill_this_connection)
        assert fired, "the connection was not killed: the test did not test anything"
        # retried on a new connection
        assert not says(chat.text, "error.unexpected") and says(chat.text, "ask.tax_code")
        state = await state_of(runner)
        assert state.data["producer_name"] == "HTX Chè Tân Cương" and state.step == "tax_code"
    finally:
        await admin.close()


# --- the process killed during a broadcast: real `ocop-bot run` processes, a fake Bot API on 127.0.0.1 ---

RECIPIENTS = 200


async def prepare_broadcast(url: str) -> None:
    engine = create_engine(url)
    await upgrade_database(engine)
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        await conn.execute(insert(ChatAccount), [{
            "id": i, "channel": "telegram", "chat_id": str(50_000 + i), "user_id": str(50_000 + i), "role": "producer",
            "language": "vi", "created_at": now, "last_seen_at": now, "reminder_optouts": []}
            for i in range(1, RECIPIENTS + 1)])
        await conn.execute(insert(OutboxMessage), [{
            "account_id": i, "dedupe_key": f"broadcast:1:{i}", "reason": "broadcast", "text": "Hội chợ OCOP 2026",
            "options": [], "status": "pending", "due_at": now, "attempts": 0, "created_at": now}
            for i in range(1, RECIPIENTS + 1)])
    await engine.dispose()


async def outbox_statuses(url: str) -> Counter[str]:
    engine = create_engine(url)
    async with engine.connect() as conn:
        rows = (await conn.execute(select(OutboxMessage.status, OutboxMessage.account_id))).all()
    await engine.dispose()
    return Counter(status for status, _ in rows)


async def claimed_rows(url: str) -> set[str]:
    engine = create_engine(url)
    async with engine.connect() as conn:
        rows = (await conn.execute(select(ChatAccount.chat_id)
                                   .join(OutboxMessage, col(OutboxMessage.account_id) == ChatAccount.id)
                                   .where(OutboxMessage.status == "sending"))).all()
    await engine.dispose()
    return {chat for (chat,) in rows}


async def start_bot(tmp_path: Path, env: dict[str, str]) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot.cli", "run", cwd=tmp_path, env=env,
                                                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    return proc


async def until(condition: Callable[[], Awaitable[bool]] | Callable[[], bool], seconds: float = 60) -> None:
    for _ in range(int(seconds / 0.05)):
        result = condition()
        if await result if asyncio.iscoroutine(result) else result:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


def delivered(api: FakeBotApiServer) -> Counter[str]:
    return Counter(str(params["chat_id"]) for method, params in api.calls if method == "sendMessage")


async def broadcast_interrupted(tmp_path: Path, stop: signal.Signals) -> tuple[Counter[str], set[str], set[str]]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'ocop.db'}"
    await prepare_broadcast(url)
    async with FakeBotApiServer(send_delay=0.02) as api:
        env = clean_env(PYTHONPATH=ROOT, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_BASE_URL=api.base_url,
                        OCOP_HTTP_PORT=str(free_port()), OCOP_DATABASE_URL=url, OCOP_QUIET_HOURS="",
                        OCOP_SEND_RATE="100")
        first = await start_bot(tmp_path, env)
        await until(lambda: sum(delivered(api).values()) >= RECIPIENTS // 3)
        first.send_signal(stop)
        await asyncio.wait_for(first.wait(), 60)
        before = set(delivered(api))
        in_flight = await claimed_rows(url) & before  # handed to Telegram, outcome never written
        second = await start_bot(tmp_path, env)  # the same host and port: it takes back its claims at once
        try:
            async def all_final() -> bool:
                return (await outbox_statuses(url))["sent"] == RECIPIENTS
            await until(all_final)
        finally:
            second.send_signal(signal.SIGTERM)
            await asyncio.wait_for(second.wait(), 60)
        return delivered(api), before, in_flight


async def test_stopped_during_a_broadcast_nothing_is_lost_or_sent_twice(tmp_path: Path) -> None:
    deliveries, _, in_flight = await broadcast_interrupted(tmp_path, signal.SIGTERM)
    assert len(deliveries) == RECIPIENTS  # nobody missed
    assert max(deliveries.values()) == 1 and not in_flight  # a stop finishes what it started


async def test_killed_during_a_broadcast_nothing_is_lost_and_only_in_flight_sends_repeat(tmp_path: Path) -> None:
    deliveries, before, in_flight = await broadcast_interrupted(tmp_path, signal.SIGKILL)
    assert len(deliveries) == RECIPIENTS  # nobody missed
    twice = {chat for chat, n in deliveries.items() if n > 1}
    assert max(deliveries.values()) <= 2
    # The only repeats are sends Telegram had received when the process died, before their outcome was written:
    # no platform tells a sender about those. Everything else went out exactly once.
    assert twice == in_flight and len(twice) <= 16, (twice, in_flight)
    assert len(before) >= RECIPIENTS // 3


async def test_a_bot_api_that_times_out_delays_sends_but_loses_and_repeats_none(make_runner: Callable,
                                                                                sqlite_url: str) -> None:
    runner = await make_runner(sqlite_url)
    await prepare_outbox(runner, 20)
    async with FakeBotApiServer() as api:
        api.hang = 8  # the first eight sends hang past our read timeout
        application = build_application(TOKEN, api.base_url, AiohttpBotRequest(read_timeout=0.3),
                                        pacer=pacer_for_tests())
        await application.initialize()
        limits = Limits(quiet_start=time(0), quiet_end=time(0), backoff_base=0.1)
        worker = Dispatcher(runner.sessions, {"telegram": outbox_send(application)}, limits)
        try:
            worker.start(poll_seconds=0.1)

            async def all_sent() -> bool:
                async with runner.sessions() as session:
                    return {m.status for m in await session.exec(select(OutboxMessage))} == {"sent"}
            await until(all_sent, 30)
        finally:
            await worker.stop()
            await application.shutdown()
        counts = delivered(api)
    assert len(counts) == 20 and max(counts.values()) == 1
    async with runner.sessions() as session:
        assert sum(m.attempts for m in await session.exec(select(OutboxMessage))) == 20 + 8  # each timeout counted


async def prepare_outbox(runner: ConversationRunner, n: int) -> None:
    async with runner.sessions() as session, session.begin():
        for i in range(n):
            account = ChatAccount(channel="telegram", chat_id=str(70_000 + i), user_id=str(70_000 + i))
            session.add(account)
            await session.flush()
            await enqueue(session, account_id=account.id, dedupe_key=f"t:{i}", reason="broadcast",
                          text="Lịch tập huấn tháng 12")


async def test_killed_between_a_step_and_its_reply_the_reply_still_reaches_the_person(tmp_path: Path) -> None:
    """Telegram is told "received" only once the step is committed, and a reply the process had not sent when it
    was SIGKILLed goes out after its restart: the person is answered, once."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'ocop.db'}"
    port = free_port()
    async with FakeBotApiServer() as api, aiohttp.ClientSession() as http:
        env = clean_env(PYTHONPATH=ROOT, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_BASE_URL=api.base_url,
                        OCOP_HTTP_PORT=str(port), OCOP_DATABASE_URL=url, OCOP_QUIET_HOURS="",
                        OCOP_PUBLIC_URL="https://ocop.test.invalid")
        api.hang, api.hang_seconds = 1, 60  # the reply is on its way to Telegram when the process dies
        first = await start_bot(tmp_path, env)
        try:
            await until(lambda: ready(http, port))
            update = {"update_id": 1, "message": {
                "message_id": 1, "date": int(datetime.now(UTC).timestamp()), "text": "/start",
                "chat": {"id": 4242, "type": "private"}, "from": {"id": 4242, "is_bot": False, "first_name": "Lan"}}}
            async with http.post(f"http://127.0.0.1:{port}/webhook/telegram", json=update, headers={
                    TELEGRAM_SECRET_HEADER: webhook_secret(TOKEN, "telegram")}) as response:
                assert response.status == 200
            await until(lambda: api.hang == 0)
        finally:
            first.send_signal(signal.SIGKILL)
            await first.wait()
        assert not api.sent_texts()
        second = await start_bot(tmp_path, env)  # the same host and port
        try:
            await until(lambda: bool(api.sent_texts()))
            await asyncio.sleep(1.0)  # time enough for anything sent twice to show
        finally:
            second.send_signal(signal.SIGTERM)
            await asyncio.wait_for(second.wait(), 60)
    texts = api.sent_texts()
    assert texts[0].startswith("Xin chào"), texts
    assert len(texts) == len(set(texts)), texts


async def ready(http: aiohttp.ClientSession, port: int) -> bool:
    try:
        async with http.get(f"http://127.0.0.1:{port}/readyz") as response:
            return response.status == 200
    except aiohttp.ClientError:
        return False
