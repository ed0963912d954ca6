"""Officer accounts and the evaluation workflow, driven through chats as officers and producers use them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlmodel import select

from handlers.buttons import ApplicationList
from messages import format_date
from storage.models import Application, Certificate, ChatAccount, Officer, OutboxMessage
from storage.officers import revoke_officer
from tests.support.catalog import says
from tests.support.checks import found
from tests.support.fakes import PDF, Chat
from tests.support.flows import reach_review
from tests.support.seed import add_application, add_producer, invite


async def test_invite_code_is_single_use_expires_and_is_stored_hashed(make_runner: Callable, sqlite_url: str,
                                                                      clock) -> None:
    runner = await make_runner(sqlite_url)
    code = await invite(runner.sessions)
    officer = Chat(runner, user="officer-1")
    await officer.say("/canbo SAIMA1234")
    assert says(officer.text, "officer.bad_code")
    await officer.say(f"/canbo {code[:5].lower()} {code[5:].lower()}")  # read over the phone, typed loosely
    assert "cán bộ OCOP tỉnh Lâm Đồng" in officer.text
    assert "menu:applications" in officer.option_ids
    other = Chat(runner, user="someone-else")
    await other.say(f"/canbo {code}")
    assert says(other.text, "officer.bad_code")
    async with runner.sessions() as session:
        stored = (await session.exec(select(Officer))).one()
        assert code not in str(stored.model_dump().values())

    link = await invite(runner.sessions, name="Trần Thị Bình")
    deep = Chat(runner, user="officer-2")
    await deep.say(f"/start {link}")  # the t.me/<bot>?start=<code> link
    assert "Trần Thị Bình" in deep.text

    late = await invite(runner.sessions, days=7)
    clock.advance(days=8)
    late_officer = Chat(runner, user="late")
    await late_officer.say(f"/canbo {late}")
    assert says(late_officer.text, "officer.bad_code")



async def test_revocation_takes_effect_on_the_next_message(make_runner: Callable, sqlite_url: str) -> None:
    runner = await make_runner(sqlite_url)
    officer = Chat(runner, user="officer-1")
    await officer.say(f"/canbo {await invite(runner.sessions)}")
    await officer.tap("menu:applications")
    assert "Hồ sơ OCOP — Lâm Đồng" in officer.text
    async with runner.sessions() as session, session.begin():
        await revoke_officer(session, 1)
    await officer.press_stale("hoso:list:all:0")  # a button from before the revocation (and the prefix's rename)
    assert says(officer.text, "officer.not_allowed")
    assert "menu:applications" not in officer.option_ids


async def test_officer_sees_and_acts_only_in_own_province(make_runner: Callable, sqlite_url: str) -> None:
    runner = await make_runner(sqlite_url)
    async with runner.sessions() as session, session.begin():
        _, own = await add_application(session, await add_producer(session), name="Cà phê Cầu Đất")
        hanoi = await add_producer(session, name="HTX Bát Tràng", province_code="ha-noi", phone="+84912000888")
        _, foreign = await add_application(session, hanoi, name="Gốm Bát Tràng", group="craft")
    officer = Chat(runner, user="officer-1")
    await officer.say(f"/canbo {await invite(runner.sessions)}")
    await officer.say("/hoso")
    assert "Cà phê Cầu Đất" in officer.text and "Gốm Bát Tràng" not in officer.text
    await officer.press_stale(f"app:open:{foreign.id}")  # a forged button id
    assert says(officer.text, "officer.not_found") and "Bát Tràng" not in officer.text
    await officer.press_stale(f"app:act:{foreign.id}:reject")
    assert says(officer.text, "officer.not_found")
    await officer.press_stale(f"app:open:{own.id}")
    assert "Cà phê Cầu Đất" in officer.text

    admin = Chat(runner, user="admin-1")
    await admin.say(f"/canbo {await invite(runner.sessions, admin=True, name='Quản trị')}")
    await admin.say("/hoso")
    assert "Cà phê Cầu Đất" in admin.text and "Gốm Bát Tràng" in admin.text


async def test_a_number_typed_after_the_list_opens_that_application(make_runner: Callable, sqlite_url: str) -> None:
    """The list is read after the step is committed (so counting a province holds up no one's writes); what it
    showed still joins the step, so a typed "2" means its second item, after a restart too."""
    runner = await make_runner(sqlite_url)
    async with runner.sessions() as session, session.begin():
        producer = await add_producer(session)
        await add_application(session, producer, name="Cà phê Cầu Đất")
        await add_application(session, producer, name="Mứt hồng Đà Lạt")
    officer = Chat(runner, user="officer-1", channel="zalo")
    await officer.say(f"/canbo {await invite(runner.sessions)}")
    await officer.say("/hoso")
    assert officer.text.index("Mứt hồng Đà Lạt") < officer.text.index("Cà phê Cầu Đất")  # newest first
    restarted = Chat(await make_runner(sqlite_url), user="officer-1", channel="zalo")
    await restarted.say("2")
    assert "Cà phê Cầu Đất" in restarted.replies[0].text and "Mứt hồng" not in restarted.replies[0].text
    await restarted.say("/thongke")  # statistics end at the menu: "1" is now the menu's first item, not a list's
    await restarted.say("1")
    assert not says(restarted.text, "error.choice_unknown")


async def test_officer_filters_the_list_by_group_nhom_or_phan_nhom(make_runner: Callable, sqlite_url: str) -> None:
    runner = await make_runner(sqlite_url)
    async with runner.sessions() as session, session.begin():
        producer = await add_producer(session)
        await add_application(session, producer, name="Mứt hồng Đà Lạt")  # food › processed
        tea, _ = await add_application(session, producer, name="Trà Ô long", group="food")
        tea.subgroup_code, tea.category_code = "food-tea", "food-tea-leaf"
        await add_application(session, producer, name="Giỏ mây tre", group="craft", status="needs_more")
    officer = Chat(runner, user="officer-1")
    await officer.say(f"/canbo {await invite(runner.sessions)}")
    await officer.say("/hoso thuc pham")  # a group, typed without diacritics
    assert "Tất cả · Thực phẩm: 2" in officer.text
    assert "Mứt hồng" in officer.text and "Trà Ô long" in officer.text and "Giỏ mây" not in officer.text
    await officer.say("/hoso chè")  # a nhóm
    assert "Trà Ô long" in officer.text and "Mứt hồng" not in officer.text
    await officer.tap(ApplicationList("needs_more", 0, "food-tea").id)  # a stage button keeps the group filter
    assert "Cần bổ sung · Chè: 0" in officer.text and says(officer.text, "officer.list_empty")
    await officer.tap(ApplicationList("needs_more", 0).id)  # …and this one drops it
    assert "Giỏ mây tre" in officer.text
    await officer.say("/hoso rau muống xào")
    assert says(officer.text, "officer.filter_unknown", words="rau muống xào")
    assert "Mứt hồng" in officer.text and "Giỏ mây" in officer.text


async def test_producers_cannot_use_officer_buttons_or_commands(make_runner: Callable, sqlite_url: str) -> None:
    runner = await make_runner(sqlite_url)
    async with runner.sessions() as session, session.begin():
        _, application = await add_application(session, await add_producer(session))
    producer = Chat(runner, user="producer-1")
    for forged in (f"app:act:{application.id}:reject", f"app:open:{application.id}", "hoso:list:all:0"):
        await producer.press_stale(forged)
        assert says(producer.text, "officer.not_allowed")
    await producer.say("/hoso")
    assert says(producer.text, "officer.not_allowed")
    await producer.press_stale("app:act:not-a-number:reject")
    assert says(producer.text, "error.stale_button")
    async with runner.sessions() as session:
        assert (await session.get(Application, application.id)).status == "submitted"


async def test_full_evaluation_workflow(make_runner: Callable, db_url: str) -> None:
    runner = await make_runner(db_url)
    producer = Chat(runner, user="producer-1")
    await reach_review(producer)
    await producer.tap("nav:submit")
    code = found(r"OCOP-\d{4}-\d{6}", producer.text)

    officer = Chat(runner, user="officer-1")
    await officer.say(f"/canbo {await invite(runner.sessions, 'tuyen-quang')}")
    await officer.say("/hoso da nop")  # filtered by a stage typed without diacritics
    assert code in officer.text and "Đã nộp: 1" in officer.text
    opened = next(o for o in officer.option_ids if o.startswith("app:open:"))
    await officer.tap(opened)
    assert "Hộ bà Nguyễn Thị Lan" in officer.text and "0912 345 678" in officer.text  # as people write it
    assert sum(len(r.attachments) for r in officer.replies) == 4  # photo, 2 PDFs, licence photo
    app_id = int(opened.rsplit(":", 1)[1])
    assert f"app:act:{app_id}:record_result" not in officer.option_ids  # not before the council

    await officer.tap(f"app:act:{app_id}:request_more")
    await officer.tap("business-plan")
    await officer.tap("evidence")  # optional in a first dossier; asked for, it is required
    await officer.tap("nav:done")
    await officer.say("Xin gửi phương án kinh doanh bản có chữ ký.")
    assert "Phương án / dự án sản xuất kinh doanh" in officer.text
    await officer.tap("nav:submit")
    assert says(officer.text, "stage.needs_more")
    assert ApplicationList("needs_more", 0).id in officer.option_ids  # back on the dossier, not the main menu

    await producer.tap("menu:register")  # busy with another product when the officer's request arrives
    await producer.agree_if_asked()
    await producer.say("/trangthai")  # the notice arrives with the next reply on the web chat
    assert any(says(line, "notice.needs_more") and "Phương án / dự án sản xuất kinh doanh" in line
               for line in producer.transcript)
    assert says(producer.text, "status.missing", items="Phương án / dự án sản xuất kinh doanh")
    await producer.tap(f"supp:{app_id}")
    assert says(producer.text, "error.command_in_form") and "Tên sản phẩm" in producer.last
    await producer.say("/huy")
    await producer.say("có")
    await producer.press_stale(f"supp:{app_id}")
    assert "Phương án / dự án sản xuất kinh doanh" in producer.last
    await producer.send_file(PDF, "application/pdf", "phuong-an.pdf")
    await producer.tap("nav:done")
    assert "Hồ sơ minh chứng khác" in producer.last and "nav:skip" not in producer.option_ids
    assert not says(producer.last, "form.optional")  # asked for by the officer: not said to be optional either
    await producer.say("bỏ qua")
    assert says(producer.text, "form.cannot_skip")
    await producer.send_file(PDF, "application/pdf", "cau-chuyen.pdf")
    await producer.send_file(PDF, "application/pdf", "nhan.pdf")
    await producer.tap("nav:done")
    await producer.tap("nav:submit")
    assert says(producer.text, "supplement.sent")

    await officer.say("/hoso")
    assert says(officer.text, "notice.officer_supplemented")
    await officer.press_stale(f"app:open:{app_id}")
    today = format_date(datetime.now(UTC), "Asia/Ho_Chi_Minh")
    dossier = officer.text
    # One line per document, the newest sending first, what came before under it; two files are one sending.
    assert f"• Phương án / dự án sản xuất kinh doanh: đã gửi 1 tệp ({today})\n   trước đó: nộp trực tiếp ({today})" \
        in dossier
    assert f"• Hồ sơ minh chứng khác (câu chuyện sản phẩm, nhãn, bao bì…): đã gửi 2 tệp ({today})\n" \
           f"   trước đó: bỏ qua ({today})" in dossier
    assert dossier.count("• Phương án") == 1
    await officer.press_stale(f"app:act:{app_id}:commune_check")
    await officer.tap("nav:yes")
    await officer.press_stale(f"app:act:{app_id}:commune_check")  # not twice
    assert says(officer.text, "officer.not_now")
    await officer.press_stale(f"app:act:{app_id}:to_council")
    await officer.say("có")
    await officer.press_stale(f"app:act:{app_id}:record_result")
    await officer.say("1")  # every mandatory criterion met
    await officer.say("101")
    assert says(officer.text, "error.score_format")
    await officer.say("78 điểm")  # as the council's minutes write it
    await officer.say("1032/QĐ-UBND")
    await officer.say("31/12/2099")
    assert says(officer.text, "error.date_future")
    await officer.say("mai")  # tomorrow: still the future
    assert says(officer.text, "error.date_future")
    await officer.say("21/7/2026")
    assert "78" in officer.shown and "21/07/2026" in officer.shown  # the review shows the date as people write it
    for preview in ("công nhận ★★★★☆ (78 điểm)", "hiệu lực đến 21/07/2029", "Báo cho: Hộ bà Nguyễn Thị Lan"):
        assert preview in officer.text, preview  # what confirming will do, before it is done
    await officer.tap("nav:submit")
    assert says(officer.text, "stage.recognised")

    await producer.say("/trangthai")
    status = producer.text
    for shown in ("Chúc mừng", "Đã công nhận", "★★★★☆", "1032/QĐ-UBND ngày 21/07/2026", "Hiệu lực đến: 21/07/2029",
                  "Nguyễn Văn An"):
        assert shown in status, shown

    stranger = Chat(runner, user="stranger")
    await stranger.say("/tracuu mat ong bac ha")
    assert "Mật ong bạc hà" in stranger.text and "★★★★☆" in stranger.text and "Tuyên Quang" in stranger.text
    for private in ("+84912345678", "0300588569", "phuong-an", "Ghi chú"):
        assert private not in stranger.text

    async with runner.sessions() as session:
        notices = (await session.exec(select(OutboxMessage))).all()
        # 4 to the producer, 1 to the officer, shown on their open pages
        assert {n.status for n in notices} == {"shown"} and len(notices) == 5


async def test_an_application_left_awaiting_central_without_a_certificate_gets_one_when_it_stays_four_stars(
        make_runner: Callable, sqlite_url: str) -> None:
    """Rows from before 4★ "tiềm năng 5★" had a certificate: keeping 4★ asks the province's decision."""
    runner = await make_runner(sqlite_url)
    async with runner.sessions() as session, session.begin():
        producer = await add_producer(session, name="HTX Chè Shan tuyết")
        _, application = await add_application(session, producer, name="Chè Shan tuyết cổ thụ",
                                               status="awaiting_central")
        application.score = 92
        session.add(ChatAccount(channel="web", chat_id="producer-1", producer_id=producer.id))
    app_id = application.id
    officer = Chat(runner, user="officer-1")
    await officer.say(f"/canbo {await invite(runner.sessions)}")
    await officer.say("/hoso")
    await officer.tap(f"app:open:{app_id}")
    await officer.tap(f"app:act:{app_id}:record_result")  # the council's 92 stands: the central outcome is asked
    await officer.say("giữ 4 sao")
    await officer.say("88/QĐ-UBND")
    await officer.say("20/11/2026")
    assert "giữ ★★★★☆" in officer.text and "hiệu lực đến 20/11/2029" in officer.text
    await officer.tap("nav:submit")
    async with runner.sessions() as session:
        stored = await session.get(Application, app_id)
        assert stored is not None and stored.status == "recognised" and stored.score == 92
        certificate = (await session.exec(select(Certificate))).one()
        assert certificate.stars == 4 and not certificate.potential_five
    producer_chat = Chat(runner, user="producer-1")
    await producer_chat.say("/trangthai")
    assert "★★★★☆" in producer_chat.text and "20/11/2029" in producer_chat.text
