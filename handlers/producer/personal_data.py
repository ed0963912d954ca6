"""Personal data: the notice and consent before the first personal detail is asked, `/dulieu` to see what the bot
holds, and a request to delete it, which goes to the province's officers (certificates are official records)."""

from __future__ import annotations

from typing import Any

from handlers.buttons import Consent, DeleteMyData
from handlers.forms import confirm
from handlers.forms.matching import Choice, match_choice
from handlers.forms.navigation import yes_no
from handlers.notices.notify import notify_accounts
from handlers.types import Context, Incoming, Option, Reply, State
from messages import format_date, format_phone, t
from storage.db import aware
from storage.officers import officer_accounts_to_notify
from storage.personal_data import held_data, record_consent, record_deletion_request
from storage.reference import load_reference

AGREE, DECLINE = Consent("yes").id, Consent("no").id


def ask_consent(ctx: Context, state: State, then: dict[str, Any]) -> list[Reply]:
    """The notice, and the question; `then` is what to open once they agree (kept in the chat's state)."""
    state.data["_await"] = "consent"
    state.data["_consent_then"] = then
    options = (Option(AGREE, t(ctx.lang, "consent.agree")), Option(DECLINE, t(ctx.lang, "consent.decline")))
    return [Reply(t(ctx.lang, "consent.notice"), options=options)]


def consent_answer(ctx: Context, inc: Incoming, text: str) -> bool | None:
    """Agreed (a tap, its number, its words, or a plain yes), declined, or not an answer yet."""
    if inc.choice in (AGREE, DECLINE):
        return inc.choice == AGREE
    choices = [Choice(AGREE, t(ctx.lang, "consent.agree"), ("dong y", "agree", "i agree", "ok", "dong y tiep tuc")),
               Choice(DECLINE, t(ctx.lang, "consent.decline"), ("khong dong y", "decline", "do not agree"))]
    picked = match_choice(text, choices) if text else None
    return picked.id == AGREE if picked else yes_no(None, text, ctx.lang)


async def answer(ctx: Context, state: State, inc: Incoming, text: str) -> tuple[bool, dict[str, Any]] | list[Reply]:
    """(True, what to open) once they agree, consent recorded with its time; otherwise the replies to send."""
    agreed = consent_answer(ctx, inc, text)
    if agreed is None:
        return [Reply(t(ctx.lang, "consent.unclear")), *ask_consent(ctx, state, state.data.get("_consent_then")
                                                                     or {})]
    state.data.pop("_await", None)
    then = state.data.pop("_consent_then", None) or {}
    if not agreed:
        return [Reply(t(ctx.lang, "consent.declined"))]
    await record_consent(ctx.session, ctx.account, ctx.now)
    return True, then


async def show_my_data(ctx: Context, *, in_form: bool = False) -> list[Reply]:
    """Everything held about the chat's own person; the deletion button only outside a form, where it works."""
    lang, ref = ctx.lang, load_reference()
    held = await held_data(ctx.session, ctx.account)
    account = held.account
    lines = [t(lang, "mydata.title"),
             t(lang, "mydata.account", channel=t(lang, f"mydata.channel.{account.channel}"),
               name=account.display_name or "—", language=t(lang, "language.name"),
               since=format_date(aware(account.created_at), ctx.timezone)),
             t(lang, "mydata.consent", date=format_date(aware(account.consented_at), ctx.timezone))
             if account.consented_at else t(lang, "mydata.no_consent")]
    producer = held.producer
    if producer is None:
        lines.append(t(lang, "mydata.no_producer"))
    else:
        lines.append(t(lang, "mydata.producer", name=producer.name, entity=ref.label(producer.entity_type, lang),
                       tax_code=producer.tax_code or "—", representative=producer.representative or "—",
                       phone=format_phone(producer.phone), address=", ".join(part for part in (
                           producer.address, producer.commune, ref.label(producer.province_code, lang)) if part)))
        for product, applications in held.products:
            codes = ", ".join(a.code or "" for a in applications if a.code) or "—"
            lines.append(t(lang, "mydata.product", name=product.name, applications=codes))
    if held.events:
        lines.append(t(lang, "mydata.events", names=", ".join(event.name for event in held.events)))
    off = [t(lang, f"prefs.kind_{kind}") for kind in account.reminder_optouts or []]
    lines.append(t(lang, "mydata.reminders_off", kinds=", ".join(off)) if off else t(lang, "mydata.reminders_on"))
    if held.push_subscriptions:
        lines.append(t(lang, "mydata.push", count=held.push_subscriptions))
    lines.append(t(lang, "mydata.uses"))
    if held.deletion_requested_at is not None:
        since = format_date(aware(held.deletion_requested_at), ctx.timezone)
        lines.append(t(lang, "mydata.deletion_pending", date=since))
        return [Reply("\n".join(lines))]
    if in_form:
        return [Reply("\n".join([*lines, t(lang, "mydata.delete_later")]))]
    return [Reply("\n".join(lines), options=(Option(DeleteMyData().id, t(lang, "mydata.delete")),), inline=True)]


def ask_delete(ctx: Context, state: State) -> list[Reply]:
    return [confirm.put(ctx, state, deletion_confirmed.name, t(ctx.lang, "mydata.delete_confirm"))]


@confirm.question("data_delete", no_key="mydata.delete_kept")
async def deletion_confirmed(ctx: Context, state: State, _pending: dict[str, Any]) -> list[Reply]:
    """Yes, delete my data: the request is recorded and the province's officers are told."""
    await record_deletion_request(ctx.session, ctx.account, ctx.now)
    producer = (await held_data(ctx.session, ctx.account)).producer
    if producer is None:
        return [Reply(t(ctx.lang, "mydata.delete_sent_operator"))]
    accounts = await officer_accounts_to_notify(ctx.session, producer.province_code, ctx.now)
    await notify_accounts(ctx, accounts, "notice.deletion_requested",
                          f"deletion:{ctx.account.id}:{ctx.now:%Y%m%d%H%M%S}", name=producer.name,
                          tax_code=producer.tax_code or "—", channel=ctx.account.channel,
                          date=format_date(ctx.now, ctx.timezone))
    return [Reply(t(ctx.lang, "mydata.delete_sent"))]
