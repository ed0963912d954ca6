"""Officers on the web chat: only through a session opened with a one-time code, which expires, can be ended by
signing out, and is ended at once by `ocop-bot officer revoke`."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

from sqlmodel import select

from bot.cli.officers import new_code
from bot.settings import Settings
from storage.models import ChatAccount, Officer, OutboxMessage
from storage.officers import revoke_officer
from tests.support.catalog import says
from tests.support.fakes import Chat
from tests.support.flows import answer_profile
from tests.support.seed import add_application, add_producer, invite


async def seeded(runner) -> int:
    async with runner.sessions() as session, session.begin():
        producer = await add_producer(session)
        _, application = await add_application(session, producer, name="Cà phê Cầu Đất")
        return application.id


async def test_a_web_session_lasts_twelve_hours_then_the_page_is_a_producers_page(make_runner: Callable,
                                                                                 sqlite_url: str, clock) -> None:
    runner = await make_runner(sqlite_url)
    application_id = await seeded(runner)
    web = Chat(runner, user="web-officer")
    await web.say(f"/canbo {await invite(runner.sessions)}")
    assert "tài khoản cán bộ OCOP tỉnh Lâm Đồng" in web.text
    assert says(web.text, "officer.web_session_opened") and "/dangxuat" in web.text
    await web.say("/hoso")
    assert "Cà phê Cầu Đất" in web.text

    clock.advance(hours=11, minutes=59)
    await web.tap(f"app:open:{application_id}")
    assert "Cà phê Cầu Đất" in web.text
    clock.advance(minutes=2)  # past twelve hours
    await web.say("/hoso")
    assert says(web.text, "officer.session_ended")
    assert says(web.text, "officer.not_allowed") and "Cà phê Cầu Đất" not in web.text
    await web.press_stale(f"app:act:{application_id}:commune_check")  # a button from the old page
    assert says(web.text, "officer.not_allowed")
    assert "menu:applications" not in web.option_ids and "menu:register" in web.option_ids
    await web.say("/start")
    assert not says(web.text, "officer.session_ended")  # told once


async def test_a_new_code_opens_a_web_session_beside_the_officers_telegram_and_sign_out_ends_it(
        make_runner: Callable, sqlite_url: str) -> None:
    runner = await make_runner(sqlite_url)
    application_id = await seeded(runner)
    phone = Chat(runner, user="tg-officer", channel="telegram")
    await phone.say(f"/canbo {await invite(runner.sessions)}")
    async with runner.sessions() as session:
        officer_id = (await session.exec(select(Officer))).one().id

    status, lines = await new_code(Settings(OCOP_DATABASE_URL=sqlite_url), officer_id, hours=24)
    code = re.search(r"Mã mới cho Nguyễn Văn An: (\w+)", lines[0])
    assert status == 0 and code
    web = Chat(runner, user="web-officer")
    await web.say(f"/canbo {code.group(1)}")
    await web.tap("menu:applications")
    assert "Cà phê Cầu Đất" in web.text
    await phone.say("/hoso")  # the phone still works: the web session is beside it, not instead of it
    assert "Cà phê Cầu Đất" in phone.text

    await web.say(f"/canbo {code.group(1)}")  # one use only
    assert says(web.text, "officer.bad_code")
    await web.say("/dangxuat")
    assert says(web.text, "officer.signed_out")
    await web.press_stale(f"app:open:{application_id}")
    assert says(web.text, "officer.not_allowed")
    await web.say("/dangxuat")
    assert says(web.text, "officer.no_session")


async def test_revoking_ends_a_web_session_at_once_and_notices_stop_reaching_the_page(
        make_runner: Callable, sqlite_url: str, clock) -> None:
    runner = await make_runner(sqlite_url)
    web = Chat(runner, user="web-officer")
    await web.say(f"/canbo {await invite(runner.sessions, 'tuyen-quang')}")

    async def producer_asks_for_deletion(user: str) -> list[OutboxMessage]:
        producer = Chat(runner, user=user)
        await answer_profile(producer)  # a producer of Tuyên Quang
        await producer.say("/huy")
        await producer.say("có")
        await producer.say("/dulieu")
        await producer.tap("mydata:delete")
        await producer.tap("nav:yes")
        async with runner.sessions() as session:
            account = (await session.exec(select(ChatAccount).where(ChatAccount.chat_id == "web-officer"))).one()
            return list(await session.exec(select(OutboxMessage).where(OutboxMessage.account_id == account.id)))

    assert len(await producer_asks_for_deletion("first")) == 1  # told on the page while the session is open
    clock.advance(hours=13)
    assert len(await producer_asks_for_deletion("second")) == 1  # the session ran out: not sent to the page

    clock.advance(hours=-13)  # back inside the session, as if never expired: revoking must end it by itself
    async with runner.sessions() as session, session.begin():
        await revoke_officer(session, (await session.exec(select(Officer))).one().id)
    await web.say("/hoso")
    assert says(web.text, "officer.not_allowed")


async def test_a_web_session_is_the_settings_length(make_runner: Callable, sqlite_url: str, clock) -> None:
    from handlers.types import Quotas

    runner = await make_runner(sqlite_url, quotas=Quotas(officer_web_session=timedelta(hours=1)))
    web = Chat(runner, user="web-officer")
    await web.say(f"/canbo {await invite(runner.sessions)}")
    clock.advance(minutes=61)
    await web.say("/hoso")
    assert says(web.text, "officer.session_ended")
