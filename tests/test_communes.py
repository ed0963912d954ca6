"""The country's real map: 34 provinces and their communes and wards since 1 July 2025, from `vietnam-provinces`,
chosen by typing part of a name, stored by official code, used by imports, broadcasts and statistics."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text
from sqlmodel import select
from vietnam_provinces import Province as OfficialProvince
from vietnam_provinces import Ward

from bot.cli.products import import_products
from bot.settings import Settings
from handlers.forms.matching import find_province
from storage.communes import communes_of, match_commune, search_communes
from storage.db import create_engine
from storage.migrate import alembic_config, upgrade_database
from storage.models import ChatAccount, Producer
from storage.reference import load_reference
from storage.statistics import province_statistics
from storage.text import fold
from tests.support.catalog import says
from tests.support.checks import present
from tests.support.fakes import VALID_MST, Chat
from tests.support.lists import HEADER
from tests.support.seed import add_application, add_producer, invite

BAO_LOC_1 = present(match_commune("lam-dong", "Phường 1 Bảo Lộc")).code


def test_rule_provinces_and_communes_are_the_official_units_since_1_july_2025() -> None:
    """Resolution 202/2025/QH15: 34 provinces; 3,321 communes, wards and special zones, each under its code."""
    ours = {p.gso: p for p in load_reference().provinces}
    official = {int(p.code): p for p in OfficialProvince.iter_all()}
    assert len(ours) == len(official) == 34 and set(ours) == set(official)
    for code, province in official.items():
        assert fold(ours[code].vi.removeprefix("TP. ")) == fold(province.name.removeprefix("Thành phố "))
    assert sum(len(communes_of(p.code)) for p in ours.values()) == len(list(Ward.iter_all())) == 3321


@pytest.mark.parametrize(("typed", "province"), [
    ("TPHCM", "ho-chi-minh"), ("HCM", "ho-chi-minh"), ("tp.hcm", "ho-chi-minh"), ("BR-VT", "ho-chi-minh"),
    ("TT Huế", "hue"), ("Kontum", "quang-ngai"), ("Đắc Nông", "lam-dong"), ("Bắc Cạn", "thai-nguyen"),
    ("tỉnh Lâm Đồng", "lam-dong"), ("Đắc Lắc", "dak-lak"), ("ha giang", "tuyen-quang"),
])
def test_rule_common_province_spellings_are_understood(typed: str, province: str) -> None:
    assert find_province(typed) == province


def test_a_commune_is_found_by_part_of_its_name_with_or_without_diacritics_or_its_kind() -> None:
    names = lambda typed: [c.name for c in search_communes("lam-dong", typed)]  # noqa: E731
    assert names("tan thanh") == names("Xã Tân Thành") == names("TÂN THÀNH") == ["Xã Tân Thành"]
    assert names("xuan huong") == ["Phường Xuân Hương - Đà Lạt"]
    assert names("phường 1") == names("p1") == ["Phường 1 Bảo Lộc"]  # not "Xã Đam Rông 1"
    assert len(names("dam rong")) == 4 and names("rau muống") == []


async def test_rule_a_commune_is_chosen_from_the_official_list_and_stored_by_code(make_runner: Callable,
                                                                                 sqlite_url: str) -> None:
    """Typed as on Zalo: words, a list, a number; mistakes are answered with what to type instead."""
    runner = await make_runner(sqlite_url)
    chat = Chat(runner, user="zalo-user", channel="zalo")
    await chat.say("/dangky")
    await chat.agree_if_asked()
    for answer in ("1", "HTX Rau Đơn Dương", VALID_MST, "Trần Văn Bình", "0912 345 678", "Đắc Nông"):
        await chat.say(answer)
    assert "Đắk Nông" in chat.text and "Lâm Đồng" in chat.text  # the former province, however it was spelt
    assert "Xã/phường" in chat.last or "xã/phường" in chat.last
    await chat.say("rau muống")
    assert says(chat.text, "error.search_none", typed="rau muống")
    await chat.say("xa")
    assert says(chat.text, "error.search_many")
    await chat.say("dam rong")
    dam_rong_2 = present(match_commune("lam-dong", "Đam Rông 2"))
    assert says(chat.text, "form.search_pick", count=4) and str(dam_rong_2.code) in chat.option_ids
    await chat.say("2")  # the second of the list just shown
    assert "✔️ Xã Đam Rông 2" in chat.text  # said back: the words typed were short of the name
    assert says(chat.last, "help.address") or "địa chỉ" in chat.last.lower()
    await chat.say("Thôn 1")
    async with runner.sessions() as session:
        producer = (await session.exec(select(Producer))).one()
    assert (producer.commune, producer.commune_code) == ("Xã Đam Rông 2", dam_rong_2.code)

    # Changing the province forgets the commune: it belongs to the old one.
    await chat.say("/huy")
    web = Chat(runner, user="web-user")
    await web.say("/dangky")
    await web.agree_if_asked()
    for answer in ("1", "HTX Chè Tân Thành", "0100109106", "Trần Văn Bình", "0912 345 678", "lam dong", "da lat"):
        await web.say(answer)
    assert says(web.text, "form.search_pick")
    picked = next(o for o in web.option_ids if o.isdecimal())  # tapped, as on the phone browser
    await web.tap(picked)
    assert says(web.last, "help.address") or "địa chỉ" in web.last.lower()


async def test_import_maps_communes_to_codes_and_lists_those_it_cannot(make_runner: Callable, sqlite_url: str,
                                                                       tmp_path: Path) -> None:
    await make_runner(sqlite_url)
    path = tmp_path / "list.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([HEADER,
                                  ["HTX A", "Hợp tác xã", "", "", "Lâm Đồng", "xa tan thanh", "", "Cà phê A",
                                   "Thực phẩm", "", "4", "", "1/QĐ-UBND", "01/02/2025", ""],
                                  ["HTX B", "Hợp tác xã", "", "", "Đắc Nông", "Xã Đạ Sar", "Lạc Dương", "Cà phê B",
                                   "Thực phẩm", "", "3", "", "2/QĐ-UBND", "01/02/2025", ""]])
    code, out, err = await import_products(Settings(OCOP_DATABASE_URL=sqlite_url), path)
    assert code == 0 and not err, (out, err)
    assert any("1 dòng ghi xã/phường không có trong danh sách chính thức" in line for line in out)
    assert any(says(line, "cli.import_unmatched_commune", row=3, commune="Xã Đạ Sar", province="Lâm Đồng")
               for line in out)
    engine = create_engine(sqlite_url)
    async with engine.connect() as conn:
        rows = (await conn.execute(text("SELECT name, commune, commune_code FROM producer ORDER BY name"))).all()
    await engine.dispose()
    tan_thanh = present(match_commune("lam-dong", "Tân Thành"))
    assert rows == [("HTX A", "Xã Tân Thành", tan_thanh.code), ("HTX B", "Xã Đạ Sar", None)]


async def test_typed_communes_already_stored_are_migrated_to_codes_where_they_match(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
    try:
        async with engine.begin() as conn:
            await conn.run_sync(lambda sync: command.upgrade(alembic_config(sync), "0018"))
            for number, (province, commune) in enumerate([("lam-dong", "xã Tà Năng"), ("lam-dong", "Xã Đạ Sar"),
                                                          ("tuyen-quang", "Tân Thành"), ("lam-dong", None)]):
                await conn.execute(text(
                    "INSERT INTO producer (entity_type, name, name_folded, province_code, commune, created_at, "
                    "updated_at) VALUES ('cooperative', :name, '', :province, :commune, '2025-01-01', '2025-01-01')"),
                    {"name": f"HTX {number}", "province": province, "commune": commune})
            drafts = [("register", {"province_code": "lam-dong", "commune": "Tà Năng", "step": 1}),
                      ("reevaluate", {"province_code": "lam-dong", "commune": "Xã Đạ Sar"}),
                      ("broadcast", {"bc_text": "Tin", "bc_communes": ["Đạ Sar"]})]
            for number, (flow, data) in enumerate(drafts):
                await conn.execute(text(
                    "INSERT INTO chat_account (id, channel, chat_id, role, language, created_at, last_seen_at) "
                    "VALUES (:id, 'zalo', :chat, 'producer', 'vi', '2025-01-01', '2025-01-01')"),
                    {"id": number + 1, "chat": f"z{number}"})
                await conn.execute(text(
                    "INSERT INTO conversation_state (account_id, flow, step, data, version, updated_at) "
                    "VALUES (:id, :flow, '_review', :data, 0, '2025-01-01')"),
                    {"id": number + 1, "flow": flow, "data": json.dumps(data)})
        await upgrade_database(engine)
        async with engine.connect() as conn:
            rows = (await conn.execute(text("SELECT commune, commune_code FROM producer ORDER BY id"))).all()
            states = [json.loads(data) for data, in
                      (await conn.execute(text("SELECT data FROM conversation_state ORDER BY account_id"))).all()]
    finally:
        await engine.dispose()
    ta_nang = present(match_commune("lam-dong", "Tà Năng"))
    tan_thanh = present(match_commune("tuyen-quang", "Tân Thanh"))
    assert rows == [("Xã Tà Năng", ta_nang.code),
                    ("Xã Đạ Sar", None),  # merged away in 2025: kept as typed, asked at re-evaluation
                    ("Xã Tân Thanh", tan_thanh.code), (None, None)]
    # Drafts too: a typed commune that matches becomes its code; the others are asked again.
    assert states == [{"province_code": "lam-dong", "commune": str(ta_nang.code), "step": 1},
                      {"province_code": "lam-dong"}, {"bc_text": "Tin"}]


async def test_statistics_count_communes_by_code(make_runner: Callable, sqlite_url: str) -> None:
    sessions = (await make_runner(sqlite_url)).sessions
    async with sessions() as session, session.begin():
        for name, commune in (("A", "Xã Lạc Dương"), ("B", "lac duong"), ("C", "Xã Đạ Sar")):
            producer = await add_producer(session, name=f"HTX {name}", commune=commune, phone=None)
            await add_application(session, producer, name=f"SP {name}", status="recognised", decided=date(2025, 6, 1))
        other = await add_producer(session, name="HTX D", province_code="tuyen-quang", commune="Tân Thanh", phone=None)
        await add_application(session, other, name="SP D", status="recognised", decided=date(2025, 6, 1))
    async with sessions() as session:
        stats = await province_statistics(session, "lam-dong", date(2026, 1, 1), datetime_now())
        everyone = await province_statistics(session, None, date(2026, 1, 1), datetime_now())
    assert stats.by_commune == {"Xã Lạc Dương": 2, "Xã Đạ Sar": 1}  # two spellings, one code
    assert everyone.by_commune["Xã Tân Thanh (Tuyên Quang)"] == 1  # named with its province across provinces


async def test_an_officer_picks_the_broadcast_communes_from_the_list(make_runner: Callable, sqlite_url: str) -> None:
    runner = await make_runner(sqlite_url)
    async with runner.sessions() as session, session.begin():
        for key, commune in (("a", "Xã Lạc Dương"), ("b", "Phường 1 Bảo Lộc"), ("c", "Xã Tà Năng")):
            producer = await add_producer(session, name=f"HTX {key}", commune=commune, phone=None)
            session.add(ChatAccount(channel="zalo", chat_id=f"z-{key}", producer_id=producer.id))
    officer = Chat(runner, user="officer", channel="zalo")
    await officer.say(f"/canbo {await invite(runner.sessions)}")
    await officer.say("/thongbao")
    await officer.tap("bc:new")
    await officer.say("Họp chủ thể OCOP sáng thứ Hai.")
    await officer.tap("nav:skip")  # no file
    await officer.say("lac duong")  # one match: picked at once
    assert "Đã chọn: Xã Lạc Dương" in officer.last
    await officer.say("bảo lộc")  # several: a numbered list
    assert says(officer.text, "form.search_pick", count=3) and officer.option_ids[0] == str(BAO_LOC_1)
    await officer.say("1")
    assert "Đã chọn: Xã Lạc Dương, Phường 1 Bảo Lộc" in officer.last
    await officer.say("lạc dương")  # typed again: kept, not dropped
    assert says(officer.last, "form.search_picked", names="Xã Lạc Dương, Phường 1 Bảo Lộc")
    await officer.say("bao loc")  # what is already chosen is marked in a new search, and choosing it drops it
    assert "✅ Phường 1 Bảo Lộc" in [o.label for o in officer.replies[-1].options]
    await officer.say("1")
    assert says(officer.last, "form.search_picked", names="Xã Lạc Dương")
    await officer.say("p1")
    await officer.say("xong")
    for _ in range(3):  # every group, every star rating, no expiry filter (and no event to choose among none)
        await officer.tap("nav:done" if "nav:done" in officer.option_ids else "nav:skip")
    await officer.tap("now")
    assert "Xã/phường: Xã Lạc Dương, Phường 1 Bảo Lộc" in officer.shown
    assert says(officer.text, "broadcast.count", count=2)


def datetime_now():
    from datetime import UTC, datetime
    return datetime(2026, 1, 1, 3, tzinfo=UTC)
