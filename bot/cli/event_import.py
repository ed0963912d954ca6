"""`ocop-bot import events FILE`: trainings and fairs from a spreadsheet (template in docs/templates).

Same rules as the product import: bad rows reported and skipped, the same file twice changes nothing. A new
event is announced to its audience just as when an officer adds it in the chat.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.cli.spreadsheet import RowFields, cell_text, error_lines, parsed_rows, province_cell, read_rows, tally
from bot.cli.support import database
from bot.settings import Settings
from handlers.events.admin import announce
from handlers.forms.matching import Choice, match_choice
from handlers.forms.validators import Invalid, check_datetime
from messages import t
from storage.events import create_event, find_event, update_event
from storage.reference import load_reference

COLUMNS = ("event_kind", "event_name", "event_place", "province", "event_start", "event_end", "event_deadline",
           "event_description", "event_groups")
REQUIRED = ("event_kind", "event_name", "event_place", "province", "event_start", "event_end")
_EPOCH = datetime(2018, 1, 1, tzinfo=UTC)


def _when(value: Any, timezone: str) -> datetime:
    if isinstance(value, datetime):  # an Excel date-time cell: local time without a zone
        value = value.strftime("%d/%m/%Y %H:%M")
    return check_datetime(cell_text(value), timezone=timezone, not_before=_EPOCH)


def parse_event(record: dict[str, Any], timezone: str) -> dict[str, Any]:
    ref = load_reference()

    field = RowFields(record)

    def required(value: Any) -> str:
        return RowFields.required(value, 2000)

    def one_of(value: Any, choices: list[Choice], reason: str) -> str:
        found = match_choice(required(value), choices)
        if found is None:
            raise Invalid(reason)
        return found.id

    kinds = [Choice("training", "Tập huấn", ("training", "tap huan")), Choice("fair", "Hội chợ", ("fair", "hoi cho"))]
    groups = [Choice(g.code, g.vi, (g.en, g.code)) for g in ref.groups]

    def group_list(value: Any) -> list[str]:
        names = [part for part in cell_text(value).replace(";", ",").split(",") if part.strip()]
        return [one_of(name, groups, "import.unknown_group") for name in names]

    starts_at = field("event_start", lambda v: _when(required(v) if not isinstance(v, datetime) else v, timezone))
    ends_at = field("event_end", lambda v: _when(required(v) if not isinstance(v, datetime) else v, timezone))
    if ends_at <= starts_at:
        raise Invalid("import.end_before_start", {"column": "event_end"})
    deadline = field("event_deadline", lambda v: _when(v, timezone) if cell_text(v) else None)
    return {
        "kind": field("event_kind", lambda v: one_of(v, kinds, "import.unknown_event_kind")),
        "name": field("event_name", required)[:200], "place": field("event_place", required)[:300],
        "province_code": field("province", lambda v: province_cell(required(v))),
        "starts_at": starts_at, "ends_at": ends_at, "registration_deadline": deadline,
        "description": cell_text(record.get("event_description"))[:2000] or None,
        "audience_groups": field("event_groups", group_list),
    }


async def import_events(settings: Settings, path: Path) -> tuple[int, list[str], list[str]]:
    lang = settings.default_language
    rows = read_rows(path, lang, COLUMNS, REQUIRED)
    good, errors = parsed_rows(rows, lambda record: parse_event(record, settings.timezone), lang)
    counts = tally(errors)
    announced = 0
    async with database(settings) as session:
        for values in good:
            existing = await find_event(session, kind=values["kind"], name=values["name"],
                                        province_code=values["province_code"], starts_at=values["starts_at"])
            if existing is None:
                event = await create_event(session, values, officer_id=None, actor_account_id=None)
                announced += await announce(session, event, settings.timezone)
                counts["created"] += 1
            elif await update_event(session, existing, values, actor_account_id=None):
                counts["updated"] += 1
            else:
                counts["unchanged"] += 1
    problems = error_lines(errors, lang)
    summary = t(lang, "cli.import_summary", created=counts["created"], updated=counts["updated"],
                unchanged=counts["unchanged"], rejected=counts["rejected"])
    return 0, [summary, t(lang, "cli.events_announced", count=announced)], problems
