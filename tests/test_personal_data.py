"""Personal data as the law asks: a notice and consent before the first personal detail, `/dulieu` to see what is
held, and a request to delete it that reaches the province's officers."""

from __future__ import annotations

from collections.abc import Callable

from sqlmodel import select

from storage.models import AuditEvent, ChatAccount, OutboxMessage, Producer
from tests.support.catalog import says
from tests.support.fakes import Chat
from tests.support.flows import answer_dossier, answer_product, answer_profile
from tests.support.seed import add_application, add_producer, invite


async def account_of(runner, user: str) -> ChatAccount:
    async with runner.sessions() as session:
        return (await session.exec(select(ChatAccount).where(ChatAccount.chat_id == user))).one()


async def test_the_notice_comes_before_the_first_personal_question_and_consent_is_recorded_with_its_time(
        make_runner: Callable, db_url: str, clock) -> None:
    runner = await make_runner(db_url)
    chat = Chat(runner, user="lan")
    await chat.say("/start")
    await chat.tap("menu:register")
    assert says(chat.text, "consent.notice") and "/dulieu" in chat.text
    assert not says(chat.text, "ask.entity_type")  # nothing personal asked yet
    assert chat.option_ids == ["consent:yes", "consent:no"]
    await chat.tap("consent:yes")
    assert says(chat.last, "ask.entity_type")  # the profile's first question
    account = await account_of(runner, "lan")
    assert account.consented_at is not None and account.consent_version == "2026-01"
    async with runner.sessions() as session:
        [event] = (await session.exec(select(AuditEvent).where(AuditEvent.action == "consent.given"))).all()
    assert event.actor_account_id == account.id and event.details == {"version": "2026-01"}

    await chat.say("/huy")
    await chat.say("có")
    await chat.tap("menu:register")  # agreed once: not asked again
    assert says(chat.last, "ask.entity_type") and not says(chat.text, "consent.notice")


async def test_declining_asks_nothing_and_keeps_nothing(make_runner: Callable, sqlite_url: str) -> None:
    runner = await make_runner(sqlite_url)
    chat = Chat(runner, user="zalo-1", channel="zalo")
    await chat.say("/dangky")
    await chat.say("2")  # typed: the second line, "Không đồng ý"
    assert says(chat.text, "consent.declined")
    assert "menu:register" in chat.option_ids  # back at the menu, free to change their mind
    assert (await account_of(runner, "zalo-1")).consented_at is None
    async with runner.sessions() as session:
        assert not (await session.exec(select(Producer))).all()
    await chat.say("dang ky")
    await chat.say("dong y")  # typed words, without diacritics
    assert says(chat.last, "ask.entity_type")


async def test_a_question_meanwhile_is_answered_and_the_notice_is_not_in_the_way(make_runner: Callable,
                                                                                 sqlite_url: str) -> None:
    chat = Chat(await make_runner(sqlite_url), user="u")
    await chat.say("/dangky")
    await chat.say("ừm để xem")
    assert "Đồng ý" in chat.text and "consent:yes" in chat.option_ids  # asked again, kindly
    await chat.say("/taphuan")
    assert "tập huấn" in chat.text.lower()
    await chat.say("1")  # no longer a consent: whatever the list shows, never a silent "agree"
    assert (await account_of(chat.runner, "u")).consented_at is None


async def test_an_imported_producer_re_evaluating_is_asked_first(make_runner: Callable, sqlite_url: str,
                                                                 clock) -> None:
    runner = await make_runner(sqlite_url)
    async with runner.sessions() as session, session.begin():
        producer = await add_producer(session, tax_code="0100109106")
        product, _ = await add_application(session, producer, status="recognised", decided=clock.today)
        producer_id, product_id = producer.id, product.id
    chat = Chat(runner, user="owner", channel="telegram")
    await chat.say("/start")
    async with runner.sessions() as session, session.begin():
        account = (await session.exec(select(ChatAccount).where(ChatAccount.chat_id == "owner"))).one()
        account.producer_id = producer_id
        session.add(account)
    await chat.press_stale(f"reeval:{product_id}")
    assert says(chat.text, "consent.notice")
    await chat.tap("consent:yes")
    assert "Cà phê Arabica" in chat.text  # the re-evaluation it was asked for, not a blank registration


async def test_mydata_shows_what_is_held_and_only_ones_own(make_runner: Callable, sqlite_url: str) -> None:
    runner = await make_runner(sqlite_url)
    lan = Chat(runner, user="lan")
    await answer_profile(lan)
    await answer_product(lan)
    await answer_dossier(lan)
    await lan.tap("nav:submit")
    await lan.say("/dulieu")
    text = lan.text
    assert says(text, "mydata.title") and "Hộ bà Nguyễn Thị Lan" in text and "0912 345 678" in text
    assert "Mật ong bạc hà" in text and "OCOP-" in text and says(text, "mydata.consent")
    assert "Thôn 3, đường Lê Lợi" in text and "Tuyên Quang" in text
    other = Chat(runner, user="other")
    await other.say("/mydata")
    assert says(other.text, "mydata.no_producer") and "Nguyễn Thị Lan" not in other.text
    assert says(other.text, "mydata.no_consent")


async def test_a_deletion_request_reaches_the_provinces_officers(make_runner: Callable, sqlite_url: str) -> None:
    runner = await make_runner(sqlite_url)
    officer = Chat(runner, user="officer", channel="telegram")
    await officer.say(f"/canbo {await invite(runner.sessions, 'tuyen-quang')}")
    elsewhere = Chat(runner, user="elsewhere", channel="telegram")
    await elsewhere.say(f"/canbo {await invite(runner.sessions, 'lam-dong', name='Trần Thị B')}")
    lan = Chat(runner, user="lan")
    await answer_profile(lan)
    await lan.say("/huy")
    await lan.say("có")
    await lan.say("/dulieu")
    await lan.tap("mydata:delete")
    assert says(lan.text, "mydata.delete_confirm")
    await lan.tap("nav:no")
    assert says(lan.text, "mydata.delete_kept")
    await lan.say("/dulieu")
    await lan.tap("mydata:delete")
    await lan.tap("nav:yes")
    assert says(lan.text, "mydata.delete_sent")
    async with runner.sessions() as session:
        rows = (await session.exec(select(OutboxMessage).where(OutboxMessage.reason == "producer"))).all()
        officer_account = (await session.exec(select(ChatAccount).where(ChatAccount.chat_id == "officer"))).one()
        events = (await session.exec(select(AuditEvent).where(AuditEvent.action == "data.deletion_requested"))).all()
    assert [row.account_id for row in rows] == [officer_account.id]  # Tuyên Quang's officer, not Lâm Đồng's
    assert says(rows[0].text, "notice.deletion_requested", name="Hộ bà Nguyễn Thị Lan")
    assert len(events) == 1
    await lan.say("/dulieu")
    assert says(lan.text, "mydata.deletion_pending") and "mydata:delete" not in lan.option_ids


async def test_mydata_in_the_middle_of_a_form_answers_and_asks_the_open_question_again(chat: Chat) -> None:
    await answer_profile(chat)
    await chat.say("/dulieu")
    assert "Hộ bà Nguyễn Thị Lan" in chat.text and says(chat.last, "ask.product_name")  # the form goes on
    assert "mydata:delete" not in chat.option_ids  # a button that would not work here is not offered
    assert says(chat.text, "mydata.delete_later")
