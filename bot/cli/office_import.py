"""`ocop-bot import offices FILE`: each province's OCOP office (name, phone, address) from a spreadsheet.

Same rules as the other imports: bad rows reported and skipped, the same file twice changes nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.cli.spreadsheet import RowFields, error_lines, parsed_rows, province_cell, read_rows, tally
from bot.cli.support import database
from bot.settings import Settings
from handlers.forms.validators import check_display_phone
from messages import t
from storage.offices import save_office

COLUMNS = ("province", "office_name", "office_phone", "office_address")


def parse_office(record: dict[str, Any]) -> tuple[str, dict[str, str]]:
    field, required = RowFields(record), RowFields.required
    return field("province", lambda v: province_cell(required(v))), {
        "name": field("office_name", required),
        "phone": field("office_phone", lambda v: check_display_phone(required(v, 32))),
        "address": field("office_address", lambda v: required(v, 300))}


async def import_offices(settings: Settings, path: Path) -> tuple[int, list[str], list[str]]:
    lang = settings.default_language
    good, errors = parsed_rows(read_rows(path, lang, COLUMNS, COLUMNS), parse_office, lang)
    counts = tally(errors)
    async with database(settings) as session:
        for province, values in good:
            counts[await save_office(session, province, values, actor_account_id=None)] += 1
    return 0, [t(lang, "cli.import_summary", **counts)], error_lines(errors, lang)
