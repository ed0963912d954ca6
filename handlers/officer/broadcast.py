"""/thongbao: an officer writes an announcement, picks its audience, previews it, tests it, sends or schedules it.

Every recipient becomes an outbox row, so rate limits, retries, quiet hours and blocked chats are handled as for
reminders, and a restart in the middle neither loses nor repeats anybody.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from handlers.buttons import BroadcastCancel, BroadcastNew, BroadcastTest
from handlers.forms import engine as forms
from handlers.forms import steps as ask
from handlers.forms.answers import Answers
from handlers.forms.matching import Choice, commune_choices, commune_name
from handlers.forms.steps import Form, Step
from handlers.forms.validators import day_count, free_text
from handlers.officer.access import acting_officer
from handlers.types import Context, Option, Reply, State
from messages import format_number, format_when, t
from storage import statuses
from storage.broadcasts import (
    Audience,
    audience_accounts,
    broadcast_figures,
    cancel_broadcast,
    create_broadcast,
    recent_broadcasts,
)
from storage.events import upcoming
from storage.models import Broadcast, Officer
from storage.officers import active_officer
from storage.outbox import enqueue
from storage.reference import load_reference

TEST = BroadcastTest().id
MAX_TEXT = 10_000  # split at paragraphs to each channel's limit when sent


SECTION = "broadcast"


def _search_communes(typed: str, answers: Answers) -> list[Choice]:
    """Communes of the provinces the broadcast goes to (an admin may write to several)."""
    provinces = answers.get("bc_provinces") or ([answers["_province"]] if answers.get("_province") else [])
    return commune_choices(provinces, typed)


def _show_communes(value: list[str], _answers: Answers) -> str:
    return ", ".join(commune_name(code) for code in value)


def _provinces(_answers: Answers) -> list[Choice]:
    return [Choice(p.code, p.vi, p.aliases) for p in load_reference().provinces]


def _groups(answers: Answers) -> list[Choice]:
    return [Choice(g.code, g.label(answers.lang), (g.vi, g.en)) for g in load_reference().groups]


def _stars(_answers: Answers) -> list[Choice]:
    return [Choice(str(n), "★" * n, (f"{n} sao", str(n))) for n in (3, 4, 5)]


def _events(answers: Answers) -> list[Choice]:
    return [Choice(str(e["id"]), e["name"]) for e in answers.get("_events") or ()]


def _when(answers: Answers) -> list[Choice]:
    lang = answers.lang
    return [Choice("now", t(lang, "broadcast.now")), Choice("later", t(lang, "broadcast.later"))]


_BROADCAST_STEPS = (
    ask.text("bc_text", SECTION, parse=free_text(MAX_TEXT, emoji=True)),
    ask.files("bc_file", SECTION, pdf=True, max_files=1, optional=True),
    ask.multi("bc_provinces", SECTION, choices=_provinces, when=lambda d: bool(d.get("_admin"))),
    ask.search("bc_communes", SECTION, find=_search_communes, several=True, show=_show_communes, optional=True),
    ask.multi("bc_groups", SECTION, choices=_groups),
    ask.multi("bc_stars", SECTION, choices=_stars),
    ask.text("bc_expiring", SECTION, parse=day_count, optional=True),
    # With no event to choose, the question would offer nothing but "skip".
    ask.choice("bc_event", SECTION, choices=_events, optional=True, when=lambda d: bool(d.get("_events"))),
    ask.choice("bc_when", SECTION, choices=_when),
    ask.moment("bc_at", SECTION, when=lambda d: d.get("bc_when") == "later"),
)


class BroadcastForm(Form):
    name = "broadcast"
    sections = ("broadcast",)
    review_title, submit_label, cancel_prompt = "broadcast.review_title", "broadcast.send", "officer.cancel_confirm"
    questions = _BROADCAST_STEPS

    async def initial_data(self, ctx: Context) -> dict[str, Any]:
        officer = await active_officer(ctx.session, ctx.account, ctx.now)
        province = officer.province_code if officer else None
        events = await upcoming(ctx.session, kind=None, province_code=None if officer and officer.is_admin
                                else province, start=ctx.now - timedelta(days=30), end=ctx.now + timedelta(days=365))
        return {"_admin": bool(officer and officer.is_admin),
                "_province": province,
                "_events": [{"id": e.id, "name": e.name[:60]} for e in events[:20]]}

    async def after_answer(self, ctx: Context, step: Step, data: dict[str, Any], typed: str) -> list[Reply]:
        if step.id in ("bc_text", "bc_file", "bc_at"):  # these do not change who receives it
            return []
        officer = await active_officer(ctx.session, ctx.account, ctx.now)
        if officer is not None:  # the count the review shows follows every change of the audience
            accounts = await audience_accounts(ctx.session, audience_of(officer, data), ctx.today)
            data["_count"] = len(accounts)
            data["_unreachable"] = sum(1 for a in accounts if a.unreachable_at is not None)
            data["_web"] = sum(1 for a in accounts if a.channel == "web" and a.unreachable_at is None)
        return []

    def review_notes(self, lang: str, data: dict[str, Any]) -> list[str]:
        return [t(lang, "broadcast.preview"), data.get("bc_text", ""), "",
                t(lang, "broadcast.count", count=format_number(lang, data.get("_count", 0)),
                  unreachable=format_number(lang, data.get("_unreachable", 0)),
                  web=format_number(lang, data.get("_web", 0)))]

    def extra_actions(self, lang: str) -> list[Option]:
        return [Option(TEST, t(lang, "broadcast.test"))]

    async def on_extra(self, ctx: Context, state: State, action: str) -> list[Reply]:
        """Send it to the officer alone, as producers will get it; nothing else changes."""
        data = state.data
        file_id = (data.get("bc_file") or [{}])[0].get("id")
        await enqueue(ctx.session, account_id=ctx.account.id, reason="broadcast.test",
                      dedupe_key=f"broadcast-test:{ctx.account.id}:{ctx.now.isoformat()}", text=data["bc_text"],
                      file_id=file_id)
        ctx.outbox_written = True
        return [Reply(t(ctx.lang, "broadcast.test_sent"))]

    async def submit(self, ctx: Context, data: dict[str, Any]) -> list[Reply]:
        officer = await acting_officer(ctx)  # again: a revocation meanwhile counts
        if isinstance(officer, Reply):
            return [officer]
        audience = audience_of(officer, data)
        recipients = [a for a in await audience_accounts(ctx.session, audience, ctx.today)
                      if a.unreachable_at is None]
        when = datetime.fromisoformat(data["bc_at"]) if data.get("bc_when") == "later" else ctx.now
        file_id = (data.get("bc_file") or [{}])[0].get("id")
        broadcast = await create_broadcast(ctx.session, officer_id=officer.id, account_id=ctx.account.id,
                                           text=data["bc_text"], file_id=file_id, audience=audience,
                                           recipients=recipients, scheduled_at=when)
        ctx.outbox_written = True
        if data.get("bc_when") == "later":
            return [Reply(t(ctx.lang, "broadcast.scheduled", id=broadcast.id, count=len(recipients),
                            at=format_when(ctx.lang, when, ctx.timezone)))]
        return [Reply(t(ctx.lang, "broadcast.queued", id=broadcast.id, count=len(recipients)))]


def audience_of(officer: Officer, data: dict[str, Any]) -> Audience:
    """Officers reach their own province only, whatever the draft says; admins the provinces they picked."""
    provinces = tuple(data.get("bc_provinces") or ()) if officer.is_admin else ()
    return Audience(provinces=provinces or (officer.province_code,),
                    communes=tuple(int(code) for code in data.get("bc_communes") or ()),
                    groups=tuple(data.get("bc_groups") or ()),
                    stars=tuple(int(s) for s in data.get("bc_stars") or ()),
                    expiring_within_days=data.get("bc_expiring"),
                    event_id=int(data["bc_event"]) if data.get("bc_event") else None)


async def overview(ctx: Context) -> list[Reply]:
    """/thongbao: past and scheduled broadcasts with their figures, and a button to write a new one."""
    lang = ctx.lang
    officer = await acting_officer(ctx)
    if isinstance(officer, Reply):
        return [officer]
    lines = [t(lang, "broadcast.list_title")]
    options = [Option(BroadcastNew().id, t(lang, "broadcast.new"))]
    for broadcast in await recent_broadcasts(ctx.session, None if officer.is_admin else officer.province_code):
        lines.append(await figures_line(ctx, broadcast))
        if broadcast.status in statuses.BROADCAST_ACTIVE:
            options.append(Option(BroadcastCancel(broadcast.id).id, t(lang, "broadcast.cancel", id=broadcast.id)))
    if len(lines) == 1:
        lines.append(t(lang, "broadcast.none"))
    return [Reply("\n".join(lines), options=tuple(options), inline=True)]


async def figures_line(ctx: Context, broadcast: Broadcast) -> str:
    counts = await broadcast_figures(ctx.session, broadcast.id)
    lang = ctx.lang
    return t(lang, "broadcast.figures", id=broadcast.id, status=t(lang, f"broadcast.status_{broadcast.status}"),
             at=format_when(lang, broadcast.scheduled_at, ctx.timezone), sent=counts["delivered"],
             waiting=counts["waiting"],
             total=broadcast.recipients, failed=counts["failed"], blocked=counts["unreachable"],
             cancelled=counts["cancelled"], text=broadcast.text[:40].replace("\n", " "))


async def start(ctx: Context, state: State) -> list[Reply]:
    officer = await acting_officer(ctx)
    if isinstance(officer, Reply):
        return [officer]
    return await forms.start(ctx, BROADCAST_FORM, state)


async def cancel(ctx: Context, broadcast_id: int) -> list[Reply]:
    lang = ctx.lang
    officer = await acting_officer(ctx)
    if isinstance(officer, Reply):
        return [officer]
    broadcast = await ctx.session.get(Broadcast, broadcast_id)
    if broadcast is None or not (officer.is_admin or broadcast.officer_id == officer.id or
                                 officer.province_code in broadcast.audience.get("provinces", [])):
        return [Reply(t(lang, "broadcast.not_found"))]
    if broadcast.status not in statuses.BROADCAST_ACTIVE:
        return [Reply(t(lang, "broadcast.not_active", id=broadcast.id))]
    unsent = await cancel_broadcast(ctx.session, broadcast, actor_account_id=ctx.account.id)
    return [Reply(t(lang, "broadcast.cancelled", id=broadcast.id, unsent=unsent)),
            Reply(await figures_line(ctx, broadcast))]


BROADCAST_FORM = BroadcastForm()
