"""A tax code typed in chat is a claim, not an identity: the takeover of a real cooperative, replayed end to end,
fails at every step, and the real owner can always link."""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from sqlmodel import col, select

from bot.cli.products import import_products
from bot.settings import Settings
from storage.models import AuditEvent, Certificate, ChatAccount, OutboxMessage, Producer
from storage.offices import save_office
from tests.support.catalog import says
from tests.support.fakes import VALID_MST, Chat
from tests.support.flows import answer_dossier, answer_product, answer_profile
from tests.support.lists import HEADER
from tests.support.scans import scan_on
from tests.support.seed import add_application, add_producer, invite

OWNER_PHONE = "0987 654 321"


async def province_imports_its_list(tmp_path: Path, url: str) -> list[str]:
    """The province's official list names the real cooperative (tax code VALID_MST) and its 4★ certificate."""
    path = tmp_path / "ocop-list.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([HEADER, [
            "HTX Nông sản Tân Thành", "Hợp tác xã", VALID_MST, OWNER_PHONE, "Tuyên Quang", "Xã Tân Thành", "",
            "Mật ong bạc hà Tân Thành", "Thực phẩm", "", "4", "82", "1032/QĐ-UBND", "21/07/2025", ""]])
    code, out, err = await import_products(Settings(OCOP_DATABASE_URL=url), path)
    assert code == 0 and not err
    return out


async def officer_of(runner, province: str = "tuyen-quang") -> Chat:
    officer = Chat(runner, user="officer", channel="telegram")
    await officer.say(f"/canbo {await invite(runner.sessions, province)}")
    return officer


async def test_a_strangers_claim_never_takes_over_the_listed_cooperative(make_runner: Callable, db_url: str,
                                                                         tmp_path: Path) -> None:
    runner = await make_runner(db_url)
    stranger = Chat(runner, user="stranger")
    await answer_profile(stranger, tax_code=VALID_MST)  # the real cooperative's tax code, typed first
    await answer_product(stranger, name="Mật ong giả")
    await answer_dossier(stranger)
    await stranger.tap("nav:submit")

    out = await province_imports_its_list(tmp_path, db_url)
    assert any(says(line, "cli.import_clash") and "Hộ bà Nguyễn Thị Lan" in line
               for line in out)
    assert any("/xacminh" in line for line in out)
    async with runner.sessions() as session:
        producers = (await session.exec(select(Producer).order_by(col(Producer.id)))).all()
        certificates = (await session.exec(select(Certificate))).all()
    claim, listed = producers
    assert (claim.tax_code, claim.verified_at) == (VALID_MST, None)  # the claim is left as it was
    assert (listed.tax_code, listed.verified_how) == (VALID_MST, "import")  # the list made its own, verified
    assert [c.product_id for c in certificates] and all(c.product_id != claim.id for c in certificates)

    # What the stranger sees: only what they typed. No certificate, no reminder, nothing to re-evaluate.
    await stranger.say("/trangthai")
    assert "Mật ong giả" in stranger.text and "Mật ong bạc hà Tân Thành" not in stranger.text
    assert not any(o.startswith("reeval:") for o in stranger.option_ids)
    await scan_on(runner.sessions, date(2028, 7, 1))  # 20 days before the certificate lapses
    async with runner.sessions() as session:
        reminded = (await session.exec(select(OutboxMessage).where(OutboxMessage.reason == "cert-expiry"))).all()
    assert reminded == []  # nobody is linked to the listed record yet: the stranger is not told of its expiry

    # The real owner is not refused as "taken by another account": an officer's link code attaches them.
    officer = await officer_of(runner)
    await officer.say(f"/malienket {VALID_MST}")
    code = re.search(r"Mã liên kết cho HTX Nông sản Tân Thành: (\w+)", officer.text)
    assert code, officer.text
    owner = Chat(runner, user="owner")
    await owner.say(f"/lienket {code.group(1)}")
    assert says(owner.text, "link.done", producer="HTX Nông sản Tân Thành")
    await owner.say("/trangthai")
    assert "Mật ong bạc hà Tân Thành" in owner.text and "Mật ong giả" not in owner.text
    await scan_on(runner.sessions, date(2028, 7, 1))
    async with runner.sessions() as session:
        reminded = (await session.exec(select(OutboxMessage).where(OutboxMessage.reason == "cert-expiry"))).all()
        owner_account = (await session.exec(select(ChatAccount).where(ChatAccount.chat_id == "owner"))).one()
    assert [row.account_id for row in reminded] == [owner_account.id]  # the owner's reminder, and only theirs

    # The officer sees the claim marked, beside the province's record, and refuses its tax code.
    await officer.say("/hoso")
    assert "Mật ong giả" in officer.text and says(officer.text, "verify.unverified")
    await officer.say("/xacminh")
    assert "Hộ bà Nguyễn Thị Lan" in officer.text and says(officer.text, "verify.clash_mark")
    await officer.tap(f"verify:open:{claim.id}")
    assert says(officer.text, "verify.heading_claim") and says(officer.text, "verify.heading_listed")
    assert "HTX Nông sản Tân Thành" in officer.text and "Hộ bà Nguyễn Thị Lan" in officer.text
    assert f"verify:act:{claim.id}:verify:0" not in officer.option_ids  # two verified owners of one tax code: no
    async with runner.sessions() as session, session.begin():
        await save_office(session, "tuyen-quang", {"name": "Văn phòng OCOP Tuyên Quang", "phone": "0207 3822 123",
                                                   "address": "Phường Minh Xuân"}, actor_account_id=None)
    await officer.tap(f"verify:act:{claim.id}:refuse:0")
    await officer.tap("nav:yes")
    assert says(officer.text, "verify.done_refused")
    await stranger.say("/trangthai")
    [refused] = [line for line in stranger.transcript if says(line, "notice.producer_claim_refused")]
    assert "☎️ Văn phòng OCOP: Văn phòng OCOP Tuyên Quang · ĐT 0207 3822 123" in refused  # whom to call
    async with runner.sessions() as session:
        assert (await session.get(Producer, claim.id)).tax_code is None
        actions = [e.action for e in (await session.exec(select(AuditEvent))).all()]
    assert {"producer.clash", "producer.linked", "producer.claim_refused"} <= set(actions)


async def test_a_claim_that_was_the_owner_is_merged_by_the_officer(make_runner: Callable, db_url: str,
                                                                   tmp_path: Path) -> None:
    """The real owner registered in chat before the province's list came: the officer merges, and the owner
    sees their certificate beside the application they had submitted."""
    runner = await make_runner(db_url)
    owner = Chat(runner, user="owner")
    await answer_profile(owner, tax_code=VALID_MST)
    await answer_product(owner, name="Trà shan tuyết")
    await answer_dossier(owner)
    await owner.tap("nav:submit")
    await province_imports_its_list(tmp_path, db_url)
    async with runner.sessions() as session:
        claim, listed = (await session.exec(select(Producer).order_by(col(Producer.id)))).all()

    officer = await officer_of(runner)
    await officer.tap("menu:applications")
    await officer.tap(next(o.id for r in officer.replies for o in r.options if o.label == "Trà shan tuyết"))
    assert says(officer.text, "verify.unverified")
    await officer.tap(f"verify:open:{claim.id}")
    await officer.tap(f"verify:act:{claim.id}:merge:{listed.id}")
    assert "HTX Nông sản Tân Thành" in officer.last
    await officer.tap("nav:yes")
    assert says(officer.text, "verify.done_merged", name="HTX Nông sản Tân Thành")

    await owner.say("/trangthai")
    assert "Mật ong bạc hà Tân Thành" in owner.text  # one product a page, the certificate first
    await owner.tap("status:page:1")
    assert "Trà shan tuyết" in owner.text
    assert any("liên kết với hồ sơ HTX Nông sản Tân Thành" in line for line in owner.transcript)
    async with runner.sessions() as session:
        assert [p.id for p in (await session.exec(select(Producer))).all()] == [listed.id]


async def test_the_owners_own_phone_links_on_telegram_and_a_typed_phone_does_not(make_runner: Callable,
                                                                                 sqlite_url: str) -> None:
    runner = await make_runner(sqlite_url)
    async with runner.sessions() as session, session.begin():
        listed = await add_producer(session, name="HTX Chè Suối Giàng", tax_code=VALID_MST, phone="+84987654321")
        await add_application(session, listed, name="Chè Shan tuyết", status="recognised")
        await add_producer(session, name="Kẻ mạo danh", phone="+84911111111", verified_at=None, verified_how=None)
    # A claim whose typed phone is somebody's: sharing that number proves nothing, only the province's record counts.
    impostor = Chat(runner, user="impostor", channel="telegram")
    await impostor.share_contact("+84911111111", owner="impostor")
    assert says(impostor.text, "link.no_match")
    owner = Chat(runner, user="owner", channel="telegram")
    await answer_profile(owner, tax_code="0100109106")  # first a claim of their own, under another tax code
    await owner.say("/huy")
    await owner.say("có")
    await owner.share_contact("0987654321", owner="owner")
    assert says(owner.text, "link.done", producer="HTX Chè Suối Giàng")
    await owner.say("/trangthai")
    assert "Chè Shan tuyết" in owner.text


async def test_an_officer_verifies_a_claim_with_no_clash_and_the_producer_is_told(make_runner: Callable,
                                                                                  sqlite_url: str) -> None:
    runner = await make_runner(sqlite_url)
    producer = Chat(runner, user="producer")
    await answer_profile(producer)
    officer = await officer_of(runner)
    await officer.say("/xacminh")
    assert says(officer.text, "verify.list_title", province="Tuyên Quang", total=1)
    await officer.say("1")
    assert "verify:act:1:verify:0" in officer.option_ids and not any(":merge:" in o for o in officer.option_ids)
    await officer.tap("verify:act:1:verify:0")
    await officer.say("có")
    assert says(officer.text, "verify.done_verified", name="Hộ bà Nguyễn Thị Lan")
    await officer.say("/xacminh")
    assert says(officer.text, "verify.list_empty")
    await producer.say("/trangthai")
    assert any(says(line, "notice.producer_verified") for line in producer.transcript)


@pytest.mark.parametrize("forged", ["verify:act:1:verify:0", "verify:open:1", "verify:act:1:merge:2"])
async def test_verification_buttons_check_the_officer_and_province_on_every_call(
        make_runner: Callable, sqlite_url: str, forged: str) -> None:
    runner = await make_runner(sqlite_url)
    await answer_profile(Chat(runner, user="producer"))  # a claim in Tuyên Quang
    other_province = await officer_of(runner, "lam-dong")
    await other_province.press_stale(forged)
    assert says(other_province.text, "officer.not_found")
    nobody = Chat(runner, user="nobody")
    await nobody.press_stale(forged)
    assert says(nobody.text, "officer.not_allowed")
    async with runner.sessions() as session:
        assert (await session.get(Producer, 1)).verified_at is None


async def test_upgrading_a_database_keeps_listed_producers_verified_and_chat_profiles_as_claims(db_url: str) -> None:
    from alembic import command
    from sqlalchemy import text

    from storage.db import create_engine
    from storage.migrate import alembic_config, upgrade_database

    engine = create_engine(db_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(lambda c: command.upgrade(alembic_config(c), "0010"))
            for producer_id, name in ((1, "HTX của tỉnh"), (2, "Khai trong chat")):
                await conn.execute(text("INSERT INTO producer (id, entity_type, name, tax_code, province_code, "
                                        "created_at, updated_at) VALUES (:id, 'cooperative', :name, :tax, "
                                        "'lam-dong', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"),
                                   {"id": producer_id, "name": name, "tax": f"010010910{producer_id}"})
            await conn.execute(text("INSERT INTO product (id, producer_id, name, group_code, certifications, "
                                    "name_folded, created_at) VALUES (1, 1, 'Cà phê', 'food', '[]', 'ca phe', "
                                    "CURRENT_TIMESTAMP)"))
            await conn.execute(text("INSERT INTO application (product_id, producer_id, kind, status, missing_items, "
                                    "created_at, updated_at) VALUES (1, 1, 'imported', 'recognised', '[]', "
                                    "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
        await upgrade_database(engine)  # as `ocop-bot run` does on start-up
        async with engine.begin() as conn:
            rows = (await conn.execute(text("SELECT id, verified_how, verified_at IS NOT NULL FROM producer "
                                            "ORDER BY id"))).all()
            assert [tuple(r) for r in rows] == [(1, "import", True), (2, None, False)]
            # A claim may repeat a verified tax code; a second verified one may not.
            await conn.execute(text("UPDATE producer SET tax_code = '0100109101' WHERE id = 2"))
            with pytest.raises(Exception, match="(?i)unique"):
                async with conn.begin_nested():
                    await conn.execute(text("UPDATE producer SET verified_at = CURRENT_TIMESTAMP WHERE id = 2"))
    finally:
        await engine.dispose()


async def test_a_claim_with_the_listed_name_typed_without_diacritics_is_shown_beside_it(make_runner: Callable,
                                                                                       db_url: str) -> None:
    runner = await make_runner(db_url)
    async with runner.sessions() as session, session.begin():
        listed = await add_producer(session, name="HTX Cà phê Cầu Đất", tax_code=VALID_MST, province_code="lam-dong")
        claim = await add_producer(session, name="htx ca phe cau dat", tax_code="0100109106",
                                   province_code="lam-dong", verified_at=None, verified_how=None)
        listed_id, claim_id = listed.id, claim.id
    officer = await officer_of(runner, "lam-dong")
    await officer.say("/xacminh")
    assert "htx ca phe cau dat" in officer.text and says(officer.text, "verify.clash_mark")
    await officer.tap(f"verify:open:{claim_id}")
    assert "HTX Cà phê Cầu Đất" in officer.text
    assert f"verify:act:{claim_id}:merge:{listed_id}" in officer.option_ids
    assert f"verify:act:{claim_id}:verify:0" in officer.option_ids  # another tax code: it may be another business
