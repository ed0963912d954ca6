"""Officers adding, changing and cancelling trainings and fairs, and seeing who signed up."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.buttons import EventCancel, EventEdit, EventOpen, EventPeople
from handlers.events.card import describe
from handlers.forms import confirm
from handlers.forms import engine as forms
from handlers.forms import steps as ask
from handlers.forms.answers import Answers
from handlers.forms.matching import Choice
from handlers.forms.steps import Form
from handlers.forms.validators import Invalid, free_text, future_time
from handlers.officer.access import acting_officer, after_commit, officer_with, sees
from handlers.officer.workbook import append_row
from handlers.types import Attachment, Context, Option, Reply, State
from handlers.worker import in_worker
from messages import format_when, t
from storage.events import audience, cancel_event, create_event, get_event, registrants, update_event
from storage.models import Event
from storage.outbox import enqueue
from storage.reference import load_reference

SECTION = "event"


def _deadline(text: str, answers: Answers) -> str:
    """Registration closes from now on, and no later than the event starts."""
    value: str = future_time()(text, answers)
    if answers.get("event_start") and value > answers["event_start"]:
        raise Invalid("error.deadline_after_start")
    return value


def _groups(answers: Answers) -> list[Choice]:
    return [Choice(g.code, g.label(answers.lang), (g.vi, g.en)) for g in load_reference().groups]


_EVENT_STEPS = (
    ask.text("event_name", SECTION, parse=free_text(200)),
    ask.text("event_place", SECTION, parse=free_text(300)),
    ask.moment("event_start", SECTION, clears=("event_end",)),
    ask.moment("event_end", SECTION, parse=future_time(after="event_start")),
    ask.moment("event_deadline", SECTION, parse=_deadline, optional=True),
    ask.text("event_description", SECTION, parse=free_text(2000, emoji=True), optional=True),
    ask.multi("event_audience", SECTION, choices=_groups),
)


class EventForm(Form):
    name = "event"
    sections = ("event",)
    questions = _EVENT_STEPS

    async def submit(self, ctx: Context, data: dict[str, Any]) -> list[Reply]:
        officer = await acting_officer(ctx)  # checked again at the confirm
        if isinstance(officer, Reply):
            return [officer]
        values = {"name": data["event_name"], "place": data["event_place"],
                  "starts_at": datetime.fromisoformat(data["event_start"]),
                  "ends_at": datetime.fromisoformat(data["event_end"]),
                  "registration_deadline": datetime.fromisoformat(data["event_deadline"])
                  if data.get("event_deadline") else None,
                  "description": data.get("event_description"), "audience_groups": list(data["event_audience"])}
        if data.get("_event"):
            event = await get_event(ctx.session, data["_event"])
            if event is None or not sees(officer, event.province_code):
                return [Reply(t(ctx.lang, "event.not_found"))]
            if await update_event(ctx.session, event, values, actor_account_id=ctx.account.id):
                await _tell_registrants(ctx, event, "event.changed_notice", f"changed-{event.updated_at.isoformat()}")
            return [Reply(t(ctx.lang, "event.saved", name=event.name))]
        where = {"kind": data["_kind"], "province_code": officer.province_code}
        event = await create_event(ctx.session, values | where, officer_id=officer.id, actor_account_id=ctx.account.id)
        count = await announce(ctx.session, event, ctx.timezone)
        ctx.outbox_written = ctx.outbox_written or count > 0
        return [Reply(t(ctx.lang, "event.created", name=event.name, count=count))]


async def announce(session: AsyncSession, event: Event, timezone: str) -> int:
    """Tell the event's audience, in the same transaction that created it (chat form or import)."""
    count = 0
    for account in await audience(session, event):
        lang = account.language
        text = t(lang, f"event.announce_{event.kind}", name=event.name,
                 start=format_when(lang, event.starts_at, timezone), place=event.place)
        options = [{"id": EventOpen(event.id).id, "label": t(lang, "event.details")}]
        if await enqueue(session, account_id=account.id, reason=f"{event.kind}.announce",
                         dedupe_key=f"{event.kind}.announce:{event.id}:{account.id}", text=text, options=options):
            count += 1
    return count


async def _tell_registrants(ctx: Context, event: Event, key: str, version: str) -> None:
    for account, _ in await registrants(ctx.session, event.id):
        lang = account.language
        text = t(lang, key, name=event.name, start=format_when(lang, event.starts_at, ctx.timezone),
                 place=event.place)
        await enqueue(ctx.session, account_id=account.id, reason=f"{event.kind}.changed",
                      dedupe_key=f"{event.kind}.{version}:{event.id}:{account.id}", text=text)
        ctx.outbox_written = True


async def start_new(ctx: Context, state: State, kind: str) -> list[Reply]:
    officer = await acting_officer(ctx)
    if isinstance(officer, Reply):
        return [officer]
    return await forms.start(ctx, EVENT_FORM, state, {"_kind": kind})


async def officer_event_view(ctx: Context, event: Event) -> list[Reply]:
    lang = ctx.lang
    officer = await acting_officer(ctx, event.province_code, not_found="event.not_found")
    if isinstance(officer, Reply):
        return [Reply(t(lang, "event.not_found"))]
    people = await registrants(ctx.session, event.id)
    lines = describe(ctx, event) + [t(lang, "event.registrant_count", count=len(people))]
    options = [Option(EventPeople(event.id).id, t(lang, "event.people"))]
    if event.cancelled_at is None:
        options += [Option(EventEdit(event.id).id, t(lang, "event.edit")),
                    Option(EventCancel(event.id).id, t(lang, "event.cancel"))]
    return [Reply("\n".join(lines), options=tuple(options), inline=True)]


async def _officers_event(ctx: Context, event_id: int | None) -> Event | Reply:
    async def load() -> Event | None:  # an id kept in a conversation state may be missing after an upgrade
        return await get_event(ctx.session, event_id) if isinstance(event_id, int) else None

    checked = await officer_with(ctx, load, lambda e: e.province_code, not_found="event.not_found")
    return checked if isinstance(checked, Reply) else checked[1]


async def people(ctx: Context, event_id: int) -> list[Reply]:
    """Who signed up, and the same as a spreadsheet to print or forward."""
    event = await _officers_event(ctx, event_id)
    if isinstance(event, Reply):
        return [event]
    # A big fair's list and its workbook take a while: made once the step is committed, on a read connection.
    return [after_commit(ctx, _people, event)]


async def _people(ctx: Context, event: Event) -> list[Reply]:
    assert event.id is not None
    lang = ctx.lang
    rows = await registrants(ctx.session, event.id)
    lines = [t(lang, "event.people_title", name=event.name, count=len(rows))]
    table: list[list[Any]] = [[t(lang, "column.producer_name"), t(lang, "column.phone"), t(lang, "column.commune")]]
    for number, (account, producer) in enumerate(rows, 1):
        name = producer.name if producer else (account.display_name or account.chat_id)
        phone = producer.phone if producer else ""
        lines.append(f"{number}. {name} · {phone or '—'}")
        table.append([name, phone, producer.commune if producer else ""])
    content = await in_worker(spreadsheet, table)  # openpyxl's import and a big fair's rows: not on this process
    attachment = Attachment(f"dang-ky-{event.kind}-{event.id}.xlsx",
                            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", event.name,
                            content=content)
    return [Reply("\n".join(lines), attachments=(attachment,) if rows else ())]


def spreadsheet(table: list[list[Any]]) -> bytes:
    """An .xlsx of these rows (the first: the headings), made in the worker process."""
    from openpyxl import Workbook  # only officers exporting registrants need it; not loaded at start-up

    workbook = Workbook()
    sheet = workbook.active
    for row in table:
        append_row(sheet, row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


async def edit(ctx: Context, state: State, event_id: int) -> list[Reply]:
    event = await _officers_event(ctx, event_id)
    if isinstance(event, Reply):
        return [event]
    preset = {"_kind": event.kind, "_event": event.id, "event_name": event.name, "event_place": event.place,
              "event_start": event.starts_at.isoformat(), "event_end": event.ends_at.isoformat(),
              "event_deadline": event.registration_deadline.isoformat() if event.registration_deadline else None,
              "event_description": event.description, "event_audience": list(event.audience_groups)}
    return await forms.start(ctx, EVENT_FORM, state, preset)  # every answer filled: opens at the review


async def ask_cancel(ctx: Context, state: State, event_id: int) -> list[Reply]:
    event = await _officers_event(ctx, event_id)
    if isinstance(event, Reply):
        return [event]
    return [confirm.put(ctx, state, cancel_confirmed.name, t(ctx.lang, "event.cancel_confirm", name=event.name),
                        {"event": event.id})]


@confirm.question("event_cancel", no_key="event.kept")
async def cancel_confirmed(ctx: Context, state: State, pending: dict[str, Any]) -> list[Reply]:
    """Yes, cancel the event: its registrants are told."""
    event = await _officers_event(ctx, pending.get("event"))
    if isinstance(event, Reply):
        return [event]
    await cancel_event(ctx.session, event, actor_account_id=ctx.account.id)
    await _tell_registrants(ctx, event, "event.cancelled_notice", "cancelled")
    return [Reply(t(ctx.lang, "event.cancelled", name=event.name))]


EVENT_FORM = EventForm()
