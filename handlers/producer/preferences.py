"""/nhacnho: which reminders a person gets. Certificate reminders stay on; each one can be snoozed once."""

from __future__ import annotations

from datetime import timedelta

from handlers.buttons import Snooze, ToggleReminder, parse
from handlers.types import Context, Option, Reply
from messages import format_date, t
from storage.outbox import enqueue, message_by_key

OPTIONAL = ("training", "fair", "draft")
SNOOZE_FOR = timedelta(days=7)


def show(ctx: Context) -> list[Reply]:
    lang, off = ctx.lang, set(ctx.account.reminder_optouts or [])
    lines = [t(lang, "prefs.title")]
    options = []
    for kind in OPTIONAL:
        state = t(lang, "prefs.off") if kind in off else t(lang, "prefs.on")
        lines.append(f"• {t(lang, f'prefs.kind_{kind}')}: {state}")
        options.append(Option(ToggleReminder(kind).id, t(lang, "prefs.turn_on" if kind in off else "prefs.turn_off",
                                                   kind=t(lang, f"prefs.kind_{kind}"))))
    lines.append(t(lang, "prefs.certificates"))
    return [Reply("\n".join(lines), options=tuple(options), inline=True)]


def notifications(ctx: Context) -> list[Reply]:
    """/nhanthongbao (a producer's /thongbao): on the web page, whether the phone shows notices while the page is
    closed, turned on or off there (the page knows its browser's state); in a Telegram or Zalo chat notices come in
    the chat already. Then which reminders."""
    if ctx.account.channel == "web":
        return [Reply(t(ctx.lang, "prefs.push_on_page"), push_settings=True), *show(ctx)]
    return [Reply(t(ctx.lang, "prefs.push_in_chat")), *show(ctx)]


def toggle(ctx: Context, kind: str) -> list[Reply]:
    if kind not in OPTIONAL:
        return [Reply(t(ctx.lang, "error.stale_button"))]
    off = set(ctx.account.reminder_optouts or [])
    off ^= {kind}
    ctx.account.reminder_optouts = sorted(off)
    ctx.session.add(ctx.account)
    return show(ctx)


async def snooze(ctx: Context, certificate_id: int, milestone: str) -> list[Reply]:
    """Send this certificate reminder again in 7 days: once (the copy's dedupe key says so)."""
    original = f"cert-expiry:{certificate_id}:{milestone}:{ctx.account.id}"
    row = await message_by_key(ctx.session, original)
    if row is None:
        return [Reply(t(ctx.lang, "error.stale_button"))]
    due = ctx.now + SNOOZE_FOR
    added = await enqueue(ctx.session, account_id=ctx.account.id, dedupe_key=f"{original}:snoozed",
                          reason="cert-expiry", text=row.text, options=[o for o in row.options
                                                                        if not isinstance(parse(o["id"]), Snooze)],
                          due_at=due)
    key = "prefs.snoozed" if added else "prefs.snoozed_already"
    return [Reply(t(ctx.lang, key, date=format_date(due, ctx.timezone)))]
