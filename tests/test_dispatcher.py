"""The outbox dispatcher against a recording sender that fails on demand; time is frozen and moved by hand."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.outbox.dispatcher import Dispatcher, Limits
from bot.outbox.outcomes import Permanent, RetryLater, Transient, Unreachable
from handlers.types import Reply
from storage import outbox
from storage.models import ChatAccount, ConversationState, OutboxMessage
from tests.support.checks import present
from tests.support.clock import Clock
from tests.support.dispatching import RecordingSender, dispatcher
from tests.support.fakes import FakeBotApi, telegram_app

# 10:00 in Vietnam: outside quiet hours.
MORNING = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)




async def add_accounts(sessions: async_sessionmaker[AsyncSession], count: int, **values: Any) -> list[int]:
    async with sessions() as session, session.begin():
        accounts = [ChatAccount(channel="telegram", chat_id=str(1000 + i), **values) for i in range(count)]
        session.add_all(accounts)
        await session.flush()
        return [a.id for a in accounts]


async def enqueue(sessions: async_sessionmaker[AsyncSession], account_ids: list[int], reason: str = "cert-expiry",
                  now: datetime = MORNING) -> None:
    async with sessions() as session, session.begin():
        for account_id in account_ids:
            await outbox.enqueue(session, account_id=account_id, dedupe_key=f"{reason}:{account_id}", reason=reason,
                                 text=f"nhắc {account_id}", due_at=now)


async def rows(sessions: async_sessionmaker[AsyncSession]) -> list[OutboxMessage]:
    async with sessions() as session:
        return list(await session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))))




async def test_enqueue_is_idempotent(make_runner: Callable, sqlite_url: str) -> None:
    sessions = (await make_runner(sqlite_url)).sessions
    [account] = await add_accounts(sessions, 1)
    await enqueue(sessions, [account])
    await enqueue(sessions, [account])
    assert len(await rows(sessions)) == 1


async def test_retry_after_then_sent(make_runner: Callable, db_url: str) -> None:
    sessions = (await make_runner(db_url)).sessions
    accounts = await add_accounts(sessions, 2)
    await enqueue(sessions, accounts)
    sender, clock = RecordingSender(), Clock(MORNING)
    sender.fail["1000"] = [RetryLater(0.05)]
    await dispatcher(sessions, sender, clock).drain()
    first, second = await rows(sessions)
    assert (first.status, first.attempts) == ("pending", 0) and first.due_at > MORNING  # not counted as a failure
    assert second.status == "sent"
    clock.now += timedelta(seconds=1)
    await dispatcher(sessions, sender, clock).drain()
    assert [r.status for r in await rows(sessions)] == ["sent", "sent"]
    assert Counter(chat for chat, _ in sender.sent) == {"1000": 1, "1001": 1}


async def test_server_errors_back_off_then_succeed_or_fail_with_the_reason(make_runner: Callable,
                                                                           sqlite_url: str) -> None:
    sessions = (await make_runner(sqlite_url)).sessions
    accounts = await add_accounts(sessions, 2)
    await enqueue(sessions, accounts)
    sender, clock = RecordingSender(), Clock(MORNING)
    sender.fail["1000"] = [Transient("502 Bad Gateway")]
    sender.fail["1001"] = [Transient("500 Internal Server Error")] * 3
    worker = dispatcher(sessions, sender, clock, max_attempts=3)
    for _ in range(4):
        await worker.drain()
        clock.now += timedelta(minutes=5)  # past every backoff
    ok, failed = await rows(sessions)
    assert (ok.status, ok.attempts) == ("sent", 2)
    assert (failed.status, failed.attempts) == ("failed", 3)
    assert "500 Internal Server Error" in present(failed.last_error)


async def test_backoff_waits_before_retrying(make_runner: Callable, sqlite_url: str) -> None:
    sessions = (await make_runner(sqlite_url)).sessions
    await enqueue(sessions, await add_accounts(sessions, 1))
    sender, clock = RecordingSender(), Clock(MORNING)
    sender.fail["1000"] = [Transient("timed out")]
    worker = dispatcher(sessions, sender, clock)
    await worker.drain()
    clock.now += timedelta(seconds=10)  # backoff is 30 s
    await worker.drain()
    assert sender.sent == [] and (await rows(sessions))[0].status == "pending"
    clock.now += timedelta(seconds=30)
    await worker.drain()
    assert len(sender.sent) == 1


async def test_blocked_bot_marks_the_chat_unreachable(make_runner: Callable, sqlite_url: str) -> None:
    sessions = (await make_runner(sqlite_url)).sessions
    [account] = await add_accounts(sessions, 1)
    await enqueue(sessions, [account], reason="cert-expiry")
    sender, clock = RecordingSender(), Clock(MORNING)
    sender.fail["1000"] = [Unreachable("Forbidden: bot was blocked by the user")]
    await dispatcher(sessions, sender, clock).drain()
    await enqueue(sessions, [account], reason="training")
    await dispatcher(sessions, sender, clock).drain()
    assert [(r.status, r.attempts) for r in await rows(sessions)] == [("unreachable", 1), ("unreachable", 0)]
    assert sender.sent == []
    async with sessions() as session:
        assert (await session.get(ChatAccount, account)).unreachable_at is not None


async def test_a_refused_message_fails_at_once(make_runner: Callable, sqlite_url: str) -> None:
    sessions = (await make_runner(sqlite_url)).sessions
    await enqueue(sessions, await add_accounts(sessions, 1))
    sender = RecordingSender()
    sender.fail["1000"] = [Permanent("Bad Request: message is too long")]
    await dispatcher(sessions, sender, Clock(MORNING)).drain()
    [row] = await rows(sessions)
    assert (row.status, row.attempts) == ("failed", 1) and "too long" in present(row.last_error)


async def test_quiet_hours_hold_messages_until_morning(make_runner: Callable, sqlite_url: str) -> None:
    sessions = (await make_runner(sqlite_url)).sessions
    night = datetime(2026, 11, 22, 15, 30, tzinfo=UTC)  # 22:30 in Vietnam
    await enqueue(sessions, await add_accounts(sessions, 1), now=night)
    sender, clock = RecordingSender(), Clock(night)
    worker = dispatcher(sessions, sender, clock, quiet_start=time(21), quiet_end=time(7))
    assert await worker.drain() == 0
    clock.now = datetime(2026, 11, 22, 23, 59, tzinfo=UTC)  # 06:59
    assert await worker.drain() == 0
    clock.now = datetime(2026, 11, 23, 0, 1, tzinfo=UTC)  # 07:01
    assert await worker.drain() == 1 and len(sender.sent) == 1


async def test_in_quiet_hours_an_answer_reaches_an_awake_person_and_the_rest_waits(make_runner: Callable,
                                                                                    db_url: str) -> None:
    """05:45: a supplement request to a producer who wrote 20 minutes ago goes now; to one asleep, and every
    reminder, it waits for 07:00; a reply to a person's own message always goes."""
    sessions = (await make_runner(db_url)).sessions
    dawn = datetime(2026, 11, 22, 22, 45, tzinfo=UTC)  # 05:45 in Vietnam
    awake, asleep = await add_accounts(sessions, 2)
    async with sessions() as session, session.begin():
        session.add(ConversationState(account_id=awake, updated_at=dawn - timedelta(minutes=20)))
        session.add(ConversationState(account_id=asleep, updated_at=dawn - timedelta(hours=5)))
    await enqueue(sessions, [awake, asleep], reason="application.status", now=dawn)
    await enqueue(sessions, [awake], reason="cert-expiry", now=dawn)
    await enqueue(sessions, [asleep], reason="reply", now=dawn)
    sender, clock = RecordingSender(), Clock(dawn)
    worker = dispatcher(sessions, sender, clock, quiet_start=time(21), quiet_end=time(7))
    assert await worker.drain() == 2
    sent = {(r.account_id, r.reason) for r in await rows(sessions) if r.status == "sent"}
    assert sent == {(awake, "application.status"), (asleep, "reply")}
    clock.now = datetime(2026, 11, 23, 0, 1, tzinfo=UTC)  # 07:01
    assert await worker.drain() == 2
    assert {r.status for r in await rows(sessions)} == {"sent"}


async def test_opt_outs_skip_optional_reminders_only(make_runner: Callable, sqlite_url: str) -> None:
    sessions = (await make_runner(sqlite_url)).sessions
    [account] = await add_accounts(sessions, 1, reminder_optouts=["training", "fair"])
    for reason in ("training.announce", "fair.deadline", "cert-expiry", "application.status"):
        await enqueue(sessions, [account], reason=reason)
    sender = RecordingSender()
    await dispatcher(sessions, sender, Clock(MORNING)).drain()
    assert [(r.reason, r.status) for r in await rows(sessions)] == [
        ("training.announce", "skipped"), ("fair.deadline", "skipped"), ("cert-expiry", "sent"),
        ("application.status", "sent")]


async def test_rows_of_a_crashed_sender_are_sent_after_the_lease(make_runner: Callable, db_url: str) -> None:
    sessions = (await make_runner(db_url)).sessions
    await enqueue(sessions, await add_accounts(sessions, 3))
    async with sessions() as session, session.begin():  # a sender claims, then dies before sending
        claimed = await outbox.claim_due(session, channel="telegram", worker="dead", now=MORNING,
                                         lease=timedelta(seconds=60), limit=10)
    assert len(claimed) == 3
    sender, clock = RecordingSender(), Clock(MORNING + timedelta(seconds=30))
    assert await dispatcher(sessions, sender, clock).drain() == 0  # the lease still holds
    clock.now = MORNING + timedelta(seconds=61)
    assert await dispatcher(sessions, sender, clock).drain() == 3
    assert {r.status for r in await rows(sessions)} == {"sent"} and len(sender.sent) == 3
    async with sessions() as session, session.begin():  # the dead sender's late report is refused
        assert not await outbox.finish(session, claimed[0][0].id, "dead", status="sent")


async def test_two_dispatchers_on_postgresql_send_each_row_once(make_runner: Callable, postgres_url: str) -> None:
    first_runner, second_runner = await make_runner(postgres_url), await make_runner(postgres_url)
    accounts = await add_accounts(first_runner.sessions, 2000)
    await enqueue(first_runner.sessions, accounts)
    sender, clock = RecordingSender(), Clock(MORNING)
    one = dispatcher(first_runner.sessions, sender, clock, batch=50)
    two = dispatcher(second_runner.sessions, sender, clock, batch=50)
    handled = await asyncio.gather(one.drain(), two.drain())
    assert sum(handled) == 2000 and min(handled) > 0  # both took part
    assert len(sender.sent) == 2000 and len(set(sender.sent)) == 2000  # nobody twice
    assert {r.status for r in await rows(first_runner.sessions)} == {"sent"}


class OneChatWaits(RecordingSender):
    """Chat 1000's send waits (its turn is far off: a person's kept replies, a second apart) until `go` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.go = asyncio.Event()

    async def __call__(self, chat_id: str, reply: Reply) -> None:
        if chat_id == "1000":
            await self.go.wait()
        await super().__call__(chat_id, reply)


async def test_one_chat_waiting_for_its_turn_does_not_hold_up_everyone_elses_messages(
        make_runner: Callable, db_url: str) -> None:
    sessions = (await make_runner(db_url)).sessions
    await enqueue(sessions, await add_accounts(sessions, 120))
    sender, clock = OneChatWaits(), Clock(MORNING)
    running = dispatcher(sessions, sender, clock, batch=10)
    running.start(poll_seconds=0.05)
    try:
        for _ in range(400):  # the other 119 chats get theirs, round after round, while chat 1000 still waits
            if len(sender.sent) == 119:
                break
            await asyncio.sleep(0.05)
        assert len(sender.sent) == 119 and "1000" not in dict(sender.sent)
        sender.go.set()
        for _ in range(100):
            if len(sender.sent) == 120:
                break
            await asyncio.sleep(0.05)
    finally:
        sender.go.set()
        await running.stop()
    assert {r.status for r in await rows(sessions)} == {"sent"}


async def test_a_429_retries_its_row_after_retry_after_without_counting_a_failure(make_runner: Callable,
                                                                                 sqlite_url: str) -> None:
    sessions = (await make_runner(sqlite_url)).sessions
    accounts = await add_accounts(sessions, 30)
    await enqueue(sessions, accounts)
    sender, clock = RecordingSender(), Clock(MORNING)
    sender.fail["1003"] = [RetryLater(3)]
    await dispatcher(sessions, sender, clock).drain()
    assert len(sender.sent) == 29
    [waiting] = [r for r in await rows(sessions) if r.status == "pending"]
    assert waiting.attempts == 0 and waiting.due_at.replace(tzinfo=UTC) == MORNING + timedelta(seconds=3)


async def test_outbox_drain_sends_through_telegram_and_zalo_together(tmp_path: Path) -> None:
    from bot.cli.outbox import drain
    from bot.settings import Settings
    from storage.db import create_engine, create_sessionmaker
    from storage.migrate import upgrade_database
    from storage.outbox import enqueue
    from tests.support.fake_bot_api_server import FakeBotApiServer
    from tests.support.zalo import TOKEN as ZALO_TOKEN
    from tests.support.zalo import FakeZalo

    zalo = FakeZalo()
    await zalo.server.start_server()
    try:
        async with FakeBotApiServer() as telegram:
            settings = Settings(_env_file=None, OCOP_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'd.db'}",
                                OCOP_DATA_DIR=str(tmp_path / "data"), OCOP_QUIET_HOURS="",
                                TELEGRAM_BOT_TOKEN="123456:TEST-TOKEN", TELEGRAM_API_BASE_URL=telegram.base_url,
                                ZALO_BOT_TOKEN=ZALO_TOKEN, ZALO_API_BASE_URL=f"http://127.0.0.1:{zalo.server.port}")
            engine = create_engine(settings.database_url)
            await upgrade_database(engine)
            async with create_sessionmaker(engine)() as session, session.begin():
                for channel, chat in (("telegram", "4242"), ("zalo", "z-1")):
                    account = ChatAccount(channel=channel, chat_id=chat)
                    session.add(account)
                    await session.flush()
                    await enqueue(session, account_id=account.id, dedupe_key=f"d:{channel}",
                                  reason="app-status", text=f"Tin cho {channel}")
            await engine.dispose()
            assert (await drain(settings))[0] == 0
            assert telegram.sent_texts() == ["Tin cho telegram"] and zalo.sent() == ["Tin cho zalo"]
    finally:
        await zalo.server.close()


async def test_two_drains_at_once_share_telegrams_limit_instead_of_each_taking_all_of_it(tmp_path: Path) -> None:
    """Two `ocop-bot outbox drain` processes at once (or one beside `ocop-bot run`): each takes its share of the
    platform's limit (the replica heartbeat), so the strict fake refuses nothing, where two full rates would overrun
    its 30 a second."""
    import os
    import sys

    from storage.db import create_engine, create_sessionmaker
    from storage.migrate import upgrade_database
    from tests.support.fake_bot_api_server import FakeBotApiServer

    url = f"sqlite+aiosqlite:///{tmp_path / 'd.db'}"
    engine = create_engine(url)
    await upgrade_database(engine)
    sessions = create_sessionmaker(engine)
    await enqueue(sessions, await add_accounts(sessions, 140), now=datetime.now(UTC))
    await engine.dispose()
    async with FakeBotApiServer() as telegram:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "ZALO_", "OCOP_"))} | {
            "OCOP_DATABASE_URL": url, "OCOP_DATA_DIR": str(tmp_path / "data"), "OCOP_QUIET_HOURS": "",
            # The rate we ship, with its headroom under 30 for a moment of jitter; two full rates would be 50.
            "OCOP_SEND_RATE": "25", "TELEGRAM_BOT_TOKEN": "123456:TEST-TOKEN",
            "TELEGRAM_API_BASE_URL": telegram.base_url}
        command = "import sys; from bot.cli import main; sys.exit(main())"
        drains = [await asyncio.create_subprocess_exec(sys.executable, "-c", command, "outbox", "drain", env=env,
                                                       stderr=asyncio.subprocess.PIPE) for _ in range(2)]
        logs = [(await d.communicate())[1].decode() for d in drains]
        assert [d.returncode for d in drains] == [0, 0]
        assert len(telegram.sent_texts()) == 140 and len(set(telegram.sent_texts())) == 140
        assert telegram.refused == []
        assert any("2 replicas share each chat platform's limit" in log for log in logs)  # they shared it


class FlakyPhotoBotApi(FakeBotApi):
    """A Bot API whose first sendPhoto to each chat meets a 502, as Telegram's gateway sometimes answers."""

    def __init__(self) -> None:
        super().__init__()
        self.failed: set[str] = set()

    async def do_request(self, url: str, method: str, request_data: Any = None, *args: Any,
                         **kwargs: Any) -> tuple[int, bytes]:
        if url.endswith("/sendPhoto"):
            chat = str(request_data.parameters["chat_id"]) if request_data else ""
            if chat not in self.failed:
                self.failed.add(chat)
                self.calls.append(("sendPhoto-502", {"chat_id": chat}))
                return 502, b'{"ok": false, "error_code": 502, "description": "Bad Gateway"}'
        return await super().do_request(url, method, request_data, *args, **kwargs)


async def test_a_failed_photo_is_retried_without_sending_its_text_again(make_runner: Callable, sqlite_url: str,
                                                                       tmp_path: Path) -> None:
    from bot.channels.telegram import outbox_send
    from storage.blobs import save_file
    from storage.outbox import enqueue
    from tests.support.fakes import JPEG

    sessions = (await make_runner(sqlite_url)).sessions
    accounts = await add_accounts(sessions, 60)
    async with sessions() as session, session.begin():
        photo = await save_file(session, tmp_path / "data", JPEG, "image/jpeg", "hoi-cho.jpg")
        for account_id in accounts:
            await enqueue(session, account_id=account_id, dedupe_key=f"broadcast:9:{account_id}", reason="broadcast",
                          text="📣 Hội chợ OCOP cuối tuần", file_id=photo.id, due_at=MORNING)
    api = FlakyPhotoBotApi()
    application = telegram_app(api)
    await application.initialize()
    clock = Clock(MORNING)
    worker = Dispatcher(sessions, {"telegram": outbox_send(application)},
                        Limits(backoff_base=1,
                               quiet_start=time(0), quiet_end=time(0)), clock=clock, data_dir=tmp_path / "data")
    await worker.drain()
    clock.now += timedelta(seconds=5)  # the back-off has passed: the photos are retried
    await worker.drain()
    await application.shutdown()
    texts = Counter(str(p["chat_id"]) for endpoint, p in api.calls if endpoint == "sendMessage")
    photos = Counter(str(p["chat_id"]) for endpoint, p in api.calls if endpoint == "sendPhoto")
    assert len(api.failed) == 60 and set(texts.values()) == {1} and set(photos.values()) == {1}  # each part once
    async with sessions() as session:
        rows = (await session.exec(select(OutboxMessage).where(OutboxMessage.reason == "broadcast"))).all()
    assert {(r.status, r.parts_sent) for r in rows} == {("sent", 1)}
