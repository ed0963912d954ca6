"""Checks and normalisation of typed answers. A failure names a message key, never a sentence."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from handlers.forms.answers import Answers, ParseFn
from handlers.forms.matching import CONTROL
from storage.text import fold

_MST_WEIGHTS = (31, 29, 23, 19, 17, 13, 7, 5, 3)


@dataclass
class Invalid(Exception):
    """The answer cannot be used; `key` names the message that says why."""

    key: str
    params: dict[str, Any] = field(default_factory=dict)


# C0 and C1 control characters but tab, line feed and carriage return: nobody types them, PostgreSQL refuses NUL in
# text and JSON, and a terminal or spreadsheet may act on the others.


def has_control_characters(value: object) -> bool:
    """Whether any text in `value` (a string, or a parsed JSON body's keys and values) holds a control character."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if CONTROL.search(item):
                return True
        elif isinstance(item, dict):
            stack += [*item.keys(), *item.values()]
        elif isinstance(item, list):
            stack += item
    return False


def _has_letter(text: str) -> bool:
    return any(unicodedata.category(c).startswith("L") for c in text)


def _has_emoji(text: str) -> bool:
    return any(unicodedata.category(c) == "So" or 0x1F000 <= ord(c) <= 0x1FAFF for c in text)


def check_text(text: str, *, max_len: int, min_len: int = 2, allow_emoji: bool = False) -> str:
    if not text:
        raise Invalid("error.empty")
    if len(text) > max_len:
        raise Invalid("error.too_long", {"max": max_len, "length": len(text)})
    if not allow_emoji and _has_emoji(text):
        raise Invalid("error.no_emoji")
    if len(text) < min_len:
        raise Invalid("error.too_short")
    if not _has_letter(text):  # "0300588569" typed one question too early is not a name: say what is wanted
        raise Invalid("error.needs_letters")
    return text


def check_name(text: str) -> str:
    return check_text(" ".join(text.split()), max_len=200)


def mst_checksum_ok(ten_digits: str) -> bool:
    """The tenth digit of a Vietnamese tax code is 10 - (weighted sum of the first nine mod 11)."""
    total = sum(int(d) * w for d, w in zip(ten_digits[:9], _MST_WEIGHTS, strict=True))
    return 10 - total % 11 == int(ten_digits[9])


def check_tax_code(text: str, *, household: bool) -> str:
    """MST: 10 digits, or 10 digits + '-' + 3 for a branch. A household business may instead give its
    owner's 12-digit personal ID (used as tax code since 7/2025) or its business-registration number."""
    compact = re.sub(r"[\s.]", "", text).upper()
    if not compact:
        raise Invalid("error.empty")
    if len(compact) > 20:
        raise Invalid("error.tax_code_format")
    mst = re.fullmatch(r"(\d{10})(?:-?(\d{3}))?", compact)
    if mst:
        if not mst_checksum_ok(mst.group(1)):
            raise Invalid("error.tax_code_checksum")
        return mst.group(1) + (f"-{mst.group(2)}" if mst.group(2) else "")
    if household and re.fullmatch(r"0\d{11}", compact):
        return compact
    # A registration number mixes the province's digits with letters (27B8001234); digits alone are a tax code or a
    # personal ID of the wrong length, i.e. a typo ("12345" was once taken as a registration number).
    if household and re.fullmatch(r"[0-9A-Z][0-9A-Z\-/]{7,19}", compact) and sum(c.isdigit() for c in compact) >= 6 \
            and any(c.isalpha() for c in compact):
        return compact
    raise Invalid("error.tax_code_household" if household else "error.tax_code_format")


def normalize_phone(text: str) -> str:
    """A Vietnamese number as +84…: mobiles have 9 digits after the 0 (3x, 5x, 7x, 8x, 9x),
    landlines 10 (area codes 2xx)."""
    compact = re.sub(r"[\s.\-()]", "", text)
    if compact.startswith("+84"):
        national = compact[3:]
    elif compact.startswith("0084"):
        national = compact[4:]
    elif compact.startswith("84") and len(compact) in (11, 12):
        national = compact[2:]
    elif compact.startswith("0"):
        national = compact[1:]
    else:
        raise Invalid("error.phone_format")
    national = national.removeprefix("0")
    if not (national.isascii() and national.isdigit()):
        raise Invalid("error.phone_format")
    mobile = len(national) == 9 and national[0] in "35789"
    landline = len(national) == 10 and national[0] == "2"
    if not (mobile or landline):
        raise Invalid("error.phone_format")
    return "+84" + national


_NUMBER = re.compile(r"^\s*(\d[\d.,]*)\s*(.*)$")


def parse_vietnamese_number(raw: str) -> float:
    """'2.000' → 2000 and '1,5' → 1.5 (Vietnamese), while '1.5' stays 1.5."""
    if re.fullmatch(r"\d{1,3}(\.\d{3})+(,\d+)?", raw):
        return float(raw.replace(".", "").replace(",", "."))
    if re.fullmatch(r"\d{1,3}(,\d{3})+(\.\d+)?", raw):
        return float(raw.replace(",", ""))
    if re.fullmatch(r"\d+([.,]\d+)?", raw):
        return float(raw.replace(",", "."))
    raise Invalid("error.quantity_format")


# Words around a yearly output that say nothing about it: "khoảng 2 tấn mỗi năm" is "2 tấn".
_ABOUT = {"khoang", "tam", "chung", "gan", "hon", "tren", "duoi", "about", "around", "approx", "approximately", "~"}
_PER_YEAR = re.compile(r"\s*(?:/\s*(?:năm|nam|year|yr)|(?:mỗi|moi|một|mot|1|hằng|hang|hàng|per|a|each)\s+"
                       r"(?:năm|nam|year)|hằng năm|hàng năm|yearly|annually)\s*$", re.IGNORECASE)


def _bare_quantity(text: str) -> str:
    words = text.split()
    while words and fold(words[0]) in _ABOUT:
        words.pop(0)
    return _PER_YEAR.sub("", " ".join(words).lstrip("~ ")).strip()


def check_display_phone(text: str) -> str:
    """A phone number kept as people write it to be read and dialled ("0263 3822 123"), once it is a valid one."""
    normalize_phone(text)
    return " ".join(text.split())


def check_quantity(text: str) -> dict[str, Any]:
    """'5 tấn', '2.000 lít', '1,5 tan', 'khoảng 2 tấn mỗi năm', '2 tấn/năm' → {"amount": 5.0, "unit": "tấn"}."""
    text = _bare_quantity(text)
    match = _NUMBER.match(text)
    if not match:
        raise Invalid("error.quantity_format")
    amount = parse_vietnamese_number(match.group(1).rstrip(".,"))
    unit = " ".join(match.group(2).split())
    unit = _UNITS.get(unit.lower(), unit)  # "2 tan" is kept as "2 tấn", as it reads on a label
    if not unit:
        raise Invalid("error.quantity_unit")
    if len(unit) > 30 or _has_emoji(unit) or not _has_letter(unit):
        raise Invalid("error.quantity_format")
    if amount <= 0 or amount > 1e12:
        raise Invalid("error.quantity_range")
    return {"amount": amount, "unit": unit}


# Units typed without their diacritics, written back with them (a unit that is not here is kept as typed).
_UNITS = {"tan": "tấn", "ta": "tạ", "lit": "lít", "hop": "hộp", "goi": "gói", "tui": "túi", "lo": "lọ", "hu": "hũ",
          "thung": "thùng", "cay": "cây", "qua": "quả", "trai": "trái", "banh": "bánh", "chiec": "chiếc",
          "cai": "cái", "bo": "bộ", "binh": "bình", "be": "bè", "kien": "kiện", "bo hoa": "bó hoa", "chau": "chậu",
          "luot khach": "lượt khách", "khach": "khách", "suat": "suất", "phan": "phần", "tan/nam": "tấn"}


# Days people name instead of typing a date, by how far from today (folded words).
_RELATIVE_DAYS = {"hom nay": 0, "nay": 0, "today": 0, "hom qua": -1, "qua": -1, "yesterday": -1, "hom kia": -2,
                  "mai": 1, "ngay mai": 1, "tomorrow": 1, "ngay kia": 2, "mot": 2}


def _relative_day(words: str, today: date) -> date | None:
    offset = _RELATIVE_DAYS.get(" ".join(words.split()))
    return today + timedelta(days=offset) if offset is not None else None


def check_date(text: str, *, latest: date) -> date:
    """dd/mm/yyyy (also with - or .), dd/mm (the latest such day up to `latest`), or "hôm nay", "hôm qua"; not after
    `latest` (today): a decision cannot be dated in the future."""
    value = _relative_day(fold(text), latest)
    if value is None:
        value = _day_month_year(text, latest)
    if value > latest:
        raise Invalid("error.date_future")
    if value.year < 2018:  # OCOP started in 2018
        raise Invalid("error.date_format")
    return value


def _day_month_year(text: str, latest: date) -> date:
    match = re.fullmatch(r"(\d{1,2})[/.\-](\d{1,2})(?:[/.\-](\d{4}))?", text.strip())
    if not match:
        raise Invalid("error.date_format")
    day, month = int(match.group(1)), int(match.group(2))
    year = int(match.group(3)) if match.group(3) else latest.year
    try:
        value = date(year, month, day)
        if not match.group(3) and value > latest:  # "21/7" typed in March means last July
            value = date(year - 1, month, day)
    except ValueError as exc:
        raise Invalid("error.date_format") from exc
    return value


def check_score(text: str) -> int:
    """'85', '85 điểm', '85đ', '85/100', 'điểm 85': a whole number of points out of 100."""
    match = re.fullmatch(r"(?:(?:so )?diem (?:la )?)?(\d{1,3})(?: ?(?:d|diem|points?|pts)| 100| tren 100)?",
                         fold(text))
    if not match or not 0 <= int(match.group(1)) <= 100:
        raise Invalid("error.score_format")
    return int(match.group(1))


_CLOCK = r"(\d{1,2})(?:[:hH](\d{2})?)?h?"


def check_datetime(text: str, *, timezone: str, not_before: datetime, now: datetime | None = None) -> datetime:
    """'12/12/2026 08:00' (also '8h', '8h30', '-' or '.' in the date), '12/12 8h' (the next such day), or
    'mai 8h', 'hôm nay 14:30' in local time → aware UTC."""
    zone = ZoneInfo(timezone)
    today = (now or not_before).astimezone(zone).date()
    # Folded, "14:30" reads "14 30".
    relative = re.fullmatch(r"([a-z ]+?)(?: luc)? (\d{1,2})(?:(?: |h ?)(\d{2}))?h?(?: gio)?(?: (sang|trua|chieu|toi))?",
                            fold(text))
    if relative and (day_ := _relative_day(relative.group(1), today)) is not None:
        day, month, year, hour = day_.day, day_.month, day_.year, int(relative.group(2))
        minute = int(relative.group(3) or 0)
        hour += 12 if relative.group(4) in ("chieu", "toi") and hour < 12 else 0  # "2h chiều" is 14:00
    else:
        match = re.fullmatch(r"(\d{1,2})[/.\-](\d{1,2})(?:[/.\-](\d{4}))?[ ,]+" + _CLOCK, text.strip())
        if not match:
            raise Invalid("error.datetime_format")
        day, month, hour = int(match.group(1)), int(match.group(2)), int(match.group(4))
        year = int(match.group(3)) if match.group(3) else today.year
        minute = int(match.group(5) or 0)
        if not match.group(3) and (month, day) < (today.month, today.day):  # "5/1 8h" typed in December
            year += 1
    try:
        local = datetime(year, month, day, hour, minute, tzinfo=zone)
    except ValueError as exc:
        raise Invalid("error.datetime_format") from exc
    if local < not_before:
        raise Invalid("error.datetime_too_early", {"earliest": not_before.astimezone(ZoneInfo(timezone))
                                                   .strftime("%d/%m/%Y %H:%M")})
    return local.astimezone(UTC)


# Named validators: what a step's `parse=` takes. Each reads the typed words (and, where it must, the answers
# so far or the update's clock) and returns the answer to keep, or raises Invalid.


def free_text(max_len: int, *, emoji: bool = False) -> ParseFn:
    """Any words up to `max_len` characters; emoji only where a person writes freely (a description, a note)."""
    def parse(text: str, _answers: Answers) -> str:
        return check_text(text, max_len=max_len, allow_emoji=emoji)
    return parse


def a_name(text: str, _answers: Answers) -> str:
    """A person's, a business's or a product's name."""
    return check_name(text)


def a_person(text: str, _answers: Answers) -> str:
    """A person's name, capitalised as Vietnamese names are when typed all in small (or all in capital) letters:
    "nguyễn thị hoa" → "Nguyễn Thị Hoa". A name typed with its own capitals is kept as typed."""
    name = check_name(text)
    return name.title() if name in (name.lower(), name.upper()) else name


def tax_code(text: str, answers: Answers) -> str:
    """A business's 10 digits (13 for a branch); a household may write its owner's 12-digit citizen number."""
    return check_tax_code(text, household=answers.get("entity_type") == "household")


def mobile_phone(text: str, _answers: Answers) -> str:
    return normalize_phone(text)


def office_phone(text: str, _answers: Answers) -> str:
    return check_display_phone(text)


def quantity(text: str, _answers: Answers) -> dict[str, Any]:
    return check_quantity(text)


def score(text: str, _answers: Answers) -> int:
    return check_score(text)


def day_count(text: str, _answers: Answers) -> int:
    """A number of days ahead, up to ten years."""
    if not text.strip().isdecimal() or not 1 <= int(text) <= 3650:
        raise Invalid("error.days_format")
    return int(text)


def past_date(text: str, answers: Answers) -> str:
    """A day up to today (a decision's date), kept as ISO."""
    return check_date(text, latest=answers.today).isoformat()


def future_time(after: str | None = None) -> ParseFn:
    """A day and an hour from now on, and not before the answer `after` when there is one (an event's end comes
    after its start), kept as ISO in UTC."""
    def parse(text: str, answers: Answers) -> str:
        earliest = datetime.fromisoformat(answers[after]) if after and answers.get(after) else answers.now
        return check_datetime(text, timezone=answers.timezone, not_before=earliest, now=answers.now).isoformat()
    return parse
