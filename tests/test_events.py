"""Trainings and fairs: an officer announces, producers sign up, reminders go out, changes are told."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from openpyxl import load_workbook
from sqlmodel import select

from handlers.notices.reminders import ReminderRules, scan
from storage.models import ChatAccount, OutboxMessage
from tests.support.catalog import says
from tests.support.checks import present
from tests.support.events import NOW, add_event
from tests.support.fakes import Chat
from tests.support.seed import add_application, add_producer, invite


async def setup(make_runner: Callable, url: str, clock) -> tuple:
    clock.now = NOW
    runner = await make_runner(url)
    async with runner.sessions() as session, session.begin():
        for user, name, group, province in (("food-1", "HTX Mật ong", "food", "lam-dong"),
                                            ("craft-1", "HTX Dệt", "craft", "lam-dong"),
                                            ("hanoi-1", "HTX Gốm", "craft", "ha-noi")):
            producer = await add_producer(session, name=name, province_code=province,
                                          phone=f"+8491200{len(user) * 111:04d}" if user != "craft-1" else None)
            await add_application(session, producer, name=f"SP {name}", group=group)
            session.add(ChatAccount(channel="web", chat_id=user, producer_id=producer.id))
    # On Telegram: the tests move the clock days ahead, past any web session's end.
    officer = Chat(runner, user="officer", channel="telegram")
    await officer.say(f"/canbo {await invite(runner.sessions)}")
    return runner, officer




async def test_training_from_announcement_to_reminder(make_runner: Callable, db_url: str, clock) -> None:
    runner, officer = await setup(make_runner, db_url, clock)
    await officer.say("/themtaphuan")
    await officer.say("Tập huấn câu chuyện sản phẩm")
    await officer.say("Hội trường UBND xã Đạ Sar")
    await officer.say("8 giờ sáng")  # no day
    assert says(officer.text, "error.datetime_format")
    await officer.say("ngày mai 8 giờ")  # understood: the end is asked next; back to give the real day
    assert says(officer.last, "ask.event_end")
    await officer.tap("nav:back")
    await officer.say("01/11/2026 08:00")
    assert says(officer.text, "error.datetime_too_early")
    await officer.say("12/12/2026 8h")
    await officer.say("12/12/2026 7h")
    assert says(officer.text, "error.datetime_too_early")  # the end before the start
    await officer.say("12/12/2026 16h30")
    await officer.tap("nav:skip")
    await officer.tap("nav:skip")
    await officer.tap("nav:done")
    assert "Thứ Bảy, 12/12/2026, 08:00" in officer.shown and "Thứ Bảy, 12/12/2026, 16:30" in officer.shown
    await officer.tap("nav:submit")
    assert says(officer.text, "event.created", count=2)  # the whole province, not Hà Nội

    food = Chat(runner, user="food-1")
    await food.say("/taphuan")
    assert "📚 Tập huấn: Tập huấn câu chuyện sản phẩm" in food.transcript[0]  # the announcement
    assert "1. Thứ Bảy, 12/12/2026, 08:00 — Tập huấn câu chuyện sản phẩm" in food.text
    await food.tap(next(o for o in food.option_ids if o.startswith("event:open:")))
    event_id = int(food.option_ids[0].rsplit(":", 1)[1])
    await food.tap(f"event:join:{event_id}")
    assert says(food.text, "event.registered")
    await food.tap(f"event:ics:{event_id}")
    [attachment] = food.replies[0].attachments
    calendar = present(attachment.content).decode()
    assert "BEGIN:VCALENDAR" in calendar and "DTSTART:20261212T010000Z" in calendar
    assert "SUMMARY:Tập huấn câu chuyện sản phẩm" in calendar
    await food.press_stale(f"event:join:{event_id}")
    assert says(food.text, "event.already_registered")
    hanoi = Chat(runner, user="hanoi-1")
    await hanoi.say("/taphuan")
    assert "Chưa có lớp tập huấn" in hanoi.text
    await hanoi.press_stale(f"event:join:{event_id}")
    assert says(hanoi.text, "event.not_found")

    async with runner.sessions() as session, session.begin():
        assert await scan(session, today=date(2026, 12, 10), now=NOW, rules=ReminderRules()) == {}
    for _ in range(2):
        async with runner.sessions() as session, session.begin():
            added = await scan(session, today=date(2026, 12, 11), now=NOW, rules=ReminderRules())
    assert added == {}  # the second scan of that day
    async with runner.sessions() as session:
        tomorrow = [m for m in await session.exec(select(OutboxMessage)) if m.reason == "training.tomorrow"]
    assert len(tomorrow) == 1 and "Ngày mai" in tomorrow[0].text

    await officer.press_stale(f"event:open:{event_id}")
    assert says(officer.text, "event.registrant_count", count=1)
    await officer.tap(f"event:people:{event_id}")
    [sheet] = officer.replies[0].attachments
    assert "HTX Mật ong" in officer.text
    rows = list(load_workbook(io.BytesIO(sheet.content)).active.iter_rows(values_only=True))
    assert rows[1][0] == "HTX Mật ong"


async def test_fair_for_some_groups_deadline_reminder_change_and_cancel(make_runner: Callable, sqlite_url: str,
                                                                        clock) -> None:
    runner, officer = await setup(make_runner, sqlite_url, clock)
    await add_event(officer, "/themhoicho", "Hội chợ thủ công Đà Lạt", start="20/12/2026 08:00",
                    end="22/12/2026 21:00", deadline="10/12/2026 17:00", groups=("craft",))
    assert says(officer.text, "event.created", count=1)
    food, craft = Chat(runner, user="food-1"), Chat(runner, user="craft-1")
    await food.say("/hoicho")
    assert "Chưa có hội chợ nào" in food.text  # not for food producers
    await craft.say("/hoicho")
    assert "Hội chợ thủ công Đà Lạt" in craft.text

    async with runner.sessions() as session, session.begin():
        added = await scan(session, today=date(2026, 12, 3), now=NOW, rules=ReminderRules())
    assert added == {"fair.deadline": 1}
    await craft.say("/hoicho")
    assert any(says(line, "notice.fair_deadline") for line in craft.transcript)
    event_id = int(next(o for o in craft.option_ids if o.startswith("event:open:")).rsplit(":", 1)[1])
    await craft.press_stale(f"event:join:{event_id}")

    await officer.press_stale(f"event:edit:{event_id}")
    assert says(officer.text, "officer.review_title")  # every answer is there: straight to the review
    await officer.tap("edit:event_place")  # the review's row itself
    await officer.say("Quảng trường Lâm Viên")
    await officer.tap("nav:submit")
    assert says(officer.text, "event.saved")
    await officer.press_stale(f"event:cancel:{event_id}")
    await officer.tap("nav:yes")
    assert says(officer.text, "event.cancelled")
    await craft.say("/hoicho")
    told = "\n".join(craft.transcript)
    assert says(told, "event.changed_notice", place="Quảng trường Lâm Viên") and says(told, "event.cancelled_notice")
    assert "Chưa có hội chợ nào" in craft.text

    clock.now = datetime(2026, 12, 11, 0, 30, tzinfo=UTC)  # 07:30, half an hour before the deadline
    await add_event(officer, "/themhoicho", "Hội chợ OCOP", start="20/12/2026 08:00", end="20/12/2026 17:00",
                    deadline="11/12/2026 08:00")
    clock.now = datetime(2026, 12, 11, 3, 0, tzinfo=UTC)
    await craft.say("/hoicho")
    other_id = int(next(o for o in craft.option_ids if o.startswith("event:open:")).rsplit(":", 1)[1])
    await craft.press_stale(f"event:join:{other_id}")
    assert says(craft.text, "event.deadline_passed")


async def test_producers_cannot_manage_events(make_runner: Callable, sqlite_url: str, clock) -> None:
    runner, officer = await setup(make_runner, sqlite_url, clock)
    await add_event(officer, "/themtaphuan", "Tập huấn", start="12/12/2026 08:00", end="12/12/2026 11:00",
                    deadline=None)
    food = Chat(runner, user="food-1")
    await food.say("/themtaphuan")
    assert says(food.text, "officer.not_allowed")
    for forged in ("event:people:1", "event:edit:1", "event:cancel:1"):
        await food.press_stale(forged)
        assert says(food.text, "officer.not_allowed")


async def test_reminder_preferences_and_snooze(make_runner: Callable, sqlite_url: str, clock) -> None:
    runner, _ = await setup(make_runner, sqlite_url, clock)
    food = Chat(runner, user="food-1")
    await food.say("/nhacnho")
    assert "Tập huấn: đang bật" in food.text and says(food.text, "prefs.certificates")
    await food.tap("optout:training")
    assert "Tập huấn: đã tắt" in food.text
    async with runner.sessions() as session:
        account = (await session.exec(select(ChatAccount).where(ChatAccount.chat_id == "food-1"))).one()
        assert account.reminder_optouts == ["training"]

    async with runner.sessions() as session, session.begin():
        producer = await add_producer(session, name="HTX Có chứng nhận", phone="+84912777777")
        await add_application(session, producer, status="recognised", decided=date(2024, 1, 15))
        account = (await session.exec(select(ChatAccount).where(ChatAccount.chat_id == "food-1"))).one()
        account.producer_id = producer.id
        session.add(account)
    async with runner.sessions() as session, session.begin():
        await scan(session, today=date(2026, 12, 16), now=NOW, rules=ReminderRules())
    await food.say("/start")
    snooze = next(o for o in food.option_ids if o.startswith("snooze:"))
    await food.tap(snooze)
    assert "nhắc lại vào ngày 27/11/2026" in food.text
    await food.press_stale(snooze)
    assert says(food.text, "prefs.snoozed_already")
    async with runner.sessions() as session:
        snoozed = [m for m in await session.exec(select(OutboxMessage)) if m.dedupe_key.endswith(":snoozed")]
    assert len(snoozed) == 1 and snoozed[0].due_at == NOW + timedelta(days=7)


async def test_a_day_typed_in_a_form_counts_from_when_it_is_typed_not_when_the_form_was_opened(
        make_runner: Callable, sqlite_url: str, clock) -> None:
    runner, officer = await setup(make_runner, sqlite_url, clock)
    await officer.say("/themtaphuan")  # Friday 20/11
    await officer.say("Tập huấn bao bì")
    await officer.say("Nhà văn hóa xã")
    clock.now = NOW + timedelta(days=3)  # back on Monday 23/11 to give the start
    await officer.say("mai 8h")
    await officer.tap(next(o for o in officer.option_ids if "continue" in o))  # "continue where I was?"
    await officer.say("mai 16h")
    for step in ("nav:skip", "nav:skip", "nav:done"):
        await officer.tap(step)
    assert "Thứ Ba, 24/11/2026, 08:00" in officer.shown  # Tuesday: the day after it was typed, not Saturday
