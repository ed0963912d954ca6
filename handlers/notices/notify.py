"""Telling people about a change they did not ask about: outbox rows, in each person's own language."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from handlers.buttons import ApplicationOpen
from handlers.notices.quiet import AWAKE
from handlers.types import Context
from messages import t
from storage.models import Application, ApplicationStatusChange, ChatAccount, Product
from storage.officers import officer_accounts_to_notify
from storage.outbox import enqueue
from storage.producers import accounts_of_producer, last_written_by_producer


async def when_told(ctx: Context, producer_id: int) -> str:
    """The sentence telling whoever caused a notice to the producer when it arrives: at once, or — in quiet hours,
    for a producer who has not written to the bot in the last hour — when the quiet hours end."""
    quiet = ctx.quiet
    if quiet is not None and quiet.holds(ctx.now):
        last = await last_written_by_producer(ctx.session, producer_id)
        if last is None or last < ctx.now - AWAKE:
            at, day = quiet.until(ctx.now)
            return t(ctx.lang, "told.producer_at", time=at, day=day, quiet=quiet.shown())
    return t(ctx.lang, "told.producer_now")


async def notify_producer(ctx: Context, application: Application, change: ApplicationStatusChange, key: str,
                          *, options: tuple[tuple[str, str], ...] = (),
                          params: Callable[[str], dict[str, Any]] = lambda _lang: {}) -> None:
    """One outbox row per chat of the producer, in its language, written in the same transaction as the change."""
    ctx.outbox_written = True
    product = await ctx.session.get(Product, application.product_id)
    for account in await accounts_of_producer(ctx.session, application.producer_id):
        lang = account.language
        text = t(lang, key, code=application.code, product=product.name if product else "", **params(lang))
        assert account.id is not None
        await enqueue(ctx.session, account_id=account.id, dedupe_key=f"app-status:{change.id}:{account.id}",
                      reason="application.status", text=text,
                      options=[{"id": option_id, "label": t(lang, label)} for option_id, label in options])


async def notify_officers(ctx: Context, province_code: str, application: Application, change: ApplicationStatusChange,
                          key: str) -> None:
    ctx.outbox_written = True
    product = await ctx.session.get(Product, application.product_id)
    for account in await officer_accounts_to_notify(ctx.session, province_code, ctx.now):
        account_id, lang = account.id, account.language
        await enqueue(ctx.session, account_id=account_id, dedupe_key=f"app-officer:{change.id}:{account_id}",
                      reason="application.officer", text=t(lang, key, code=application.code,
                                                            product=product.name if product else ""),
                      options=[{"id": ApplicationOpen(application.id).id, "label": t(lang, "officer.open")}])


async def notify_accounts(ctx: Context, accounts: list[ChatAccount], key: str, dedupe: str, *,
                          reason: str = "producer", options: tuple[tuple[str, str], ...] = (), **params: Any) -> int:
    """One outbox row per chat, each in its own language: for news about a person's record, not an application.
    Returns how many were new (the dedupe key keeps a second identical notice from going out)."""
    ctx.outbox_written = True
    added = 0
    for account in accounts:
        assert account.id is not None
        lang = account.language
        added += await enqueue(ctx.session, account_id=account.id, dedupe_key=f"{dedupe}:{account.id}", reason=reason,
                               text=t(lang, key, **params),
                               options=[{"id": option_id, "label": t(lang, label)} for option_id, label in options])
    return added
