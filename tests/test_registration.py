"""The registration conversation as a producer lives it, through the real runner and database."""

from __future__ import annotations

import re
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from storage.db import create_engine, create_sessionmaker
from storage.models import (
    Application,
    ApplicationDocument,
    ApplicationStatusChange,
    AuditEvent,
    Producer,
    Product,
    ProvinceOffice,
    StoredFile,
)
from tests.support.catalog import says
from tests.support.fakes import EXE, JPEG, OTHER_MST, PDF, PNG, Chat
from tests.support.flows import answer_dossier, answer_product, answer_profile, answer_until_phone, reach_review
from tests.support.seed import add_producer


async def rows(url: str, model: type) -> list:
    engine: AsyncEngine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session:
            return list(await session.exec(select(model)))
    finally:
        await engine.dispose()


async def test_full_registration_creates_application(make_runner: Callable, db_url: str, tmp_path) -> None:
    chat = Chat(await make_runner(db_url))
    await answer_profile(chat)
    assert any("Hà Giang nay thuộc Tuyên Quang" in line for line in chat.transcript)
    await answer_product(chat)
    await answer_dossier(chat)
    assert says(chat.text, "review.title")
    summary = chat.shown  # every answer a row of the review
    for shown in ("Hộ sản xuất kinh doanh", "0912 345 678", "Tuyên Quang", "Mật ong bạc hà",
                  "Thực phẩm chế biến", "1,5 tấn", "VietGAP, Hữu cơ", "nộp trực tiếp", "(bỏ qua)"):
        assert shown in summary, shown

    await chat.tap("nav:submit")
    code = re.search(r"OCOP-\d{4}-\d{6}", chat.text)
    assert code, chat.text
    assert says(chat.text, "register.submitted")
    assert "Phương án / dự án sản xuất kinh doanh" in chat.text  # reminded to bring the paper copy
    assert "menu:register" in chat.option_ids  # back at the menu, never a dead end

    [producer] = await rows(db_url, Producer)
    assert (producer.entity_type, producer.province_code, producer.phone) == ("household", "tuyen-quang",
                                                                              "+84912345678")
    [product] = await rows(db_url, Product)
    assert (product.group_code, product.subgroup_code, product.yearly_output, product.output_unit) == (
        "food", "food-processed", 1.5, "tấn")
    assert product.certifications == ["vietgap", "organic"]
    [application] = await rows(db_url, Application)
    assert application.code == code.group(0) and application.status == "submitted"
    documents = {(d.doc_code, d.delivery) for d in await rows(db_url, ApplicationDocument)}
    assert {("registration-form", "upload"), ("business-plan", "in_person"), ("food-safety", "in_person"),
            ("test-report", "skipped"), ("product-photo", "upload")} <= documents
    [history] = await rows(db_url, ApplicationStatusChange)
    assert history.to_status == "submitted"
    assert [e.action for e in await rows(db_url, AuditEvent)] == ["consent.given", "producer.created",
                                                                  "application.submitted"]
    stored = await rows(db_url, StoredFile)
    assert {f.mime for f in stored} == {"image/jpeg", "application/pdf"}
    for file in stored:  # kept on disk, named by content hash
        assert list((tmp_path / "data" / "files").rglob(f"{file.sha256}*"))


async def test_second_product_skips_profile(chat: Chat) -> None:
    await reach_review(chat)
    await chat.tap("nav:submit")
    await chat.tap("menu:register")
    await chat.agree_if_asked()
    assert says(chat.last, "ask.product_name")  # straight to the product
    await answer_product(chat, name="Chè Shan tuyết")
    await answer_dossier(chat)
    await chat.tap("nav:submit")
    assert "Chè Shan tuyết" in chat.text and "OCOP-" in chat.text


async def test_bad_tax_codes_get_specific_messages(chat: Chat) -> None:
    await chat.say("/dangky")
    await chat.agree_if_asked()
    await chat.say("Doanh nghiệp")
    await chat.say("Công ty TNHH Hạt Ngọc")
    await chat.say("0300588568")  # last digit wrong
    assert says(chat.text, "error.tax_code_checksum")
    assert says(chat.last, "ask.tax_code")  # the same question again
    await chat.say("12345")
    assert says(chat.text, "error.tax_code_format")
    await chat.say("0100109106-001")  # a branch
    assert says(chat.last, "ask.representative")


async def test_tax_code_of_a_verified_producer_is_refused_without_revealing_it(make_runner: Callable,
                                                                              sqlite_url: str) -> None:
    runner = await make_runner(sqlite_url)
    async with runner.sessions() as session, session.begin():
        await add_producer(session, name="Hộ bà Nguyễn Thị Lan", tax_code=OTHER_MST, phone="+84912345678")
    second = Chat(runner, user="second")
    await second.say("/dangky")
    await second.agree_if_asked()
    await second.say("1")
    await second.say("HTX Khác")
    await second.say(OTHER_MST)
    assert says(second.text, "error.tax_code_taken")
    assert "Nguyễn Thị Lan" not in second.text and "0912" not in second.text


async def test_two_people_typing_one_tax_code_at_once_both_claims_wait_for_an_officer(
        make_runner: Callable, db_url: str) -> None:
    """A tax code typed in chat is a claim: the later of two is not refused (it may be the real owner), and
    neither is verified until an officer, a link code or the province's phone says so."""
    runner = await make_runner(db_url)
    first, second = Chat(runner, user="first"), Chat(runner, user="second")
    for chat in (first, second):  # both type the same tax code before either profile is saved
        await chat.say("/dangky")
        await chat.agree_if_asked()
        for answer in ("1", f"HTX {chat.user}", OTHER_MST, "Trần Văn Bình", "0912 345 678", "Lâm Đồng", "Lạc Dương"):
            await chat.say(answer)
    await first.say("Thôn 1")
    await second.say("Thôn 2")
    for chat in (first, second):
        assert says(chat.last, "ask.product_name")
    async with runner.sessions() as session:
        producers = (await session.exec(select(Producer).order_by(col(Producer.id)))).all()
    assert [(p.name, p.tax_code, p.verified_at) for p in producers] == [("HTX first", OTHER_MST, None),
                                                                         ("HTX second", OTHER_MST, None)]


async def test_phone_numbers(chat: Chat) -> None:
    await answer_until_phone(chat)
    await chat.say("12345")
    assert says(chat.text, "error.phone_format")
    await chat.say("+84 1234")
    assert says(chat.text, "error.phone_format")
    await chat.say("84 912.345.678")
    assert says(chat.last, "ask.province_code")
    await chat.tap("nav:back")
    assert "0912 345 678" in chat.last  # shows what is stored when going back, as people write it


async def test_contact_must_be_the_senders_own(make_runner: Callable, sqlite_url: str) -> None:
    chat = Chat(await make_runner(sqlite_url), user="777", channel="telegram")
    await answer_until_phone(chat)
    assert chat.replies[-1].request_contact  # a "share my phone" button on Telegram
    await chat.share_contact("0987654321", owner="555")
    assert says(chat.text, "error.contact_not_yours")
    await chat.share_contact("0987654321", owner=None)
    assert says(chat.text, "error.contact_not_yours")
    await chat.share_contact("84987654321", owner="777")
    assert says(chat.last, "ask.province_code")


async def test_empty_long_and_emoji_text(chat: Chat) -> None:
    await chat.say("/dangky")
    await chat.agree_if_asked()
    await chat.say("1")
    await chat.say("   ")
    assert says(chat.text, "error.empty")
    await chat.say("x" * 5000)
    assert "5.000 ký tự" in chat.text and "200" in chat.text
    await chat.say("🍯🍯🍯")
    assert says(chat.text, "error.no_emoji")
    await chat.say("\u0048\u0054\u0058 Ho\u0302\u0300ng Ha\u0300")  # decomposed Unicode from some keyboards
    await chat.tap("nav:back")
    assert "HTX Hồng Hà" in chat.last


async def test_choices_by_tap_number_words_and_without_diacritics(chat: Chat) -> None:
    await chat.say("/dangky")
    await chat.agree_if_asked()
    await chat.say("hop tac xa")
    assert says(chat.last, "ask.producer_name")
    await chat.tap("nav:back")
    await chat.say("4")
    await chat.tap("nav:back")
    assert "Hộ sản xuất kinh doanh" in chat.last
    await chat.say("something else")
    assert says(chat.text, "error.choice_unknown")


async def test_slash_commands_inside_a_form(chat: Chat) -> None:
    await chat.say("/dangky")
    await chat.agree_if_asked()
    await chat.say("1")
    await chat.say("/quaylai")
    assert says(chat.last, "ask.entity_type")
    await chat.say("1")
    await chat.say("/lenhla")
    assert says(chat.text, "error.unknown_command") and says(chat.last, "ask.producer_name")
    await chat.say("/help")
    assert "/dangky" in chat.text and says(chat.last, "ask.producer_name")


async def test_back_skip_cancel_help(chat: Chat) -> None:
    await chat.say("/dangky")
    await chat.agree_if_asked()
    assert "nav:back" not in chat.option_ids  # nothing before the first question
    await chat.say("quay lại")
    assert says(chat.text, "form.first_question")
    await chat.tap("nav:help")
    assert says(chat.text, "help.entity_type") and says(chat.last, "ask.entity_type")
    await chat.say("1")
    await chat.say("bo qua")  # typed skip on a required step
    assert says(chat.text, "form.cannot_skip")
    await chat.say("HTX Tân Thành")
    await chat.tap("nav:cancel")
    assert says(chat.text, "form.cancel_confirm")
    await chat.tap("nav:no")
    assert says(chat.last, "ask.tax_code")  # kept everything, same question
    await chat.say("/huy")
    await chat.say("/trogiup")  # help in the middle of the confirmation keeps the confirmation on screen
    assert says(chat.last, "form.cancel_confirm")
    await chat.say("có")
    assert says(chat.text, "form.cancelled")
    await chat.tap("menu:register")
    await chat.agree_if_asked()
    assert says(chat.last, "ask.entity_type")  # the draft is gone: starts over


async def test_an_answer_typed_at_the_cancel_question_goes_on_with_the_form(chat: Chat) -> None:
    """Seen over Zalo: "5" (the list's "Hủy") typed by mistake, then the answer to the form. Only a yes cancels; words
    are the form's answer, and a number that is neither choice is asked about plainly."""
    await chat.say("/dangky")
    await chat.agree_if_asked()
    await chat.tap("nav:cancel")
    assert says(chat.last, "form.cancel_confirm")
    await chat.say("7")
    assert says(chat.text, "nav.yes_or_no") and says(chat.last, "form.cancel_confirm")
    await chat.say("hop tac xa")
    assert says(chat.last, "ask.producer_name")  # taken as the answer to the open question, not lost
    await chat.say("HTX Dược liệu Đồng Văn")
    assert says(chat.last, "ask.tax_code")


async def test_files_wrong_type_and_too_big(chat: Chat) -> None:
    await answer_profile(chat)
    await chat.say("Mật ong")
    await chat.send_file(JPEG, "image/jpeg")
    assert says(chat.text, "error.file_not_expected")
    for answer in ("1", "1", "1", "Mật ong rừng nguyên chất", "1", "200 kg"):
        await chat.say(answer)
    await chat.tap("nav:done")
    assert says(chat.last, "ask.photos")
    await chat.send_file(PDF, "application/pdf")
    assert says(chat.text, "error.file_type_photo")
    await chat.send_file(EXE, "image/jpeg")  # claims to be a photo, is not
    assert says(chat.text, "error.file_type_photo")
    await chat.send_file(JPEG, "image/jpeg", size=50 * 1024 * 1024)
    assert says(chat.text, "error.file_too_big", max_mb=1)
    await chat.send_file(b"\xff\xd8\xff" + b"0" * (2 * 1024 * 1024), None)  # size unknown until downloaded
    assert says(chat.text, "error.file_too_big")
    await chat.send_file(PNG, "image/png")
    assert says(chat.last, "form.files_received", count=1)
    await chat.tap("nav:done")
    await chat.tap("nav:done")  # a required document with nothing sent
    assert says(chat.text, "error.files_none_yet")
    await chat.send_file(EXE, "application/x-msdownload", "virus.exe")
    assert says(chat.text, "error.file_type_document")
    await chat.say("hello")
    assert says(chat.text, "error.file_expected_document")


async def test_edit_from_summary(chat: Chat) -> None:
    await reach_review(chat)
    assert any(says(label, "field.product_name") for label in chat.option_labels)  # every answer is a row
    await chat.tap("edit:product_name")
    assert "Mật ong bạc hà" in chat.last
    await chat.say("Mật ong hoa bạc hà Đồng Văn")
    assert says(chat.text, "review.title")  # straight back to the review
    assert any("Mật ong hoa bạc hà Đồng Văn" in label for label in chat.option_labels)
    await chat.say("sửa 10")  # typed: item 10 is the product group
    assert says(chat.last, "ask.group")
    await chat.tap("craft")  # a new group: its nhóm and documents are asked again
    assert says(chat.last, "ask.subgroup")
    await chat.say("1")
    assert "Phiếu đăng ký sản phẩm OCOP" in chat.last
    for _ in range(5):  # the craft group's dossier: everything on paper or skipped
        await chat.tap("nav:paper" if "nav:paper" in chat.option_ids and "nav:skip" not in chat.option_ids
                       else "nav:skip")
    assert says(chat.text, "review.title")
    assert "Thủ công mỹ nghệ" in chat.shown and "an toàn thực phẩm" not in chat.shown
    await chat.tap("nav:submit")
    assert "OCOP-" in chat.text


async def test_resume_after_restart(make_runner: Callable, sqlite_url: str, clock) -> None:
    chat = Chat(await make_runner(sqlite_url))
    await answer_profile(chat)
    await chat.say("Rượu ngô men lá")
    assert says(chat.last, "ask.group")

    # A new process on the same database file, two days later.
    clock.advance(days=2)
    chat = Chat(await make_runner(sqlite_url))
    await chat.say("xin chào")
    assert says(chat.text, "resume.ask_named", product="Rượu ngô men lá")
    await chat.tap("resume:continue")
    assert says(chat.last, "ask.group")
    await chat.tap("drink")
    await chat.say("/start")
    await chat.tap("resume:restart")
    assert says(chat.last, "ask.product_name")  # starts the product again, profile kept


async def test_language_switch_mid_form(chat: Chat) -> None:
    await chat.say("/dangky")
    await chat.agree_if_asked()
    await chat.say("/language")
    await chat.tap("lang:en")
    assert "Switched to English" in chat.text
    assert "what kind of producer" in chat.last
    await chat.say("cooperative")
    assert "full name of your business" in chat.last
    await chat.say("/ngonngu")
    await chat.say("tieng viet")
    assert says(chat.last, "ask.producer_name")


async def test_unknown_text_and_commands_point_to_menu(chat: Chat) -> None:
    await chat.say("alo alo 🙂")  # a first message, a greeting: welcomed, not "not understood"
    assert says(chat.text, "welcome") and "menu:register" in chat.option_ids
    await chat.say("Xin chào bạn!")
    assert says(chat.text, "welcome")
    await chat.say("hiểu rồi, cảm ơn")  # not a greeting, not the first message
    assert says(chat.text, "error.not_understood") and "menu:register" in chat.option_ids
    await chat.say("/lenhla")
    assert "menu:register" in chat.option_ids
    await chat.say("/trogiup")
    assert "/dangky" in chat.text
    await chat.send_file(JPEG, "image/jpeg")
    assert says(chat.text, "error.file_outside_form")
    await chat.say("/huy")
    assert says(chat.text, "cancel.nothing")


async def test_stale_button_gets_a_polite_refusal(chat: Chat) -> None:
    await chat.say("/dangky")
    await chat.agree_if_asked()
    await chat.press_stale("ha-noi")  # a province button while the entity type is asked
    assert says(chat.text, "error.stale_button") and says(chat.last, "ask.entity_type")


async def test_certifications_by_typed_numbers(chat: Chat) -> None:
    await answer_profile(chat)
    for answer in ("Trà hoa vàng", "1", "5", "2", "Trà hoa vàng sấy lạnh", "2", "300 kg"):
        await chat.say(answer)
    await chat.say("1 3 8")
    assert "✅ Giấy chứng nhận ATTP" in chat.option_labels and "✅ Nhãn hiệu" in chat.option_labels
    await chat.say("xong")
    assert says(chat.last, "ask.photos")


async def test_a_failure_mid_update_loses_nothing(chat: Chat, sqlite_url: str, monkeypatch) -> None:
    from handlers.producer.registration import RegistrationForm

    await reach_review(chat)

    async def broken_submit(self, ctx, data):
        ctx.session.add(Producer(entity_type="x", name="half-written row", province_code="x"))
        raise RuntimeError("database went away")

    monkeypatch.setattr(RegistrationForm, "submit", broken_submit)
    await chat.tap("nav:submit")
    assert says(chat.text, "error.unexpected") and "Traceback" not in chat.text
    monkeypatch.undo()
    assert [p.name for p in await rows(sqlite_url, Producer)] == ["Hộ bà Nguyễn Thị Lan"]  # rolled back
    await chat.press_stale("nav:submit")  # the review is still there: submit again
    assert "OCOP-" in chat.text


async def test_an_answer_typed_after_a_long_pause_is_not_lost(make_runner: Callable, sqlite_url: str, clock) -> None:
    chat = Chat(await make_runner(sqlite_url))
    await answer_profile(chat)
    await chat.say("Rượu ngô men lá")
    clock.advance(days=3)
    await chat.say("do uong")  # the answer to the open question, typed days later
    assert says(chat.text, "resume.ask_named")
    await chat.tap("resume:continue")
    assert says(chat.last, "ask.subgroup")  # the group was answered with what they had typed
    assert "Đồ uống có cồn" in chat.option_labels


async def test_profile_changes_are_audited_and_a_producer_with_an_open_application_keeps_its_province(
        make_runner: Callable, db_url: str) -> None:
    runner = await make_runner(db_url)
    async with runner.sessions() as session, session.begin():
        session.add(ProvinceOffice(province_code="tuyen-quang", name="Văn phòng OCOP Tuyên Quang",
                                   phone="0207 3822 111", address="Phường Minh Xuân"))
    chat = Chat(runner, user="lan")
    await reach_review(chat)
    await chat.tap("nav:submit")
    await chat.tap("menu:register")
    await chat.agree_if_asked()
    await answer_product(chat, name="Chè Shan tuyết")
    await answer_dossier(chat)
    await chat.say("sửa 6")  # the province: item 6 of the review
    await chat.say("Lâm Đồng")
    assert says(chat.text, "error.province_locked", province="Tuyên Quang")
    assert "Văn phòng OCOP Tuyên Quang · ĐT 0207 3822 111" in chat.text  # whom to call, with the number
    assert says(chat.last, "ask.province_code")  # asked again; nothing changed
    await chat.say("tuyen quang")
    await chat.say("sửa 5")
    await chat.say("0987 654 321")
    assert "0987 654 321" in chat.shown
    async with runner.sessions() as session:
        producer = (await session.exec(select(Producer))).one()
        events = (await session.exec(select(AuditEvent).where(col(AuditEvent.action).startswith("producer."))
                                     .order_by(col(AuditEvent.id)))).all()
    assert producer.province_code == "tuyen-quang" and producer.phone == "+84987654321"
    assert [e.action for e in events] == ["producer.created", "producer.changed"]
    assert events[0].details["changes"]["tax_code"] == [None, "0300588569"]
    assert events[1].details["changes"] == {"phone": ["+84912345678", "+84987654321"]}
