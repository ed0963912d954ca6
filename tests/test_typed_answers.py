"""What people actually type: an application code anywhere, and the public lookup beyond its first page."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from sqlmodel import select

from storage.lifecycle import certificate_valid_until
from storage.models import Certificate
from tests.support.catalog import says
from tests.support.chats import linked_chat
from tests.support.checks import present
from tests.support.fakes import Chat
from tests.support.flows import answer_profile
from tests.support.seed import COMPLETE_PROFILE, add_application, add_producer, invite


async def test_a_typed_application_code_opens_its_status_for_its_owner_only(make_runner: Callable,
                                                                              sqlite_url: str, clock) -> None:
    runner = await make_runner(sqlite_url)
    async with runner.sessions() as session, session.begin():
        producer = await add_producer(session, **COMPLETE_PROFILE)
        _, older = await add_application(session, producer, name="Cà phê Arabica", status="council_review")
        await add_application(session, producer, name="Mật ong", status="submitted")
        other = await add_producer(session, name="HTX Khác", tax_code="0100109106", phone="+84911111111")
        _, theirs = await add_application(session, other, name="Rượu bí mật", status="needs_more")
        producer_id, code, their_code, older_id = producer.id, present(older.code), present(theirs.code), older.id
    chat = await linked_chat(runner, producer_id)
    await chat.say(f"hồ sơ {code.lower()} đến đâu rồi?")
    assert "Cà phê Arabica" in chat.text and "Hội đồng tỉnh" in chat.text and "Mật ong" not in chat.text
    await chat.say(their_code)
    assert says(chat.text, "status.code_not_yours", code=their_code) and "Rượu bí mật" not in chat.text

    # In the middle of a form the code alone is a question; inside a longer answer it is part of the answer.
    await chat.tap("menu:register")
    await chat.agree_if_asked()
    await chat.say(code)
    assert "Cà phê Arabica" in chat.text and says(chat.last, "ask.product_name")
    await chat.say(f"Cà phê như hồ sơ {code} năm ngoái")
    assert says(chat.last, "ask.group")

    officer = Chat(runner, user="officer", channel="telegram")
    await officer.say(f"/canbo {await invite(runner.sessions)}")
    await officer.say(code)
    assert f"Hồ sơ {code}" in officer.text and f"app:act:{older_id}:request_more" in officer.option_ids
    elsewhere = Chat(runner, user="elsewhere", channel="telegram")
    await elsewhere.say(f"/canbo {await invite(runner.sessions, 'ha-noi', name='Trần B')}")
    await elsewhere.say(code)
    assert says(elsewhere.text, "officer.not_found")


async def test_lookup_pages_past_its_first_matches_and_never_marks_an_expired_product_valid(
        make_runner: Callable, sqlite_url: str, clock) -> None:
    runner = await make_runner(sqlite_url)
    today = clock.today
    async with runner.sessions() as session, session.begin():
        producer = await add_producer(session)
        for number in range(7):
            await add_application(session, producer, name=f"Mật ong rừng số {number}", status="recognised",
                                  decided=today - timedelta(days=10 + number))
        await add_application(session, producer, name="Mật ong hết hạn", status="recognised",
                              decided=date(today.year - 4, 3, 1))
        product, _ = await add_application(session, producer, name="Mật ong đánh giá lại", status="recognised",
                                           decided=date(today.year - 4, 3, 1))
        # re-evaluated: a newer certificate for the same product
        session.add(Certificate(product_id=product.id, stars=5, score=91, decision_number="77/QĐ-UBND",
                                decision_date=today - timedelta(days=5),
                                valid_until=certificate_valid_until(today - timedelta(days=5))))
    person = Chat(runner, user="someone")
    await person.say("/tracuu mat ong")
    assert says(person.text, "lookup.shown", first=1, last=5, total=9)
    await person.tap("lookup:more:5")
    shown = person.text
    assert "Mật ong hết hạn" in shown and not says(shown, "lookup.shown")  # the last page: no "more"
    expired = next(r.text for r in person.replies if "Mật ong hết hạn" in r.text)
    assert expired.startswith("⌛") and "✅" not in expired and "đã hết hạn" in expired
    await person.say("/tracuu mat ong danh gia lai")
    assert person.text.startswith("✅") and "77/QĐ-UBND" in person.text and "⌛" not in person.text
    async with runner.sessions() as session:
        assert len((await session.exec(select(Certificate))).all()) == 10


async def test_lookup_more_in_the_middle_of_a_form_answers_and_asks_again(make_runner: Callable,
                                                                           sqlite_url: str, clock) -> None:
    runner = await make_runner(sqlite_url)
    async with runner.sessions() as session, session.begin():
        producer = await add_producer(session)
        for number in range(6):
            await add_application(session, producer, name=f"Chè số {number}", status="recognised",
                                  decided=clock.today - timedelta(days=10 + number))
    chat = Chat(runner, user="lan")
    await answer_profile(chat)
    await chat.say("/tracuu che")
    await chat.tap("lookup:more:5")
    assert "Chè số 5" in chat.text and says(chat.last, "ask.product_name")


def test_help_and_telegrams_menu_come_from_the_one_command_table() -> None:
    """Every command a producer may use is in /trogiup (with /taphuan, /hoicho, /nhacnho) and, where it belongs, in
    Telegram's command menu; officers see theirs too, producers never do."""
    from handlers.commands import TABLE, help_text, telegram_menu
    from messages import t

    for lang in ("vi", "en"):
        producer, officer = help_text(lang, officer=False), help_text(lang, officer=True)
        for command in TABLE:
            word = f"/{command.en if lang == 'en' else command.vi}"
            if command.in_help:
                assert (word in producer) == (command.who == "everyone") and word in officer, (lang, word)
        assert all(w in help_text("vi", False) for w in ("/taphuan", "/hoicho", "/nhacnho", "/vanphong"))
        menu = dict(telegram_menu(lang, officer=False))
        officer_menu = dict(telegram_menu(lang, officer=True))
        assert "dangky" in menu or "register" in menu
        assert ("hoso" in officer_menu or "applications" in officer_menu) and not {"hoso", "applications"} & set(menu)
        assert all(text == t(lang, f"command.{c.action}") for c in TABLE for name, text in menu.items()
                   if name in (c.vi, c.en))


async def test_a_person_not_linked_yet_browses_a_provinces_trainings_and_fairs(make_runner: Callable,
                                                                              sqlite_url: str, clock) -> None:
    from storage.models import Event

    runner = await make_runner(sqlite_url)
    start = clock.now + timedelta(days=10)
    async with runner.sessions() as session, session.begin():
        for province, name in (("lam-dong", "Hội chợ OCOP Lâm Đồng"), ("son-la", "Hội chợ Sơn La")):
            session.add(Event(kind="fair", name=name, place="Đà Lạt", starts_at=start,
                              ends_at=start + timedelta(hours=8), province_code=province, audience_groups=["food"]))
    person = Chat(runner, user="zalo-9", channel="zalo")
    await person.say("/hoicho")
    assert says(person.text, "event.ask_province")
    await person.say("lam dong")  # typed without diacritics
    assert "Hội chợ OCOP Lâm Đồng" in person.text and "Hội chợ Sơn La" not in person.text
    await person.say("1")  # the first fair of the list, by its number
    assert "Hội chợ OCOP Lâm Đồng" in person.text
    join = next(o for o in person.option_ids if o.startswith("event:join:"))
    await person.tap(join)
    assert says(person.text, "event.registered")
    await person.say("/taphuan")  # the province is remembered
    assert "Chưa có lớp tập huấn nào ở Lâm Đồng" in person.text
    await person.tap("event:province:training")
    await person.say("Sơn La")
    assert "Chưa có lớp tập huấn nào ở Sơn La" in person.text
