"""Officer broadcasts: audiences, preview and test, sending through the dispatcher, cancelling, the report."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlmodel import col, select

from bot.channels.telegram import progress_drawer
from bot.outbox.broadcast_progress import BroadcastMonitor
from bot.outbox.dispatcher import Dispatcher, Limits
from bot.outbox.outcomes import RetryLater, Transient, Unreachable
from handlers.officer.broadcast import audience_of
from messages import t
from storage.broadcasts import Audience, audience_accounts, broadcast_counts, cancel_broadcast
from storage.communes import match_commune
from storage.events import create_event, register
from storage.lifecycle import add_months
from storage.models import AuditEvent, Broadcast, ChatAccount, Officer, OutboxMessage
from tests.support.broadcasts import MORNING, broadcast_to
from tests.support.catalog import says
from tests.support.checks import present
from tests.support.clock import Clock
from tests.support.dispatching import RecordingSender, dispatcher
from tests.support.fakes import Chat, FakeBotApi, telegram_app
from tests.support.seed import add_application, add_producer, invite

TODAY = date(2026, 11, 23)
LAC_DUONG, BAO_LOC_1, TA_NANG = (present(match_commune("lam-dong", name)).code
                                 for name in ("Lạc Dương", "Phường 1 Bảo Lộc", "Tà Năng"))


async def seed_province(sessions) -> dict[str, int]:
    """Five producers in Lâm Đồng (and one in Hà Nội) that differ in every filter."""
    ids: dict[str, int] = {}
    async with sessions() as session, session.begin():
        rows = [("a", "Xã Lạc Dương", "food", 4, 30), ("b", "Phường 1 Bảo Lộc", "food", 3, 400),
                ("c", "lac duong", "craft", 5, 80), ("d", "Xã Tà Năng", "craft", None, None),
                ("e", "Phường 1 Bảo Lộc", "drink", 4, 10)]
        for key, commune, group, stars, days_left in rows:
            producer = await add_producer(session, name=f"HTX {key}", commune=commune, phone=None)
            decided = add_months(TODAY + timedelta(days=days_left), -36) if days_left else None
            await add_application(session, producer, name=f"SP {key}", group=group, decided=decided,
                                  stars=stars or 3, status="recognised" if decided else "submitted")
            account = ChatAccount(channel="telegram", chat_id=f"chat-{key}", producer_id=producer.id)
            session.add(account)
            await session.flush()
            ids[key] = account.id
        hanoi = await add_producer(session, name="HTX Hà Nội", province_code="ha-noi", phone=None)
        await add_application(session, hanoi, name="SP HN", group="food", decided=date(2024, 1, 1))
        session.add(ChatAccount(channel="telegram", chat_id="chat-hn", producer_id=hanoi.id))
    return ids




@pytest.mark.parametrize(("audience", "expected"), [
    (Audience(("lam-dong",)), "abcde"),
    (Audience(("lam-dong",), communes=(LAC_DUONG,)), "ac"),  # by code, however the name was written
    (Audience(("lam-dong",), communes=(BAO_LOC_1, TA_NANG)), "bde"),
    (Audience(("lam-dong",), groups=("craft",)), "cd"),
    (Audience(("lam-dong",), stars=(4,)), "ae"),
    (Audience(("lam-dong",), expiring_within_days=60), "ae"),
    (Audience(("lam-dong",), groups=("food",), stars=(4,)), "a"),
    (Audience(("lam-dong",), communes=(BAO_LOC_1,), expiring_within_days=60, stars=(4,)), "e"),
    (Audience(("lam-dong", "ha-noi"), groups=("food",)), "ab+"),
])
async def test_audience_filters_alone_and_combined(make_runner: Callable, db_url: str, audience: Audience,
                                                   expected: str) -> None:
    sessions = (await make_runner(db_url)).sessions
    ids = await seed_province(sessions)
    async with sessions() as session:
        found = {a.id for a in await audience_accounts(session, audience, TODAY)}
    wanted = {ids[k] for k in expected if k != "+"}
    assert wanted <= found and len(found) == len(wanted) + expected.count("+")


async def test_event_registrants_filter(make_runner: Callable, sqlite_url: str) -> None:
    sessions = (await make_runner(sqlite_url)).sessions
    ids = await seed_province(sessions)
    async with sessions() as session, session.begin():
        start = MORNING + timedelta(days=10)
        event = await create_event(session, {"kind": "fair", "name": "Hội chợ", "place": "Đà Lạt", "starts_at": start,
                                             "ends_at": start + timedelta(hours=8), "province_code": "lam-dong",
                                             "audience_groups": []}, officer_id=None, actor_account_id=None)
        for key in "bd":
            await register(session, event, await session.get(ChatAccount, ids[key]))
    async with sessions() as session:
        found = {a.id for a in await audience_accounts(session, Audience(("lam-dong",), event_id=event.id), TODAY)}
    assert found == {ids["b"], ids["d"]}


def test_officers_reach_only_their_province() -> None:
    officer = Officer(name="A", province_code="lam-dong", is_admin=False, code_hash="x", code_expires_at=MORNING)
    forged = {"bc_provinces": ["ha-noi", "hue"], "bc_groups": ["food"]}
    assert audience_of(officer, forged).provinces == ("lam-dong",)
    admin = Officer(name="B", province_code="lam-dong", is_admin=True, code_hash="y", code_expires_at=MORNING)
    assert audience_of(admin, forged).provinces == ("ha-noi", "hue")


async def test_compose_preview_test_and_send(make_runner: Callable, sqlite_url: str) -> None:
    runner = await make_runner(sqlite_url)
    ids = await seed_province(runner.sessions)
    officer = Chat(runner, user="officer")
    await officer.say(f"/canbo {await invite(runner.sessions)}")
    await officer.tap("menu:broadcast")
    await officer.tap("bc:new")
    text = "Kính gửi các chủ thể OCOP,\n\nSở tổ chức kiểm tra nhãn mác ngày 01/12. Xin cảm ơn! 🙏"
    await officer.say(text)
    await officer.tap("nav:skip")  # no file
    assert not says(officer.last, "ask.bc_provinces")  # only admins choose provinces
    await officer.tap("nav:skip")  # every commune
    await officer.tap("food")
    await officer.tap("nav:done")
    await officer.tap("nav:done")  # every star rating
    await officer.tap("nav:skip")  # no expiry filter
    # No event is coming up: the officer is not asked to choose among none.
    assert officer.last.endswith("\n" + t("vi", "ask.bc_when"))  # after "Bước 7/7"
    await officer.tap("now")
    assert text in officer.text and says(officer.text, "broadcast.count", count=2, unreachable=0, web=0)
    await officer.tap("bc:test")
    # still at the review
    assert says(officer.text, "broadcast.test_sent") and says(officer.text, "broadcast.count", count=2)
    await officer.tap("nav:submit")
    assert says(officer.text, "broadcast.queued", id=1, count=2)
    async with runner.sessions() as session:
        rows = list(await session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))))
        assert [(r.reason, r.text == text) for r in rows] == [("broadcast.test", True), ("broadcast", True),
                                                              ("broadcast", True)]
        officer_account = (await session.exec(select(ChatAccount).where(ChatAccount.chat_id == "officer"))).one()
        assert rows[0].account_id == officer_account.id  # the test reached the officer alone
        assert {r.account_id for r in rows[1:]} == {ids["a"], ids["b"]}
        [audit] = [e for e in await session.exec(select(AuditEvent)) if e.action == "broadcast.created"]
        assert audit.details["audience"]["groups"] == ["food"] and audit.details["recipients"] == 2
    await officer.say("/thongbao")
    assert "#1 · đang" in officer.text or "#1 · đã hẹn giờ" in officer.text


async def test_thousand_recipients_with_faults_each_sent_once_or_accounted_for(make_runner: Callable,
                                                                             db_url: str) -> None:
    sessions = (await make_runner(db_url)).sessions
    broadcast_id, _ = await broadcast_to(sessions, 1000, officer_channel="telegram", producer=True)
    sender, clock = RecordingSender(), Clock(MORNING)
    for i in range(0, 1000, 20):  # 5% 429
        sender.fail[str(i)] = [RetryLater(0.01)]  # short: the channel really pauses this long
    for i in range(7, 1000, 50):  # 2% 5xx, then fine
        sender.fail[str(i)] = [Transient("503 Service Unavailable")]
    for i in range(3, 1000, 100):  # 1% blocked the bot
        sender.fail[str(i)] = [Unreachable("Forbidden: bot was blocked by the user")]
    for i in range(11, 1000, 250):  # a few fail for good
        sender.fail[str(i)] = [Transient("502 Bad Gateway")] * 9
    monitor = BroadcastMonitor(sessions, {}, clock=clock)
    worker = dispatcher(sessions, sender, clock, batch=100, max_attempts=3, after_round=monitor.update)
    for _ in range(10):
        await worker.drain()
        clock.now += timedelta(minutes=10)
    await monitor.update(force=True)
    async with sessions() as session:
        counts = await broadcast_counts(session, broadcast_id)
        done = await session.get(Broadcast, broadcast_id)
        report = (await session.exec(select(OutboxMessage).where(OutboxMessage.reason == "broadcast.report"))).one()
    delivered = Counter(chat for chat, _ in sender.sent if chat != "officer")
    assert all(n == 1 for n in delivered.values())  # nobody twice
    assert counts["unreachable"] == 10 and counts["failed"] == 4 and counts["sent"] == 986
    assert sum(counts.values()) == 1000 and len(delivered) == 986  # everybody accounted for
    assert done.status == "done" and "986/1.000" in report.text and "502 Bad Gateway" in report.text


async def test_cancel_midway_keeps_what_was_sent(make_runner: Callable, sqlite_url: str) -> None:
    sessions = (await make_runner(sqlite_url)).sessions
    broadcast_id, officer_account_id = await broadcast_to(sessions, 300)
    sender, clock = RecordingSender(), Clock(MORNING)
    worker = dispatcher(sessions, sender, clock, batch=100)
    await worker.drain_once()  # one round of 100, then the officer cancels
    async with sessions() as session, session.begin():
        unsent = await cancel_broadcast(session, await session.get(Broadcast, broadcast_id),
                                        actor_account_id=officer_account_id)
    await worker.drain()
    async with sessions() as session:
        counts = await broadcast_counts(session, broadcast_id)
    assert unsent == 200 and counts == {"sent": 100, "cancelled": 200} and len(sender.sent) == 100


async def test_a_scheduled_broadcast_waits_for_its_time(make_runner: Callable, sqlite_url: str) -> None:
    sessions = (await make_runner(sqlite_url)).sessions
    await broadcast_to(sessions, 5, scheduled_at=MORNING + timedelta(hours=2))
    sender, clock = RecordingSender(), Clock(MORNING)
    assert await dispatcher(sessions, sender, clock).drain() == 0
    clock.now += timedelta(hours=2)
    assert await dispatcher(sessions, sender, clock).drain() == 5


async def test_progress_is_one_telegram_message_edited_in_place(make_runner: Callable, sqlite_url: str) -> None:
    sessions = (await make_runner(sqlite_url)).sessions
    await broadcast_to(sessions, 40, officer_channel="telegram", officer_chat="4242")
    api = FakeBotApi()
    application = telegram_app(api)
    await application.initialize()
    monitor = BroadcastMonitor(sessions, {"telegram": progress_drawer(application)}, clock=Clock(MORNING))
    sender = RecordingSender()
    worker = dispatcher(sessions, sender, Clock(MORNING), batch=10)
    for _ in range(3):
        await worker.drain_once()
        await monitor.update(force=True)
    await worker.drain()
    await monitor.update(force=True)
    await application.shutdown()
    calls = [(endpoint, params) for endpoint, params in api.calls if endpoint in ("sendMessage", "editMessageText")]
    assert [endpoint for endpoint, _ in calls] == ["sendMessage", "editMessageText", "editMessageText"]
    assert says(calls[0][1]["text"], "broadcast.progress", sent=10, total=40)
    assert says(calls[-1][1]["text"], "broadcast.progress", sent=30, total=40)
    assert {params["message_id"] for _, params in calls[1:]} == {1000}  # the first message, edited
    async with sessions() as session:
        finished = [e for e in await session.exec(select(AuditEvent)) if e.action == "broadcast.finished"]
    assert finished[0].details["counts"] == {"sent": 40}


async def test_a_web_reader_whose_page_is_closed_is_waiting_not_reached(make_runner: Callable,
                                                                        sqlite_url: str) -> None:
    sessions = (await make_runner(sqlite_url)).sessions
    broadcast_id, _ = await broadcast_to(sessions, 3, officer_channel="telegram", officer_chat="4242")
    async with sessions() as session, session.begin():  # one recipient reads on the web, page closed
        rows = (await session.exec(select(OutboxMessage, ChatAccount).join(ChatAccount).where(
            OutboxMessage.broadcast_id == broadcast_id))).all()
        rows[0][1].channel, rows[0][1].chat_id = "web", "web-closed-page"
        session.add(rows[0][1])
    telegram = RecordingSender()
    shown: list[str] = []

    async def page(chat_id: str, _reply: object) -> str:
        shown.append(chat_id)
        return "shown"

    worker = Dispatcher(sessions, {"telegram": telegram, "web": page}, Limits(quiet_start=time(0), quiet_end=time(0)),
                        clock=Clock(MORNING), reachable={"web": set})  # no page open on this server
    monitor = BroadcastMonitor(sessions, {}, clock=Clock(MORNING))
    await worker.drain()
    await monitor.update(force=True)
    async with sessions() as session:
        broadcast = await session.get(Broadcast, broadcast_id)
        report = (await session.exec(select(OutboxMessage).where(OutboxMessage.reason == "broadcast.report"))).one()
        counts = await broadcast_counts(session, broadcast_id)
    assert broadcast.status == "done" and counts == {"sent": 2, "pending": 1}
    assert says(report.text, "broadcast.report", sent=2, total=3, waiting=1)
    assert not shown


async def test_an_upcoming_event_is_offered_as_an_audience_and_its_registrants_get_the_broadcast(
        make_runner: Callable, sqlite_url: str) -> None:
    runner = await make_runner(sqlite_url)
    ids = await seed_province(runner.sessions)
    async with runner.sessions() as session, session.begin():
        start = datetime.now(UTC) + timedelta(days=10)
        event = await create_event(session, {"kind": "training", "name": "Tập huấn đóng gói", "place": "Đà Lạt",
                                             "starts_at": start, "ends_at": start + timedelta(hours=4),
                                             "province_code": "lam-dong", "audience_groups": []},
                                   officer_id=None, actor_account_id=None)
        await register(session, event, await session.get(ChatAccount, ids["c"]))
    officer = Chat(runner, user="officer")
    await officer.say(f"/canbo {await invite(runner.sessions)}")
    await officer.tap("menu:broadcast")
    await officer.tap("bc:new")
    await officer.say("Nhắc lịch tập huấn")
    for tap in ("nav:skip", "nav:skip", "nav:done", "nav:done", "nav:skip"):  # no file, no commune, group, star or
        await officer.tap(tap)                                                # expiry filter
    assert officer.last.endswith("\n" + t("vi", "ask.bc_event"))  # asked, with the coming event to choose
    await officer.tap(str(event.id))
    await officer.tap("now")
    assert "Tập huấn đóng gói" in officer.shown and says(officer.text, "broadcast.count", count=1)
