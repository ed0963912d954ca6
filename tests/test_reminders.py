"""The daily reminder scan with frozen dates, and what a producer does with a reminder."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast

import pytest
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.outbox.scheduler import ReminderScheduler
from handlers.notices.reminders import due_milestone, scan
from storage.lifecycle import certificate_valid_until
from storage.models import Application, Certificate, ChatAccount, ConversationState, OutboxMessage, Producer
from tests.support.catalog import says
from tests.support.fakes import PDF, Chat
from tests.support.scans import RULES, scan_on
from tests.support.seed import add_application, add_producer, invite
from tests.support.waiting import eventually


async def producer_with_certificate(sessions: async_sessionmaker[AsyncSession], decided: date,
                                    language: str = "vi") -> tuple[int, int]:
    async with sessions() as session, session.begin():
        producer = await add_producer(session, tax_code="0100109106", representative="Nguyễn Văn An",
                                      address="Thôn 2")
        product, _ = await add_application(session, producer, name="Mật ong bạc hà", status="recognised",
                                           decided=decided)
        # A complete record, as after a registration in the chat: a re-evaluation asks only what changed.
        product.description, product.material_origin = "Mật ong hoa bạc hà", "commune"
        product.category_code = "food-processed-animal"
        product.yearly_output, product.output_unit = 2, "tấn"
        session.add(product)
        session.add(ChatAccount(channel="web", chat_id="producer-1", producer_id=producer.id, language=language))
        return producer.id, product.id




async def outbox_keys(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
    async with sessions() as session:
        rows = await session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id)))
        return [m.dedupe_key.split(":")[2] for m in rows if m.reason == "cert-expiry"]


def test_rule_certificate_reminders_at_90_60_30_7_days_and_after_lapse() -> None:
    assert [due_milestone(d, RULES) for d in (120, 91, 90, 61, 60, 31, 30, 8, 7, 1, 0, -1, -30, -31)] == [
        None, None, "90", "90", "60", "60", "30", "30", "7", "7", "7", "lapsed", "lapsed", None]


@pytest.mark.parametrize("decided", [date(2024, 2, 29), date(2023, 8, 31), date(2023, 12, 31)])
async def test_every_milestone_once_on_its_day(make_runner: Callable, sqlite_url: str, decided: date) -> None:
    """Leap day and month ends: 29/02/2024 + 36 months is 28/02/2027; 31/08/2023 gives 31/08/2026."""
    sessions = (await make_runner(sqlite_url)).sessions
    await producer_with_certificate(sessions, decided)
    valid_until = certificate_valid_until(decided)
    assert valid_until.day in (28, 31)
    expected = []
    for days_before in (91, 90, 89, 61, 60, 31, 30, 8, 7, 1, 0, -1, -2):
        day = valid_until - timedelta(days=days_before)
        added = await scan_on(sessions, day)
        milestone = {90: "90", 60: "60", 30: "30", 7: "7", -1: "lapsed"}.get(days_before)
        assert added == ({"cert-expiry": 1} if milestone else {}), (day, added)
        assert await scan_on(sessions, day) == {}  # the same scan again adds nothing
        if milestone:
            expected.append(milestone)
    assert await outbox_keys(sessions) == expected


async def test_after_downtime_only_the_latest_milestone_is_sent(make_runner: Callable, sqlite_url: str) -> None:
    sessions = (await make_runner(sqlite_url)).sessions
    await producer_with_certificate(sessions, date(2024, 1, 15))
    await scan_on(sessions, certificate_valid_until(date(2024, 1, 15)) - timedelta(days=20))
    assert await outbox_keys(sessions) == ["30"]


async def test_reminder_text_and_re_evaluation(make_runner: Callable, sqlite_url: str) -> None:
    runner = await make_runner(sqlite_url)
    decided = date(2024, 1, 15)
    _, product_id = await producer_with_certificate(runner.sessions, decided)
    await scan_on(runner.sessions, certificate_valid_until(decided) - timedelta(days=30))
    chat = Chat(runner, user="producer-1")
    await chat.say("/start")  # a web chat gets its pending notices with its next reply
    notice = chat.transcript[0]
    assert "Mật ong bạc hà" in notice and "15/01/2027" in notice and "còn 30 ngày" in notice and "★★★★☆" in notice
    await chat.tap(f"reeval:{product_id}")
    await chat.agree_if_asked()
    assert says(chat.text, "reevaluate.intro", product="Mật ong bạc hà")
    assert says(chat.text, "reevaluate.current_certificate", stars="★★★★☆", number="1032/QĐ-UBND", date="15/01/2027")
    assert says(chat.last, "ask.changes")
    await chat.tap("nav:done")  # nothing has changed: straight to the new dossier
    assert "Phiếu đăng ký sản phẩm OCOP" in chat.last
    await chat.send_file(PDF, "application/pdf")
    await chat.tap("nav:done")
    assert "Báo cáo tình hình sản xuất, kinh doanh sản phẩm trong 3 năm" in chat.last
    assert "nav:skip" not in chat.option_ids
    await chat.say("bỏ qua")
    assert says(chat.text, "form.cannot_skip")  # the report is what a re-evaluation is about
    while "nav:paper" in chat.option_ids:
        if "nav:skip" in chat.option_ids:
            await chat.tap("nav:skip")
        else:
            await chat.send_file(PDF, "application/pdf")
            await chat.tap("nav:done")
    assert "Mật ong bạc hà" in chat.text and says(chat.text, "reevaluate.review_title")
    assert "Đã thay đổi: Không có gì thay đổi" in chat.shown
    await chat.tap("nav:submit")
    assert "OCOP-" in chat.text
    async with runner.sessions() as session:
        applications = list(await session.exec(select(Application).order_by(col(Application.id))))
        assert [(a.kind, a.product_id) for a in applications] == [("new", product_id), ("reevaluation", product_id)]
    await chat.press_stale(f"reeval:{product_id + 100}")  # somebody else's product, or none
    assert "không tìm thấy sản phẩm này" in chat.text.lower()


async def test_reminders_in_the_persons_language(make_runner: Callable, sqlite_url: str) -> None:
    sessions = (await make_runner(sqlite_url)).sessions
    await producer_with_certificate(sessions, date(2024, 1, 15), language="en")
    await scan_on(sessions, date(2027, 1, 16))  # the day after it lapsed
    async with sessions() as session:
        [message] = await session.exec(select(OutboxMessage))
    assert message.text.startswith("⚠️ The OCOP certificate of Mật ong bạc hà expired on 15/01/2027")


async def test_a_re_evaluated_product_is_not_reminded_of_its_old_certificate(make_runner: Callable,
                                                                           sqlite_url: str) -> None:
    sessions = (await make_runner(sqlite_url)).sessions
    async with sessions() as session, session.begin():
        producer = await add_producer(session)
        session.add(ChatAccount(channel="web", chat_id="p", producer_id=producer.id))
        await add_application(session, producer, name="Trà", status="recognised", decided=date(2024, 1, 15))
        await add_application(session, producer, name="Trà", status="recognised", decided=date(2026, 10, 1))
    # Same product name, two products in this seed: make the second certificate belong to the first product.
    async with sessions() as session, session.begin():
        first, second = list(await session.exec(select(Certificate).order_by(col(Certificate.id))))
        second.product_id = first.product_id
        session.add(second)
    assert await scan_on(sessions, date(2026, 12, 16)) == {}


async def test_idle_drafts_are_reminded_once(make_runner: Callable, sqlite_url: str, clock) -> None:
    runner = await make_runner(sqlite_url)
    chat = Chat(runner)
    await chat.say("/dangky")
    await chat.agree_if_asked()
    await chat.say("1")
    day = clock.today
    assert await scan_on(runner.sessions, day) == {}
    async with runner.sessions() as session:
        state = (await session.exec(select(ConversationState))).one()
    later = state.updated_at + timedelta(days=3, minutes=1)
    for _ in range(2):
        async with runner.sessions() as session, session.begin():
            added = await scan(session, today=later.date(), now=later, rules=RULES)
    assert added == {}  # the second scan
    async with runner.sessions() as session:
        [message] = await session.exec(select(OutboxMessage))
    assert message.reason == "draft.idle" and "đang làm dở" in message.text


async def test_officers_get_a_monday_digest_of_their_province(make_runner: Callable, sqlite_url: str) -> None:
    runner = await make_runner(sqlite_url)
    async with runner.sessions() as session, session.begin():
        own = await add_producer(session, name="HTX Đà Lạt")
        await add_application(session, own, name="Dâu tây Đà Lạt", status="recognised", decided=date(2024, 1, 20))
        other = await add_producer(session, name="HTX Huế", province_code="hue", phone="+84912000111")
        await add_application(session, other, name="Mè xửng", status="recognised", decided=date(2024, 1, 22))
    officer = Chat(runner, user="officer")
    await officer.say(f"/canbo {await invite(runner.sessions)}")
    monday, tuesday = date(2026, 11, 23), date(2026, 11, 24)
    assert monday.weekday() == 0
    assert await scan_on(runner.sessions, tuesday) == {}
    assert await scan_on(runner.sessions, monday) == {"digest.weekly": 1}
    assert await scan_on(runner.sessions, monday) == {}
    await officer.say("/hoso")
    [digest] = [line for line in officer.transcript if says(line, "notice.digest")]
    assert "Dâu tây Đà Lạt" in digest and "20/01/2027" in digest and "Mè xửng" not in digest


async def test_concurrent_scans_on_postgresql_insert_nothing_twice(make_runner: Callable, postgres_url: str) -> None:
    first, second = await make_runner(postgres_url), await make_runner(postgres_url)
    async with first.sessions() as session, session.begin():
        for i in range(40):
            producer = await add_producer(session, name=f"HTX {i}", phone=f"+8491200{i:04d}")
            await add_application(session, producer, name=f"SP {i}", status="recognised", decided=date(2024, 1, 15))
            session.add(ChatAccount(channel="telegram", chat_id=str(i), producer_id=producer.id))
    day = date(2026, 12, 16)
    results = await asyncio.gather(scan_on(first.sessions, day), scan_on(second.sessions, day))
    assert sum(r.get("cert-expiry", 0) for r in results) == 40
    async with first.sessions() as session:
        assert len(list(await session.exec(select(OutboxMessage)))) == 40


async def test_the_scheduler_scans_at_start_up(make_runner: Callable, sqlite_url: str) -> None:
    sessions = (await make_runner(sqlite_url)).sessions
    await producer_with_certificate(sessions, date(2024, 1, 15))
    kicked = []
    scheduler = ReminderScheduler(sessions, RULES, timezone="Asia/Ho_Chi_Minh", scan_at=time(8),
                                  on_added=lambda: kicked.append(1),
                                  clock=lambda: datetime(2026, 12, 20, 2, 0, tzinfo=UTC))
    scheduler.start()
    try:
        await eventually(lambda: scheduler.last_run is not None)
    finally:
        await scheduler.stop()
    assert scheduler.last_run is not None and kicked == [1]
    async with sessions() as session:
        assert (await session.exec(select(Producer))).first() is not None
        assert len(list(await session.exec(select(OutboxMessage)))) == 1


async def test_a_scan_that_fails_is_tried_again_soon(make_runner: Callable, sqlite_url: str) -> None:
    sessions = (await make_runner(sqlite_url)).sessions
    await producer_with_certificate(sessions, date(2024, 1, 15))
    failures = [OperationalError("SELECT 1", {}, ConnectionRefusedError("database restarting"))] * 2

    def flaky_sessions() -> Any:  # the database refuses the first two scans, then is back
        if failures:
            raise failures.pop()
        return sessions()

    # A function in place of the sessionmaker: what the scheduler calls is all that matters here.
    scheduler = ReminderScheduler(cast(async_sessionmaker[AsyncSession], flaky_sessions), RULES,
                                  timezone="Asia/Ho_Chi_Minh", scan_at=time(8),
                                  clock=lambda: datetime(2026, 12, 20, 2, 0, tzinfo=UTC),
                                  retry_after=timedelta(milliseconds=50))
    scheduler.start()
    try:
        await eventually(lambda: scheduler.last_run is not None)
    finally:
        await scheduler.stop()
    assert not failures and scheduler.last_run is not None  # the start-up scan failed twice, then ran
    async with sessions() as session:
        assert len(list(await session.exec(select(OutboxMessage)))) == 1


async def test_rule_remind_me_in_seven_days_only_while_more_than_seven_days_are_left(make_runner: Callable,
                                                                                       sqlite_url: str) -> None:
    """A snooze that would fire after the certificate has run out helps nobody: at 7 days, and once lapsed, the
    reminder offers only the re-evaluation."""
    sessions = (await make_runner(sqlite_url)).sessions
    decided = date(2024, 1, 15)
    _, product_id = await producer_with_certificate(sessions, decided)
    valid_until = certificate_valid_until(decided)
    for days_before in (30, 7, -1):
        await scan_on(sessions, valid_until - timedelta(days=days_before))
    async with sessions() as session:
        offered = [[o["id"].split(":")[0] for o in m.options]
                   for m in await session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id)))]
    assert offered == [["reeval", "snooze"], ["reeval"], ["reeval"]]
