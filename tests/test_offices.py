"""People to call: each province's OCOP office, loaded by an operator, edited by an admin, shown with help, status
and `/vanphong`."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

from sqlmodel import select

from bot.cli.office_import import import_offices
from bot.settings import Settings
from storage.models import AuditEvent, ProvinceOffice
from tests.support.catalog import says
from tests.support.chats import linked_chat
from tests.support.fakes import Chat
from tests.support.seed import add_application, add_producer, invite

TEMPLATE = Path(__file__).resolve().parent.parent / "docs" / "templates" / "ocop-offices-template.csv"


async def test_offices_load_from_the_shipped_template_and_show_where_people_look(make_runner: Callable,
                                                                                sqlite_url: str,
                                                                                tmp_path: Path) -> None:
    runner = await make_runner(sqlite_url)
    settings = Settings(OCOP_DATABASE_URL=sqlite_url)
    code, out, err = await import_offices(settings, TEMPLATE)
    assert code == 0 and not err and says(out[0], "cli.import_summary", created=2, updated=0, unchanged=0, rejected=0)
    _, out, _ = await import_offices(settings, TEMPLATE)
    assert says(out[0], "cli.import_summary", created=0, updated=0, unchanged=2)
    bad = tmp_path / "bad.csv"
    with bad.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([["Tỉnh/thành phố", "Tên văn phòng", "Điện thoại", "Địa chỉ"],
                                  ["Atlantis", "Văn phòng", "0263 3822 123", "Đâu đó"],
                                  ["Sơn La", "Văn phòng", "12345", "Tổ 5"]])
    _, out, err = await import_offices(settings, bad)
    assert "2 dòng bị loại" in out[0] and len(err) == 2

    async with runner.sessions() as session, session.begin():
        producer = await add_producer(session)  # Lâm Đồng
        await add_application(session, producer, name="Cà phê Cầu Đất", status="submitted")
        producer_id = producer.id
    chat = await linked_chat(runner, producer_id)
    office = "Văn phòng Điều phối nông thôn mới tỉnh Lâm Đồng · ĐT 0263 3822 123"
    await chat.say("/trogiup")
    assert "/taphuan" in chat.text and office in chat.text
    await chat.say("/trangthai")
    assert "Cà phê Cầu Đất" in chat.text and office in chat.text
    await chat.say("/vanphong")
    assert office in chat.text and "office:edit:lam-dong" not in chat.option_ids
    await chat.say("/vanphong son la")
    assert "tỉnh Sơn La · ĐT 0212 3852 456" in chat.text
    await chat.say("/vanphong Hà Nội")
    assert "Chưa có thông tin văn phòng OCOP của Hà Nội" in chat.text


async def test_an_admin_edits_an_office_and_an_officer_may_not(make_runner: Callable, sqlite_url: str) -> None:
    runner = await make_runner(sqlite_url)
    officer = Chat(runner, user="officer", channel="telegram")
    await officer.say(f"/canbo {await invite(runner.sessions)}")
    await officer.say("/vanphong")
    assert "Chưa có thông tin văn phòng OCOP của Lâm Đồng" in officer.text
    assert "office:edit:lam-dong" not in officer.option_ids
    await officer.press_stale("office:edit:lam-dong")
    assert says(officer.text, "officer.not_allowed")

    admin = Chat(runner, user="admin", channel="telegram")
    await admin.say(f"/canbo {await invite(runner.sessions, admin=True, name='Quản trị')}")
    await admin.say("/vanphong lam dong")
    await admin.tap("office:edit:lam-dong")
    await admin.say("Văn phòng OCOP tỉnh Lâm Đồng")
    await admin.say("12345")
    assert says(admin.text, "error.phone_format")
    await admin.say("0263 3822 123")
    await admin.say("36 Trần Phú, Đà Lạt")
    await admin.tap("nav:submit")
    assert says(admin.text, "office.saved", province="Lâm Đồng")
    await officer.say("/vanphong")
    assert "Văn phòng OCOP tỉnh Lâm Đồng · ĐT 0263 3822 123 · 36 Trần Phú, Đà Lạt" in officer.text

    await admin.say("/vanphong lam dong")  # editing again starts at the review, with what is stored
    await admin.tap("office:edit:lam-dong")
    assert "0263 3822 123" in admin.shown and "nav:submit" in admin.option_ids
    async with runner.sessions() as session:
        [office] = (await session.exec(select(ProvinceOffice))).all()
        events = (await session.exec(select(AuditEvent).where(AuditEvent.action == "office.created"))).all()
    assert office.phone == "0263 3822 123" and len(events) == 1


async def test_every_contact_the_officer_message_names_the_office(make_runner: Callable, sqlite_url: str) -> None:
    """A wrong link code, a phone on no record, a tax code already verified elsewhere: each says whom to call, or, when
    the person's province is not known yet, how to find the office."""
    runner = await make_runner(sqlite_url)
    code, _, _ = await import_offices(Settings(OCOP_DATABASE_URL=sqlite_url), TEMPLATE)
    assert code == 0
    async with runner.sessions() as session, session.begin():
        await add_producer(session, tax_code="0300588569")  # verified, from the province's list
    office = "Văn phòng Điều phối nông thôn mới tỉnh Lâm Đồng · ĐT 0263 3822 123"

    newcomer = Chat(runner, user="newcomer")
    await newcomer.say("/lienket K7QH2M4X")
    assert says(newcomer.text, "link.bad_code") and says(newcomer.text, "office.find_hint")
    await newcomer.say("/dangky")
    await newcomer.agree_if_asked()
    await newcomer.say("1")
    await newcomer.say("HTX Rau sạch Đơn Dương")
    await newcomer.say("0300588569")
    assert says(newcomer.text, "error.tax_code_taken") and "/vanphong" in newcomer.text
    await newcomer.say("/huy")

    browser = Chat(runner, user="browser")  # not linked, but has said which province's trainings it follows
    await browser.say("/taphuan")
    await browser.say("lâm đồng")
    await browser.say("/lienket K7QH2M4X")
    assert says(browser.text, "link.bad_code") and office in browser.text
