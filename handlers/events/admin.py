"""Officers adding, changing and cancelling trainings and fairs, and seeing who signed up."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.buttons import EventCancel, EventEdit, EventOpen, EventPeople
from handlers.events.card import describe
from handlers.forms import engine as forms
from handlers.forms.matching import Choice
from handlers.forms.navigation import yes_no_options
from handlers.forms.steps import Form, Kind, Step
from handlers.forms.validators import Invalid, check_datetime, check_text
from handlers.officer.access import acting_officer, officer_with, sees
from handlers.officer.workbook import append_row
from handlers.types import Attachment, Context, Option, Reply, State
from messages import format_when, t
from storage.events import audience, cancel_event, create_event, get_event, registrants, update_event
from storage.models import Event
from storage.outbox import enqueue
from storage.reference import load_reference


def _step(id: str, kind: Kind, **kw: Any) -> Step:
    return Step(id=id, kind=kind, section="event", prompt=f"ask.{id}", label=f"field.{id}", help=f"help.{id}", **kw)


def _when(earliest_key: str | None = None) -> Callable[[str, dict[str, Any]], str]:
    def parse(text: str, data: dict[str, Any]) -> str:
        earliest = datetime.fromisoformat(data[earliest_key]) if earliest_key and data.get(earliest_key) else \
            datetime.fromisoformat(data["_now"])
        return check_datetime(text, timezone=data["_tz"], not_before=earliest,
                              now=datetime.fromisoformat(data["_now"])).isoformat()
    return parse


def _show_when(lang: str, value: str, data: dict[str, Any]) -> str:
    return format_when(lang, datetime.fromisoformat(value), data.get("_tz", "Asia/Ho_Chi_Minh"))


def _deadline(text: str, data: dict[str, Any]) -> str:
    value = _when()(text, data)
    if data.get("event_start") and value > data["event_start"]:
        raise Invalid("error.deadline_after_start")
    return value


class EventForm(Form):
    name = "event"
    sections = ("event",)

    def steps(self, data: dict[str, Any]) -> list[Step]:
        groups = load_reference().groups
        return [
            _step("event_name", Kind.TEXT, parse=lambda text, _d: check_text(text, max_len=200)),
            _step("event_place", Kind.TEXT, parse=lambda text, _d: check_text(text, max_len=300)),
            _step("event_start", Kind.TEXT, parse=_when(), clears=("event_end",), show=_show_when),
            _step("event_end", Kind.TEXT, parse=_when("event_start"), show=_show_when),
            _step("event_deadline", Kind.TEXT, parse=_deadline, optional=True, show=_show_when),
            _step("event_description", Kind.TEXT, optional=True,
                  parse=lambda text, _d: check_text(text, max_len=2000, allow_emoji=True)),
            _step("event_audience", Kind.MULTI,
                  choices=lambda lang, _d: [Choice(g.code, g.label(lang), (g.vi, g.en)) for g in groups]),
        ]

    async def initial_data(self, ctx: Context) -> dict[str, Any]:
        return {"_now": ctx.now.isoformat(), "_tz": ctx.timezone}

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


async def _officers_event(ctx: Context, event_id: int) -> Event | Reply:
    checked = await officer_with(ctx, lambda: get_event(ctx.session, event_id), lambda e: e.province_code,
                                 not_found="event.not_found")
    return checked if isinstance(checked, Reply) else checked[1]


async def people(ctx: Context, event_id: int) -> list[Reply]:
    """Who signed up, and the same as a spreadsheet to print or forward."""
    event = await _officers_event(ctx, event_id)
    if isinstance(event, Reply):
        return [event]
    lang = ctx.lang
    rows = await registrants(ctx.session, event_id)
    lines = [t(lang, "event.people_title", name=event.name, count=len(rows))]
    from openpyxl import Workbook  # only officers exporting registrants need it; not loaded at start-up

    workbook = Workbook()
    sheet = workbook.active
    append_row(sheet, [t(lang, "column.producer_name"), t(lang, "column.phone"), t(lang, "column.commune")])
    for number, (account, producer) in enumerate(rows, 1):
        name = producer.name if producer else (account.display_name or account.chat_id)
        phone = producer.phone if producer else ""
        lines.append(f"{number}. {name} · {phone or '—'}")
        append_row(sheet, [name, phone, producer.commune if producer else ""])
    buffer = io.BytesIO()
    workbook.save(buffer)
    attachment = Attachment(f"dang-ky-{event.kind}-{event.id}.xlsx",
                            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", event.name,
                            content=buffer.getvalue())
    return [Reply("\n".join(lines), attachments=(attachment,) if rows else ())]


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
    state.data["_await"] = "event_cancel"
    state.data["_event_cancel"] = event.id
    options = yes_no_options(ctx.lang)
    return [Reply(t(ctx.lang, "event.cancel_confirm", name=event.name), options=options, inline=True)]


async def confirm_cancel(ctx: Context, state: State, answer: bool | None) -> list[Reply]:
    if answer is None:
        options = yes_no_options(ctx.lang)
        return [Reply(t(ctx.lang, "officer.yes_or_no"), options=options, inline=True)]
    event_id = state.data.pop("_event_cancel", None)
    state.data.pop("_await", None)
    if not answer:
        return [Reply(t(ctx.lang, "event.kept"))]
    event = await _officers_event(ctx, event_id)
    if isinstance(event, Reply):
        return [event]
    await cancel_event(ctx.session, event, actor_account_id=ctx.account.id)
    await _tell_registrants(ctx, event, "event.cancelled_notice", "cancelled")
    return [Reply(t(ctx.lang, "event.cancelled", name=event.name))]


EVENT_FORM = EventForm()
