"""`ocop-bot import products` and `ocop-bot export products` as an operator runs them."""

from __future__ import annotations

import csv
import sqlite3
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import Workbook, load_workbook

from bot.cli.commands import main
from tests.support.catalog import says
from tests.support.lists import HEADER

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "docs" / "templates"


@pytest.fixture(autouse=True)
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("TELEGRAM_BOT_TOKEN", "OCOP_DEFAULT_LANGUAGE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OCOP_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'ocop.db'}")
    return tmp_path / "ocop.db"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([HEADER, *rows])
    return path


def query(db: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


@pytest.mark.parametrize("template", ["ocop-products-template.csv", "ocop-products-template.xlsx"])
def test_shipped_template_loads_and_reloading_changes_nothing(capsys, database: Path, template: str) -> None:
    code, out, err = run(capsys, "import", "products", str(TEMPLATES / template))
    assert code == 0 and says(out, "cli.import_summary", created=2, updated=0, unchanged=0, rejected=0) and not err
    code, out, _ = run(capsys, "import", "products", str(TEMPLATES / template))
    assert says(out, "cli.import_summary", created=0, updated=0, unchanged=2)
    assert query(database, "select count(*) from producer")[0][0] == 2
    assert query(database, "select count(*) from certificate")[0][0] == 2
    # Former province Hà Giang is Tuyên Quang now; the old district is kept; 92 points with the ministry's 5★ decision.
    assert query(database, "select province_code, district from producer where name like 'Hộ%'") == [
        ("tuyen-quang", "Đồng Văn")]
    assert query(database, "select stars from certificate order by stars") == [(4,), (5,)]


def test_a_changed_row_updates_its_record(capsys, tmp_path: Path, database: Path) -> None:
    row = ["HTX Chè Tân Cương", "HTX", "0100109106", "0912345678", "Thái Nguyên", "Xã Tân Cương", "",
           "Chè búp Tân Cương", "Thực phẩm", "Chè", "4", "", "12/QĐ-UBND", "01/06/2025", ""]
    run(capsys, "import", "products", str(write_csv(tmp_path / "a.csv", [row])))
    changed = row.copy()
    changed[3], changed[10] = "0987000111", "3"
    code, out, _ = run(capsys, "import", "products", str(write_csv(tmp_path / "b.csv", [changed])))
    assert says(out, "cli.import_summary", created=0, updated=1, unchanged=0)
    assert query(database, "select phone from producer") == [("+84987000111",)]
    assert query(database, "select stars, valid_until from certificate") == [(3, "2028-06-01")]


def test_bad_rows_are_reported_and_skipped(capsys, tmp_path: Path, database: Path) -> None:
    good = ["HTX Tốt", "Hợp tác xã", "0300588569", "", "Lâm Đồng", "", "", "Hồng sấy", "Thực phẩm", "", "4", "",
            "1/QĐ-UBND", "01/02/2025", ""]
    rows = [good,
            ["HTX A", "Hợp tác xã", "", "", "Atlantis", "", "", "SP A", "Thực phẩm", "", "4", "", "2/QĐ", "01/02/2025",
             ""],
            ["HTX B", "Hợp tác xã", "0300588568", "", "Lâm Đồng", "", "", "SP B", "Thực phẩm", "", "4", "", "3/QĐ",
             "01/02/2025", ""],
            ["HTX C", "Hợp tác xã", "", "", "Lâm Đồng", "", "", "SP C", "Thực phẩm", "", "5", "75", "4/QĐ",
             "01/02/2025", ""],
            ["HTX D", "Hợp tác xã", "", "", "Lâm Đồng", "", "", "", "Thực phẩm", "", "4", "", "5/QĐ", "01/02/2025", ""],
            ["HTX E", "Hợp tác xã", "", "", "Lâm Đồng", "", "", "SP E", "Thực phẩm", "", "4", "", "6/QĐ", "31/02/2025",
             ""],
            ["HTX F", "Tư nhân", "", "", "Lâm Đồng", "", "", "SP F", "Thực phẩm", "", "4", "", "7/QĐ", "01/02/2025",
             ""]]
    code, out, err = run(capsys, "import", "products", str(write_csv(tmp_path / "bad.csv", rows)))
    assert code == 0 and says(out, "cli.import_summary", created=1, updated=0, unchanged=0, rejected=6)
    for line in ("Dòng 3, cột “Tỉnh/thành phố”", "Dòng 4, cột “Mã số thuế”", "Dòng 5, cột “Số sao”: số sao không khớp",
                 "Dòng 6, cột “Tên sản phẩm”: bắt buộc", "Dòng 7, cột “Ngày quyết định”", "Dòng 8, cột “Loại chủ thể”"):
        assert line in err, line
    assert "Traceback" not in err
    assert query(database, "select name from producer") == [("HTX Tốt",)]


def test_excel_numbers_and_dates_are_understood(capsys, tmp_path: Path, database: Path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADER)
    sheet.append(["HTX Số", "Doanh nghiệp", 300588569, 912345678, "TP HCM", "Phường Bến Thành", None, "Bánh pía",
                  "Thực phẩm", None, None, 71, "9/QĐ-UBND", datetime(2025, 5, 20), None])
    workbook.save(tmp_path / "numbers.xlsx")
    code, out, err = run(capsys, "import", "products", str(tmp_path / "numbers.xlsx"))
    assert "1 mới" in out, err
    assert query(database, "select tax_code, phone, province_code from producer") == [
        ("0300588569", "+84912345678", "ho-chi-minh")]
    assert query(database, "select stars, decision_date from certificate") == [(4, "2025-05-20")]


def test_five_thousand_rows_load(capsys, tmp_path: Path, database: Path) -> None:
    rows = [[f"HTX số {i}", "Hợp tác xã", "", f"09{i:08d}", "Lâm Đồng", f"Xã {i % 40}", "", f"Sản phẩm {i}",
             "Thực phẩm", "", str(3 + i % 3), "", f"{i}/QĐ-UBND", "15/08/2024", ""] for i in range(5000)]
    code, out, err = run(capsys, "import", "products", str(write_csv(tmp_path / "big.csv", rows)))
    assert code == 0 and says(out, "cli.import_summary", created=5000, updated=0, unchanged=0, rejected=0), err
    assert query(database, "select count(*) from certificate")[0][0] == 5000
    code, out, _ = run(capsys, "import", "products", str(tmp_path / "big.csv"))
    assert "5000 không đổi" in out.replace(".", "")


@pytest.mark.parametrize(("content", "name", "words"), [(b"", "empty.csv", "không có dữ liệu"),
                                                        (b"a,b\n1,2\n", "cols.csv", "Tệp thiếu cột"),
                                                        (b"\x00\x01garbage", "junk.xlsx", "Không đọc được tệp")])
def test_unusable_files_get_one_clear_line(capsys, tmp_path: Path, content: bytes, name: str, words: str) -> None:
    (tmp_path / name).write_bytes(content)
    code, out, err = run(capsys, "import", "products", str(tmp_path / name))
    assert code == 1 and words in err and len(err.strip().splitlines()) == 1
    code, _, err = run(capsys, "import", "products", str(tmp_path / "missing.csv"))
    assert code == 1 and says(err, "cli.import_no_file")


def test_export_has_status_and_days_to_expiry(capsys, tmp_path: Path) -> None:
    run(capsys, "import", "products", str(TEMPLATES / "ocop-products-template.csv"))
    code, out, _ = run(capsys, "export", "products", str(tmp_path / "out" / "lam-dong.xlsx"), "--province", "lam dong")
    assert code == 0 and says(out, "cli.export_done", count=1)
    rows = list(load_workbook(tmp_path / "out" / "lam-dong.xlsx").active.iter_rows(values_only=True))
    assert rows[0][-2:] == ("Trạng thái", "Số ngày đến hạn")
    [row] = rows[1:]
    assert row[0] == "HTX Nông nghiệp Cầu Đất (MẪU)" and row[14] == "21/07/2027"
    vietnam_today = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).date()  # days count in OCOP_TIMEZONE
    assert row[16] == (date(2027, 7, 21) - vietnam_today).days
    assert row[15] in ("Đã công nhận", "Sắp hết hạn")
    code, _, err = run(capsys, "export", "products", str(tmp_path / "x.xlsx"), "--province", "Atlantis")
    assert code == 1 and "Atlantis" in err


@pytest.mark.parametrize("template", ["ocop-events-template.csv", "ocop-events-template.xlsx"])
def test_events_template_loads_once(capsys, database: Path, template: str) -> None:
    code, out, err = run(capsys, "import", "events", str(TEMPLATES / template))
    assert code == 0 and says(out, "cli.import_summary", created=2, updated=0, unchanged=0, rejected=0), err
    code, out, _ = run(capsys, "import", "events", str(TEMPLATES / template))
    assert says(out, "cli.import_summary", created=0, updated=0, unchanged=2)
    assert query(database, "select kind, audience_groups, starts_at from event order by kind") == [
        ("fair", '["food", "craft"]', "2027-12-20 01:00:00.000000"),
        ("training", "[]", "2027-12-12 01:00:00.000000")]


def test_bad_event_rows_are_reported(capsys, tmp_path: Path, database: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text("Loại,Tên sự kiện,Địa điểm,Tỉnh/thành phố,Bắt đầu,Kết thúc\n"
                    "Hội thảo,A,B,Lâm Đồng,12/12/2027 08:00,12/12/2027 10:00\n"
                    "Tập huấn,A,B,Lâm Đồng,12/12/2027 08:00,12/12/2027 07:00\n"
                    "Tập huấn,A,B,Lâm Đồng,mai,12/12/2027 07:00\n", encoding="utf-8")
    code, out, err = run(capsys, "import", "events", str(path))
    assert "0 mới" in out and "3 dòng bị loại" in out
    assert says(err, "cli.import_row_error", row=2, column="Loại")
    assert says(err, "cli.import_row_error", row=3, column="Kết thúc")
    assert says(err, "cli.import_row_error", row=4, column="Bắt đầu")


def test_demo_data_is_marked_and_loads_once(capsys, database: Path) -> None:
    code, out, _ = run(capsys, "demo-data")
    assert code == 0 and "/lienket " in out and "/canbo " in out
    code, out, _ = run(capsys, "demo-data")
    assert "đã có sẵn" in out
    names = [n for (n,) in query(database, "select name from producer")] + \
        [n for (n,) in query(database, "select name from event")]
    assert len(names) == 10 and all(name.endswith("(DEMO)") for name in names)
    assert query(database, "select count(*) from certificate")[0][0] == 6


def test_demo_data_names_the_address_the_bot_listens_on(capsys, database: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OCOP_HTTP_PORT", "8091")
    monkeypatch.delenv("OCOP_PUBLIC_URL", raising=False)
    assert "http://127.0.0.1:8091/" in run(capsys, "demo-data")[1]
    monkeypatch.setenv("OCOP_HTTP_HOST", "0.0.0.0")  # every interface: this machine reaches it at 127.0.0.1
    assert "http://127.0.0.1:8091/" in run(capsys, "demo-data")[1]
    monkeypatch.setenv("OCOP_HTTP_HOST", "192.168.1.20")
    assert "http://192.168.1.20:8091/" in run(capsys, "demo-data")[1]
    monkeypatch.setenv("OCOP_PUBLIC_URL", "https://ocop.lamdong.gov.vn")
    assert "https://ocop.lamdong.gov.vn/ " in run(capsys, "demo-data")[1]


def test_rule_province_recognises_ninety_points_as_four_stars_potential_five(capsys, tmp_path: Path,
                                                                              database: Path) -> None:
    """Decision 148, art. 9: 90–100 points are recognised by the province as 4★ "tiềm năng 5★" until the central
    council decides; official lists hold such rows and the import keeps them in that state."""
    base = ["Hợp tác xã", "", "", "Lâm Đồng", "", "", "", "Thực phẩm", "", "", "", "", "01/02/2025", ""]

    def row(name: str, stars: str, score: str, number: str) -> list[str]:
        cells = [name, *base]
        cells[7], cells[10], cells[11], cells[12] = f"SP {name}", stars, score, number
        return cells

    rows = [row("HTX Tiềm năng", "4 sao (tiềm năng 5 sao)", "", "1/QĐ-UBND"),
            row("HTX Chín hai", "4", "92", "2/QĐ-UBND"),
            row("HTX Không sao", "", "95", "3/QĐ-UBND"),
            row("HTX Năm sao", "5", "93", "4/QĐ-BNNMT"),
            row("HTX Sai", "3 sao (tiềm năng 5 sao)", "", "5/QĐ-UBND")]
    code, out, err = run(capsys, "import", "products", str(write_csv(tmp_path / "potential.csv", rows)))
    assert code == 0 and says(out, "cli.import_summary", created=4, updated=0, unchanged=0, rejected=1), err
    assert says(err, "cli.import_row_error", row=6, column="Số sao")
    assert query(database, "select p.name, c.stars, c.potential_five, a.status from certificate c "
                           "join application a on a.id = c.application_id join producer p on p.id = a.producer_id "
                           "order by p.name") == [
        ("HTX Chín hai", 4, 1, "awaiting_central"), ("HTX Không sao", 4, 1, "awaiting_central"),
        ("HTX Năm sao", 5, 0, "recognised"), ("HTX Tiềm năng", 4, 1, "awaiting_central")]
    code, out, _ = run(capsys, "import", "products", str(tmp_path / "potential.csv"))
    assert says(out, "cli.import_summary", created=0, updated=0, unchanged=4)
