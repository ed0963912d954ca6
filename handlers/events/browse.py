"""Trainings (tập huấn) and fairs (hội chợ) as producers see them: what is coming, details, sign up, calendar."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from handlers.buttons import EventCalendar, EventJoin, EventKind, EventLeave, EventList, EventOpen, EventProvince
from handlers.events.admin import officer_event_view  # officers see the same event with their actions
from handlers.events.card import describe
from handlers.forms.matching import find_province
from handlers.types import Attachment, Context, Option, Reply, State
from messages import format_when, t
from storage.events import get_event, is_for, producer_groups, register, registration, unregister, upcoming
from storage.models import Event
from storage.officers import active_officer
from storage.producers import get_producer
from storage.reference import load_reference


def _kind(value: object) -> EventKind:
    """An event's kind, or a draft's, as the buttons name it (anything else reads as training)."""
    return "fair" if value == "fair" else "training"

HORIZON = timedelta(days=90)


async def list_events(ctx: Context, state: State, kind: EventKind) -> list[Reply]:
    """What is coming in the next 90 days for this producer's province and product groups (officers: all of
    their province's; a person not linked to a producer: all of the province they name, asked once)."""
    lang = ctx.lang
    officer = await active_officer(ctx.session, ctx.account, ctx.now)
    producer = await get_producer(ctx.session, ctx.account.producer_id)
    province = officer.province_code if officer else (producer.province_code if producer else
                                                      ctx.account.browse_province)
    if province is None:
        return ask_province(ctx, state, kind)
    events = await upcoming(ctx.session, kind=kind, province_code=province, start=ctx.now, end=ctx.now + HORIZON)
    if officer is None and producer is not None:
        groups = await producer_groups(ctx.session, producer.id)
        events = [e for e in events if is_for(e, province, groups)]
    browsing = officer is None and producer is None
    change = (Option(EventProvince(kind).id, t(lang, "event.change_province")),) if browsing else ()
    if not events:
        text = t(lang, f"event.none_{kind}_in", province=load_reference().label(province, lang)) if browsing \
            else t(lang, f"event.none_{kind}")
        return [Reply(text, options=change, inline=True)]
    lines = [t(lang, f"event.list_{kind}")]
    if browsing:
        lines.append(t(lang, "event.browsing", province=load_reference().label(province, lang)))
    options = []
    for number, event in enumerate(events, 1):
        lines.append(f"{number}. {format_when(lang, event.starts_at, ctx.timezone)} — {event.name} — {event.place}")
        options.append(Option(EventOpen(event.id).id, event.name[:40], number=number))
    return [Reply("\n".join(lines), options=(*options, *change), inline=True)]


def ask_province(ctx: Context, state: State, kind: EventKind) -> list[Reply]:
    state.data["_await"] = "browse_province"
    state.data["_browse_kind"] = kind
    return [Reply(t(ctx.lang, "event.ask_province"))]


async def answer_province(ctx: Context, state: State, text: str) -> list[Reply]:
    """The province a person not linked to a producer wants to see, by name (former names and spellings too)."""
    kind = _kind(state.data.get("_browse_kind"))
    province = find_province(text)
    if province is None:
        return [Reply(t(ctx.lang, "event.province_unknown"))]
    state.data.pop("_await", None)
    state.data.pop("_browse_kind", None)
    ctx.account.browse_province = province
    ctx.session.add(ctx.account)
    return await list_events(ctx, state, kind)


async def open_event(ctx: Context, event_id: int) -> list[Reply]:

    event = await get_event(ctx.session, event_id)
    if event is None:
        return [Reply(t(ctx.lang, "event.not_found"))]
    if await active_officer(ctx.session, ctx.account, ctx.now) is not None:
        return await officer_event_view(ctx, event)
    if not await _may_see(ctx, event):
        return [Reply(t(ctx.lang, "event.not_found"))]
    lang = ctx.lang
    row = await registration(ctx.session, event.id, ctx.account.id)
    registered = row is not None and row.cancelled_at is None
    lines = describe(ctx, event) + ([t(lang, "event.you_registered")] if registered else [])
    options = []
    if not event.cancelled_at:
        options.append(Option(EventLeave(event.id).id, t(lang, "event.leave")) if registered
                       else Option(EventJoin(event.id).id, t(lang, "event.join")))
        options.append(Option(EventCalendar(event.id).id, t(lang, "event.calendar")))
    options.append(Option(EventList(_kind(event.kind)).id, t(lang, "event.back")))
    return [Reply("\n".join(lines), options=tuple(options), inline=True)]


async def _may_see(ctx: Context, event: Event) -> bool:
    producer = await get_producer(ctx.session, ctx.account.producer_id)
    if producer is None:  # browsing a province: all of its events
        return event.province_code == ctx.account.browse_province
    return is_for(event, producer.province_code, await producer_groups(ctx.session, producer.id))


async def join(ctx: Context, event_id: int) -> list[Reply]:
    lang = ctx.lang
    event = await get_event(ctx.session, event_id)
    if event is None or not await _may_see(ctx, event):
        return [Reply(t(lang, "event.not_found"))]
    if event.cancelled_at is not None or event.starts_at <= ctx.now:
        return [Reply(t(lang, "event.closed"))]
    if event.registration_deadline is not None and event.registration_deadline < ctx.now:
        return [Reply(t(lang, "event.deadline_passed",
                        deadline=format_when(lang, event.registration_deadline, ctx.timezone)))]
    if not await register(ctx.session, event, ctx.account):
        return [Reply(t(lang, "event.already_registered"))]
    return [Reply(t(lang, "event.registered", name=event.name,
                    start=format_when(lang, event.starts_at, ctx.timezone)),
                  options=(Option(EventCalendar(event.id).id, t(lang, "event.calendar")),), inline=True)]


async def leave(ctx: Context, event_id: int) -> list[Reply]:
    event = await get_event(ctx.session, event_id)
    if event is None or not await unregister(ctx.session, event, ctx.account):
        return [Reply(t(ctx.lang, "event.not_registered"))]
    return [Reply(t(ctx.lang, "event.unregistered", name=event.name))]


async def calendar(ctx: Context, event_id: int) -> list[Reply]:
    event = await get_event(ctx.session, event_id)
    officer = await active_officer(ctx.session, ctx.account, ctx.now)
    if event is None or (officer is None and not await _may_see(ctx, event)):
        return [Reply(t(ctx.lang, "event.not_found"))]
    name = f"ocop-{event.kind}-{event.id}.ics"
    return [Reply(t(ctx.lang, "event.calendar_sent"),
                  attachments=(Attachment(name, "text/calendar", event.name, content=ics(event)),))]


def ics(event: Event) -> bytes:
    """An RFC 5545 calendar entry phones can add with one tap."""

    def stamp(value: datetime) -> str:
        return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")

    def text(value: str) -> str:
        return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")

    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//OCOP Bot//VI", "CALSCALE:GREGORIAN", "BEGIN:VEVENT",
             f"UID:ocop-event-{event.id}@ocop-bot", f"DTSTAMP:{stamp(event.updated_at)}",
             f"DTSTART:{stamp(event.starts_at)}", f"DTEND:{stamp(event.ends_at)}",
             f"SUMMARY:{text(event.name)}", f"LOCATION:{text(event.place)}"]
    if event.description:
        lines.append(f"DESCRIPTION:{text(event.description)}")
    lines += ["END:VEVENT", "END:VCALENDAR"]
    return ("\r\n".join(_fold(line) for line in lines) + "\r\n").encode()


def _fold(line: str) -> str:
    """Lines longer than 75 octets continue on the next line after a space (RFC 5545 §3.1)."""
    data = line.encode()
    if len(data) <= 75:
        return line
    parts: list[str] = []
    current = b""
    for char in line:
        encoded = char.encode()
        if len(current) + len(encoded) > (75 if not parts else 74):
            parts.append(current.decode())
            current = b""
        current += encoded
    parts.append(current.decode())
    return "\r\n ".join(parts)
