"""Vietnamese formats: tax codes, phone numbers, quantities, and understanding typed choices."""

from __future__ import annotations

import unicodedata

import pytest

from handlers.forms.matching import Choice, clean_text, fold, match_choice
from handlers.forms.steps import asked
from handlers.forms.validators import Invalid, check_quantity, check_tax_code, normalize_phone
from messages import format_date, format_number, stars
from storage.reference import load_reference
from tests.support.checks import present


@pytest.mark.parametrize("code", ["0300588569", "0100109106", "0101248141", "0100109106-001", "0100109106001",
                                  " 0300 588 569 "])
def test_valid_tax_codes(code: str) -> None:
    assert check_tax_code(code, household=False).startswith(code.strip().replace(" ", "")[:10])


@pytest.mark.parametrize(("code", "key"), [("0300588568", "error.tax_code_checksum"),
                                           ("030058856", "error.tax_code_format"),
                                           ("abc", "error.tax_code_format"),
                                           ("012345678901", "error.tax_code_format")])
def test_invalid_tax_codes(code: str, key: str) -> None:
    with pytest.raises(Invalid) as bad:
        check_tax_code(code, household=False)
    assert bad.value.key == key


def test_household_may_use_personal_id_or_registration_number() -> None:
    assert check_tax_code("001085012345", household=True) == "001085012345"
    assert check_tax_code("27B8001234", household=True) == "27B8001234"
    for typo in ("xyz", "12345", "0123456", "27B12"):  # found trying the re-evaluation: "12345" used to pass
        with pytest.raises(Invalid):
            check_tax_code(typo, household=True)


@pytest.mark.parametrize(("typed", "normal"), [("0912345678", "+84912345678"), ("+84 912 345 678", "+84912345678"),
                                               ("84912345678", "+84912345678"), ("(024) 3825 1234", "+842438251234"),
                                               ("0084-35-123-4567", "+84351234567"), ("+840912345678", "+84912345678")])
def test_phone_numbers_normalised(typed: str, normal: str) -> None:
    assert normalize_phone(typed) == normal


@pytest.mark.parametrize("typed", ["12345", "0112345678", "+1 415 555 0100", "09123456789", "091234567a", ""])
def test_phone_numbers_rejected(typed: str) -> None:
    with pytest.raises(Invalid):
        normalize_phone(typed)


@pytest.mark.parametrize(("typed", "amount", "unit"), [("5 tấn", 5, "tấn"), ("2.000 lít", 2000, "lít"),
                                                       ("1,5 tan", 1.5, "tấn"), ("1.5 tonnes", 1.5, "tonnes"),
                                                       ("10.000 hộp", 10000, "hộp"), ("2,000 litres", 2000, "litres")])
def test_quantities(typed: str, amount: float, unit: str) -> None:
    assert check_quantity(typed) == {"amount": amount, "unit": unit}


@pytest.mark.parametrize(("typed", "key"), [("5", "error.quantity_unit"), ("nhiều lắm", "error.quantity_format"),
                                            ("0 kg", "error.quantity_range")])
def test_bad_quantities(typed: str, key: str) -> None:
    with pytest.raises(Invalid) as bad:
        check_quantity(typed)
    assert bad.value.key == key


def test_folding_and_decomposed_input() -> None:
    decomposed = unicodedata.normalize("NFD", "Hộ kinh doanh Đồng Văn")
    assert clean_text(decomposed) == "Hộ kinh doanh Đồng Văn"
    assert fold(decomposed) == "ho kinh doanh dong van"
    assert clean_text("a\x00b\u200b  c\r\n") == "a b c"  # a control character is a space, an invisible one goes


def test_matching_choices() -> None:
    ref = load_reference()
    entity = [Choice(i.code, i.vi, i.aliases) for i in ref.entity_types]
    assert present(match_choice("ho kinh doanh", entity)).id == "household"
    assert present(match_choice("HTX", entity)).id == "cooperative"
    assert present(match_choice("2", entity)).id == "cooperative-group"
    assert match_choice("9", entity) is None
    assert match_choice("hop tac", entity) is None  # ambiguous: Hợp tác xã or Tổ hợp tác
    provinces = [Choice(p.code, p.vi, (*p.aliases, *p.former)) for p in ref.provinces]
    assert present(match_choice("sai gon", provinces)).id == "ho-chi-minh"
    assert present(match_choice("Bac Giang", provinces)).id == "bac-ninh"


def test_rule_dossier_documents_by_product_group() -> None:
    ref = load_reference()
    assert len(ref.provinces) == 34
    assert [g.vi for g in ref.groups] == ["Thực phẩm", "Đồ uống", "Dược liệu và sản phẩm từ dược liệu",
                                          "Thủ công mỹ nghệ", "Sinh vật cảnh",
                                          "Dịch vụ du lịch cộng đồng, du lịch sinh thái và điểm du lịch"]
    assert all(g.subgroups for g in ref.groups)
    assert "food-safety" in {d.code for d in ref.documents_for("food")}
    assert "food-safety" not in {d.code for d in ref.documents_for("craft")}


def test_formatting() -> None:
    assert format_number("vi", 1250) == "1.250" and format_number("en", 1250) == "1,250"
    assert format_number("vi", 1.5) == "1,5"
    from datetime import date
    assert format_date(date(2026, 7, 21)) == "21/07/2026"
    assert stars(4) == "★★★★☆"


def test_a_name_of_only_digits_asks_for_words_not_for_more() -> None:
    from handlers.forms.validators import Invalid, check_name

    for typed, key in (("0300588569", "error.needs_letters"), ("2", "error.too_short"), ("A", "error.too_short")):
        try:
            check_name(typed)
        except Invalid as bad:
            assert bad.key == key, typed
        else:
            raise AssertionError(typed)


@pytest.mark.parametrize(("typed", "points"), [("85", 85), ("85 điểm", 85), ("85đ", 85), ("85/100", 85),
                                               ("Điểm: 85", 85), ("85 diem", 85), ("0", 0), ("100 điểm", 100)])
def test_a_score_as_the_council_writes_it(typed: str, points: int) -> None:
    from handlers.forms.validators import check_score
    assert check_score(typed) == points


@pytest.mark.parametrize("typed", ["101", "85,5", "tám lăm", "85 sao", ""])
def test_a_score_that_is_not_one(typed: str) -> None:
    from handlers.forms.validators import check_score
    with pytest.raises(Invalid):
        check_score(typed)


@pytest.mark.parametrize(("typed", "day"), [("hôm nay", "2026-12-03"), ("hom qua", "2026-12-02"),
                                            ("21/7", "2026-07-21"), ("5/12", "2025-12-05"),
                                            ("21/07/2025", "2025-07-21"), ("3-12-2026", "2026-12-03")])
def test_a_decision_date_as_people_type_it(typed: str, day: str) -> None:
    from datetime import date

    from handlers.forms.validators import check_date
    assert check_date(typed, latest=date(2026, 12, 3)).isoformat() == day


def test_tomorrow_is_not_a_decision_date() -> None:
    from datetime import date

    from handlers.forms.validators import check_date
    with pytest.raises(Invalid) as bad:
        check_date("mai", latest=date(2026, 12, 3))
    assert bad.value.key == "error.date_future"


@pytest.mark.parametrize(("typed", "local"), [("mai 8h", "2026-12-04 08:00"), ("hôm nay 14:30", "2026-12-03 14:30"),
                                              ("Ngày mai lúc 8 giờ sáng", "2026-12-04 08:00"),
                                              ("mai 2h chiều", "2026-12-04 14:00"), ("12/12 8h", "2026-12-12 08:00"),
                                              ("5/1 8h30", "2027-01-05 08:30"),
                                              ("12/12/2026 08:00", "2026-12-12 08:00")])
def test_an_event_time_as_people_type_it(typed: str, local: str) -> None:
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from handlers.forms.validators import check_datetime
    now = datetime(2026, 12, 2, 18, 0, tzinfo=UTC)  # 01:00 on 3 December in Vietnam
    value = check_datetime(typed, timezone="Asia/Ho_Chi_Minh", not_before=now, now=now)
    assert value.astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).strftime("%Y-%m-%d %H:%M") == local


@pytest.mark.parametrize(("typed", "amount", "unit"), [("khoảng 2 tấn mỗi năm", 2, "tấn"), ("2 tấn/năm", 2, "tấn"),
                                                       ("tầm 500 kg một năm", 500, "kg"), ("~3 tạ", 3, "tạ"),
                                                       ("2.000 lít hằng năm", 2000, "lít"),
                                                       ("about 5 tonnes a year", 5, "tonnes")])
def test_a_yearly_output_with_the_words_around_it(typed: str, amount: float, unit: str) -> None:
    assert check_quantity(typed) == {"amount": amount, "unit": unit}


def test_rule_classification_three_levels_asked_only_where_there_is_a_choice() -> None:
    """Decision 148: group → nhóm → phân nhóm. The registration asks the phân nhóm only where the nhóm has them."""
    from handlers.producer.registration import REGISTRATION, category_of

    ref = load_reference()
    assert [c.vi for c in ref.categories_of("food", "food-processed")] == [
        "Đồ ăn nhanh", "Chế biến từ gạo, ngũ cốc", "Chế biến từ rau, củ, quả, hạt",
        "Chế biến từ thịt, trứng, sữa, thủy sản, các sản phẩm từ mật ong, mật khác"]
    assert ref.label("food-fresh-produce", "vi") == "Rau, củ, quả, hạt tươi"

    def questions(data: dict) -> list[str]:
        return [s.id for s in asked(REGISTRATION, data) if s.id in ("group", "subgroup", "category")]

    assert questions({"group": "food", "subgroup": "food-processed"}) == ["group", "subgroup", "category"]
    assert questions({"group": "craft", "subgroup": "craft-decor"}) == ["group", "subgroup"]  # no phân nhóm there
    assert category_of({"group": "craft", "subgroup": "craft-decor"}) is None
