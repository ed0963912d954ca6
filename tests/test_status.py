"""'Where is my application?': every stage, paging, free-text questions, the public lookup and linking."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from storage.lifecycle import add_months
from tests.support.catalog import says
from tests.support.chats import linked_chat
from tests.support.fakes import Chat
from tests.support.flows import answer_profile
from tests.support.seed import COMPLETE_PROFILE, add_application, add_producer, invite

STAGES = {"submitted": "Đã nộp", "needs_more": "Cần bổ sung", "commune_checked": "Xã đã kiểm tra",
          "council_review": "Hội đồng tỉnh đang đánh giá", "awaiting_central": "4★ tiềm năng 5★, chờ Trung ương",
          "rejected": "Không đạt"}




async def test_every_stage_is_shown_in_plain_vietnamese(make_runner: Callable, sqlite_url: str, clock) -> None:
    runner = await make_runner(sqlite_url)
    today = clock.today
    async with runner.sessions() as session, session.begin():
        producer = await add_producer(session, **COMPLETE_PROFILE)
        for status in STAGES:
            await add_application(session, producer, name=f"Sản phẩm {status}", status=status)
        await add_application(session, producer, name="Còn hạn", status="recognised",
                              decided=today - timedelta(days=30))
        await add_application(session, producer, name="Sắp hết", status="recognised",
                              decided=add_months(today, -36) + timedelta(days=60))
        await add_application(session, producer, name="Đã hết", status="recognised",
                              decided=date(today.year - 4, 1, 10))
        producer_id = producer.id
    chat = await linked_chat(runner, producer_id)
    await answer_profile_in_progress(chat)
    await chat.say("/trangthai")  # in the middle of a form: answered, then the open question again
    assert says(chat.last, "ask.group")
    pages = [chat.text]
    while any(o.startswith("status:page:") and "Sau" in label for o, label in zip(chat.option_ids,
                                                                                   chat.option_labels, strict=True)):
        await chat.tap(next(o for o, label in zip(chat.option_ids, chat.option_labels, strict=True) if "Sau" in label))
        pages.append(chat.text)
    assert len(pages) == 10  # a draft and nine products, one at a time
    assert says(chat.last, "ask.group")  # paging did not disturb the form
    seen = "\n".join(pages)
    for label in (*STAGES.values(), "Nháp", "Đã công nhận", "Sắp hết hạn", "Hết hạn"):
        assert f"Giai đoạn: {label}" in seen, label
    assert "còn " in seen and "ngày trước" in seen and says(seen, "status.next")
    assert says(seen, "status.contact_commune", commune="Xã Lạc Dương", province="Lâm Đồng")


async def answer_profile_in_progress(chat: Chat) -> None:
    """An unfinished draft, which the status shows as 'Nháp'."""
    await chat.tap("menu:register")
    await chat.agree_if_asked()
    await chat.say("Rượu cần")
    await chat.say("/huy")
    await chat.tap("nav:no")


async def test_status_asked_in_the_middle_of_a_first_registration_keeps_to_the_form(make_runner: Callable,
                                                                                    sqlite_url: str) -> None:
    """Seen over Telegram: /trangthai at the product name said "choose Register to start" to someone registering."""
    chat = Chat(await make_runner(sqlite_url))
    await answer_profile(chat)
    assert says(chat.last, "ask.product_name")
    await chat.say("/trangthai")
    assert says(chat.text, "status.none_in_form") and not says(chat.text, "status.none")
    assert says(chat.last, "ask.product_name")  # the open question again, nothing lost


async def test_contact_officers_are_named(make_runner: Callable, sqlite_url: str) -> None:
    runner = await make_runner(sqlite_url)
    async with runner.sessions() as session, session.begin():
        producer = await add_producer(session)
        await add_application(session, producer)
        producer_id = producer.id
    officer = Chat(runner, user="officer")
    await officer.say(f"/canbo {await invite(runner.sessions, name='Lê Thị Hoa')}")
    chat = await linked_chat(runner, producer_id)
    await chat.tap("menu:status")
    assert says(chat.text, "status.contact_officers", province="Lâm Đồng", names="Lê Thị Hoa")


async def test_status_of_an_unknown_chat_explains_how_to_link(make_runner: Callable, sqlite_url: str) -> None:
    chat = Chat(await make_runner(sqlite_url), user="42", channel="telegram")
    await chat.say("/trangthai")
    assert says(chat.text, "status.not_linked") and chat.replies[0].request_contact


async def test_public_lookup_shows_only_public_facts(make_runner: Callable, sqlite_url: str, clock) -> None:
    runner = await make_runner(sqlite_url)
    async with runner.sessions() as session, session.begin():
        producer = await add_producer(session, name="HTX Cà phê Cầu Đất", tax_code="0300588569")
        _, recognised = await add_application(session, producer, name="Cà phê Cầu Đất Arabica", status="recognised",
                                              decided=clock.today - timedelta(days=10))
        await add_application(session, producer, name="Cà phê Cầu Đất Robusta", status="rejected")
        await add_application(session, producer, name="Cà phê Cầu Đất mới", status="submitted")
        code = recognised.code
    stranger = Chat(runner, user="stranger")
    await stranger.say("/tracuu ca phe cau dat")
    text = stranger.text
    assert "Cà phê Cầu Đất Arabica" in text and "★★★★☆" in text and "1032/QĐ-UBND" in text
    assert "Xã Lạc Dương, Lâm Đồng" in text
    for private in ("Robusta", "mới", "0300588569", "+84912000999", "Không đạt"):
        assert private not in text, private
    await stranger.say(f"/tracuu {code}")
    assert "Cà phê Cầu Đất Arabica" in stranger.text
    await stranger.say("/tracuu")
    assert says(stranger.text, "lookup.ask")
    await stranger.say("/tracuu ' OR 1=1 --")
    assert "Không tìm thấy" in stranger.text


async def test_linking_by_own_contact_only(make_runner: Callable, sqlite_url: str) -> None:
    runner = await make_runner(sqlite_url)
    async with runner.sessions() as session, session.begin():
        producer = await add_producer(session, phone="+84912000999")
        await add_application(session, producer, name="Chè Shan tuyết")
    someone = Chat(runner, user="555", channel="telegram")
    await someone.share_contact("0912 000 999", owner="777")  # somebody else's contact card
    assert says(someone.text, "error.contact_not_yours")
    await someone.say("/trangthai")
    assert "Chè Shan tuyết" not in someone.text
    owner = Chat(runner, user="777", channel="telegram")
    await owner.share_contact("0912 000 999", owner="777")
    assert says(owner.text, "link.done", producer="HTX Mẫu")
    await owner.say("bao gio het han")  # a question, typed without diacritics
    assert "Chè Shan tuyết" in owner.text
    unknown = Chat(runner, user="888", channel="telegram")
    await unknown.share_contact("0987 111 222", owner="888")
    assert says(unknown.text, "link.no_match")


async def test_linking_by_one_time_code(make_runner: Callable, sqlite_url: str) -> None:
    runner = await make_runner(sqlite_url)
    async with runner.sessions() as session, session.begin():
        producer = await add_producer(session, tax_code="0100109106")
        await add_application(session, producer, name="Nước mắm Phú Quốc")
        other = await add_producer(session, name="HTX Hà Nội", province_code="ha-noi", tax_code="0101248141",
                                   phone="+84912000777")
        del other
    officer = Chat(runner, user="officer")
    await officer.say(f"/canbo {await invite(runner.sessions)}")
    await officer.say("/malienket 0101248141")  # a producer of another province
    assert says(officer.text, "officer.link_not_found")
    await officer.say("/malienket 0100109106")
    code = officer.text.split("Mã liên kết cho HTX Mẫu: ")[1].split()[0]
    producer_chat = Chat(runner, user="producer")
    await producer_chat.say(f"/lienket {code}")
    assert says(producer_chat.text, "link.done", producer="HTX Mẫu")
    await producer_chat.tap("menu:status")
    assert "Nước mắm Phú Quốc" in producer_chat.text
    thief = Chat(runner, user="thief")
    await thief.say(f"/lienket {code}")
    assert says(thief.text, "link.bad_code")
    await thief.say("/malienket 0100109106")
    assert says(thief.text, "officer.not_allowed")


async def test_someone_elses_tax_code_never_attaches_their_records(make_runner: Callable, sqlite_url: str) -> None:
    runner = await make_runner(sqlite_url)
    async with runner.sessions() as session, session.begin():
        producer = await add_producer(session, tax_code="0300588569")
        await add_application(session, producer, name="Sản phẩm bí mật")
    chat = Chat(runner)
    await answer_profile(chat)  # types the same tax code
    assert any(says(line, "error.tax_code_taken") for line in chat.transcript)
    await chat.say("/trangthai")
    assert "Sản phẩm bí mật" not in chat.text
