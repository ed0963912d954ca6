"""/thongke and `ocop-bot report`: the right numbers for the officer's province, and a chart that renders."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlmodel import col, select

from bot.cli.commands import main
from handlers import worker
from handlers.officer.charts import drawn, statistics_chart
from messages import t
from storage.lifecycle import add_months
from storage.models import Certificate, OutboxMessage
from storage.statistics import ProvinceStatistics, province_statistics
from tests.support.catalog import says
from tests.support.checks import present
from tests.support.fakes import Chat
from tests.support.seed import add_application, add_producer, invite

TODAY = date(2026, 11, 23)
NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)


async def seed(sessions) -> None:
    async with sessions() as session, session.begin():
        for name, commune, group, stars, days_left, status in (
                ("A", "Xã Đạ Sar", "food", 4, 20, "recognised"), ("B", "Xã Đạ Sar", "food", 5, 60, "recognised"),
                ("C", "Phường 3", "craft", 3, 400, "recognised"), ("D", "Phường 3", "drink", 3, -5, "recognised"),
                ("E", "Xã Tà Nung", "herbal", None, None, "submitted"),
                ("F", "Xã Tà Nung", "food", None, None, "needs_more")):
            producer = await add_producer(session, name=f"HTX {name}", commune=commune, phone=None)
            decided = add_months(TODAY + timedelta(days=days_left), -36) if days_left is not None else None
            await add_application(session, producer, name=f"SP {name}", group=group, status=status, decided=decided,
                                  stars=stars or 3)
        other = await add_producer(session, name="HTX Huế", province_code="hue", phone=None)
        await add_application(session, other, name="Mè xửng", status="recognised", decided=date(2025, 1, 1))


async def test_numbers_for_a_province(make_runner: Callable, db_url: str) -> None:
    sessions = (await make_runner(db_url)).sessions
    await seed(sessions)
    async with sessions() as session:
        stats = await province_statistics(session, "lam-dong", TODAY, NOW)
        everything = await province_statistics(session, None, TODAY, NOW)
    assert stats.by_stars == {3: 1, 4: 1, 5: 1}  # D's certificate has lapsed
    # Groups and communes count the same products as the total: those holding a certificate in force.
    assert stats.by_group == {"food": 2, "craft": 1}
    # …and within each group by nhóm, adding up to the group's count (the seeded craft product has none).
    assert stats.by_subgroup == {("food", "food-processed"): 2, ("craft", None): 1}
    assert stats.by_commune == {"Xã Đạ Sar": 2, "Phường 3": 1}
    assert stats.by_status == {"recognised": 4, "submitted": 1, "needs_more": 1}
    assert (stats.expiring_30, stats.expiring_90) == (1, 2)
    assert sum(everything.by_stars.values()) == 4  # Huế counts for an admin


async def test_rule_still_valid_counts_each_product_once_by_the_certificate_in_force(make_runner: Callable,
                                                                                     db_url: str) -> None:
    """A re-evaluated product holds two certificates in force until the old one runs out; a 4★ "tiềm năng 5★" is
    revoked when the centre grants 5★; an expired one is not in force. Each product counts once, and the stars,
    the groups and the communes all add up to the same total."""
    sessions = (await make_runner(db_url)).sessions
    async with sessions() as session, session.begin():
        producer = await add_producer(session, name="HTX G")
        product, _ = await add_application(session, producer, name="SP G", status="recognised",
                                           decided=TODAY - timedelta(days=1000), stars=3)
        _, again = await add_application(session, producer, name="SP G2", status="recognised",
                                         decided=TODAY - timedelta(days=10), stars=4)
        again.product_id = product.id  # the re-evaluation of the same product
        session.add(again)
        certificate = (await session.exec(select(Certificate).where(Certificate.application_id == again.id))).one()
        certificate.product_id = product.id
        session.add(certificate)
        _, central = await add_application(session, producer, name="SP H", status="recognised",
                                           decided=TODAY - timedelta(days=100), stars=4)
        four = (await session.exec(select(Certificate).where(Certificate.application_id == central.id))).one()
        four.revoked_at = NOW
        session.add(four)
        session.add(Certificate(product_id=four.product_id, application_id=central.id, stars=5, score=95,
                                decision_number="9/QĐ-BNNMT", decision_date=TODAY - timedelta(days=5),
                                valid_until=add_months(TODAY - timedelta(days=5), 36)))
        await add_application(session, producer, name="SP I", status="recognised", decided=date(2020, 1, 1))
    async with sessions() as session:
        stats = await province_statistics(session, "lam-dong", TODAY, NOW)
    assert stats.by_stars == {4: 1, 5: 1}
    assert sum(stats.by_group.values()) == sum(stats.by_commune.values()) == sum(stats.by_stars.values()) == 2


def test_chart_renders_vietnamese_labels(tmp_path: Path) -> None:
    stats = ProvinceStatistics(by_stars={3: 2, 4: 5, 5: 1}, by_group={"food": 4, "craft": 2, "tourism": 1},
                               by_subgroup={("food", "food-processed"): 4, ("craft", None): 2, ("tourism", None): 1},
                               by_commune={"Xã Đạ Sar": 3, "Phường Xuân Hương - Đà Lạt": 2},
                               by_status={"recognised": 5, "needs_more": 1, "council_review": 2},
                               expiring_30=1, expiring_90=3, registrations=[])
    # Warnings are errors in this suite, so a Vietnamese letter without a glyph would fail right here.
    png = statistics_chart("vi", stats, "Thống kê OCOP — Lâm Đồng")
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 20_000


async def test_a_chart_is_still_drawn_when_the_drawing_process_has_died() -> None:
    """Charts are drawn in a worker process (they held up every chat when drawn in a thread). If that process is
    killed (out of memory, an operator), the officer still gets the chart, and the next one gets a new worker."""
    stats = ProvinceStatistics(by_stars={4: 2}, by_group={"food": 2}, by_subgroup={}, by_commune={"Xã Đạ Sar": 2},
                               by_status={"recognised": 2}, expiring_30=0, expiring_90=0, registrations=[])
    first = await drawn("vi", stats, "Thống kê OCOP — Lâm Đồng")
    for process in list(worker._worker()._processes.values()):  # noqa: SLF001 - the only way to reach the worker
        process.kill()
        process.join()
    again = await drawn("vi", stats, "Thống kê OCOP — Lâm Đồng")
    after = await drawn("vi", stats, "Thống kê OCOP — Lâm Đồng")
    assert first.startswith(b"\x89PNG") and again.startswith(b"\x89PNG") and after.startswith(b"\x89PNG")


async def test_statistics_in_chat_for_officers_only(make_runner: Callable, sqlite_url: str, clock) -> None:
    clock.now = NOW
    runner = await make_runner(sqlite_url)
    await seed(runner.sessions)
    officer = Chat(runner, user="officer")
    await officer.say(f"/canbo {await invite(runner.sessions)}")
    await officer.tap("menu:statistics")
    text = officer.text
    assert says(text, "stats.title", scope="Lâm Đồng")
    assert says(text, "stats.recognised", total=3, five=1, four=1, three=1)
    assert says(text, "stats.expiring", thirty=1, ninety=2) and "Mè xửng" not in text
    assert "• Thực phẩm: 2\n    – Thực phẩm chế biến: 2\n• Thủ công mỹ nghệ: 1\n    – chưa rõ nhóm: 1" in text
    [chart] = officer.replies[0].attachments
    assert chart.mime == "image/png" and present(chart.content).startswith(b"\x89PNG")
    producer = Chat(runner, user="producer")
    await producer.say("/thongke")
    assert says(producer.text, "officer.not_allowed")


async def test_a_chart_being_drawn_holds_up_no_one_elses_answer(make_runner: Callable, sqlite_url: str, clock,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Counting and drawing come after the officer's step is committed, on a read connection of their own: a
    producer who writes meanwhile is answered at once, not after the chart (on SQLite, every write of the process
    goes through one writer)."""
    clock.now = NOW
    runner = await make_runner(sqlite_url)
    await seed(runner.sessions)
    officer = Chat(runner, user="officer")
    await officer.say(f"/canbo {await invite(runner.sessions)}")
    drawing, may_finish = asyncio.Event(), asyncio.Event()

    async def slow_chart(*args: Any) -> bytes:
        drawing.set()
        await asyncio.wait_for(may_finish.wait(), 20)
        return await drawn(*args)

    monkeypatch.setattr("handlers.officer.statistics.drawn", slow_chart)
    asking = asyncio.create_task(officer.say("/thongke"))
    await asyncio.wait_for(drawing.wait(), 10)
    producer = Chat(runner, user="producer")
    await asyncio.wait_for(producer.say("xin chào"), 10)
    assert producer.replies and not asking.done()  # answered while the officer's chart is still being drawn
    may_finish.set()
    await asyncio.wait_for(asking, 20)
    assert says(officer.replies[0].text, "stats.title", scope="Lâm Đồng")
    assert officer.replies[0].attachments[0].mime == "image/png"
    assert officer.replies[-1].options  # and the menu after it, as before


async def test_statistics_made_after_the_step_are_journaled_like_any_reply(make_runner: Callable, sqlite_url: str,
                                                                          clock) -> None:
    """On Telegram every reply is written to the outbox before it is sent, so a process killed before sending it
    sends it after its restart: the statistics too, though they are made after the step's commit."""
    clock.now = NOW
    runner = (await make_runner(sqlite_url)).journal("telegram")
    await seed(runner.sessions)
    officer = Chat(runner, user="officer", channel="telegram")
    for reply in await officer.say(f"/canbo {await invite(runner.sessions)}"):
        await runner.sent("telegram", reply)  # the platform took them (else the next replies queue behind them)
    await officer.say("/thongke")
    assert says(officer.replies[0].text, "stats.title", scope="Lâm Đồng")
    assert all(reply.journal_rows for reply in officer.replies)
    async with runner.sessions() as session:
        journaled = (await session.exec(select(OutboxMessage).where(
            col(OutboxMessage.id).in_(officer.replies[0].journal_rows)))).all()
    assert [row.text for row in journaled] == [officer.replies[0].text] and journaled[0].file_id is not None
    # Those were not sent yet: asked again, the new statistics queue behind them, in order, rather than overtake.
    assert await officer.say("/thongke") == []
    async with runner.sessions() as session:
        queued = (await session.exec(select(OutboxMessage).where(OutboxMessage.status == "pending")
                                     .order_by(col(OutboxMessage.id)))).all()
    assert says(queued[0].text, "stats.title", scope="Lâm Đồng") and queued[0].file_id is not None


async def test_an_empty_list_in_the_statistics_says_so(make_runner: Callable, sqlite_url: str, clock) -> None:
    """A province with no recognised product yet: each heading is followed by "none yet", not by nothing."""
    clock.now = NOW
    runner = await make_runner(sqlite_url)
    officer = Chat(runner, user="officer")
    await officer.say(f"/canbo {await invite(runner.sessions)}")
    await officer.say("/thongke")
    lines = officer.replies[0].text.split("\n")
    for heading in ("stats.by_group", "stats.by_status", "stats.top_communes"):
        assert lines[lines.index(t("vi", heading)) + 1] == t("vi", "stats.none"), lines


def test_report_command_writes_workbook_and_chart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OCOP_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'r.db'}")
    assert main(["demo-data"]) == 0
    assert main(["report", "--province", "lam dong", str(tmp_path / "out")]) == 0
    assert "Đã ghi báo cáo" in capsys.readouterr().out
    workbook = load_workbook(tmp_path / "out" / "ocop-report-lam-dong.xlsx")
    assert workbook.sheetnames == ["Tổng hợp", "Hạng sao", "Nhóm", "Nhóm nhỏ", "Xã phường", "Trạng thái", "Sự kiện"]
    nhom = [row for row in workbook["Nhóm nhỏ"].iter_rows(min_row=2, values_only=True)]
    groups = {name: count for name, count in workbook["Nhóm"].iter_rows(min_row=2, values_only=True)}
    assert nhom and all(" › " in name for name, _ in nhom)
    assert sum(count for _, count in nhom) == sum(groups.values())  # the nhóm add up to the groups
    assert len(list(workbook["Sự kiện"].iter_rows())) == 5  # the header and the four demo events
    assert (tmp_path / "out" / "ocop-report-lam-dong.png").read_bytes().startswith(b"\x89PNG")
    assert main(["report", "--province", "Atlantis", str(tmp_path / "x")]) == 1
