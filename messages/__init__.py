"""Every sentence a person reads, per language, and the formatting of numbers, dates and stars."""

from __future__ import annotations

import tomllib
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"
_DIR = Path(__file__).parent


def _flatten(table: dict[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, name + "."))
        else:
            flat[name] = str(value)
    return flat


@cache
def catalog(lang: str) -> dict[str, str]:
    with open(_DIR / f"{lang}.toml", "rb") as fh:
        return _flatten(tomllib.load(fh))


def t(lang: str, key: str, **params: Any) -> str:
    """The sentence `key` in `lang` (Vietnamese when the language is unknown), numbers formatted."""
    lang = lang if lang in LANGUAGES else DEFAULT_LANGUAGE
    template = catalog(lang)[key]
    shown = {k: format_number(lang, v) if isinstance(v, int | float) and not isinstance(v, bool) else v
             for k, v in params.items()}
    return template.format(**shown) if params else template


def format_number(lang: str, value: float) -> str:
    """1.250 and 1,5 in Vietnamese; 1,250 and 1.5 in English."""
    whole = float(value).is_integer()
    text = f"{value:,.0f}" if whole else f"{value:,.2f}".rstrip("0").rstrip(".")
    if lang == "vi":
        text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return text


def format_date(value: date | datetime, tz: str = "Asia/Ho_Chi_Minh") -> str:
    """dd/mm/yyyy; an aware datetime is shown in the programme's local time."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        value = value.astimezone(ZoneInfo(tz))
    return value.strftime("%d/%m/%Y")


def format_phone(phone: str | None) -> str:
    """A Vietnamese number as people write it: +84912345678 → 0912 345 678, +842633822456 → 0263 3822 456 (a
    landline's area code, then its number in two groups); "—" for none. Anything else is shown as it was stored."""
    if not phone:
        return "—"
    digits = phone.replace(" ", "").replace(".", "").replace("-", "")
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    if not digits.isdecimal() or not digits.startswith("0"):
        return phone
    if len(digits) == 10 and digits[1] != "2":  # a mobile: 0912 345 678
        return f"{digits[:4]} {digits[4:7]} {digits[7:]}"
    if len(digits) == 11 and digits[:3] in ("024", "028"):  # Hà Nội, Hồ Chí Minh City: 024/028 and 8 digits
        return f"{digits[:3]} {digits[3:7]} {digits[7:]}"
    if len(digits) == 11 and digits[1] == "2":  # another province's landline: 02xx and 7 digits
        return f"{digits[:4]} {digits[4:8]} {digits[8:]}"
    return phone


def stars(count: int) -> str:
    return "★" * count + "☆" * (5 - count)


def certificate_stars(lang: str, count: int, potential_five: bool) -> str:
    """'★★★★☆ tiềm năng 5★': a 4★ the province recognised while the central council decides on 5★."""
    return stars(count) + (t(lang, "status.potential_five") if potential_five else "")


def format_when(lang: str, value: datetime, tz: str = "Asia/Ho_Chi_Minh") -> str:
    """'Thứ Bảy, 12/12/2026, 08:00' in the programme's local time."""
    local = value.astimezone(ZoneInfo(tz))
    return t(lang, "when.datetime", weekday=t(lang, f"weekday.{local.weekday()}"), date=local.strftime("%d/%m/%Y"),
             time=local.strftime("%H:%M"))
