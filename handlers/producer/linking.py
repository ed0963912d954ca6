"""Attaching a chat to a producer record the province already has: own phone contact, or a one-time code."""

from __future__ import annotations

from handlers import code_guard
from handlers.forms.validators import Invalid, normalize_phone
from handlers.offices import whom_to_call
from handlers.types import Context, Incoming, Reply
from messages import t
from storage.linking import link_account, producer_by_phone, redeem_link_code
from storage.producers import get_producer
from storage.verification import is_verified


async def link_by_contact(ctx: Context, inc: Incoming) -> list[Reply]:
    """A shared contact links the chat only when it is the sender's own and its phone is on a record."""
    lang = ctx.lang
    assert inc.contact is not None
    if inc.contact.user_id is None or inc.contact.user_id != inc.user_id:
        return [Reply(t(lang, "error.contact_not_yours"))]
    if await _linked_already(ctx):
        return [Reply(t(lang, "link.already"))]
    try:
        phone = normalize_phone(inc.contact.phone)
    except Invalid:
        return [Reply(t(lang, "link.no_match", office=await whom_to_call(ctx)))]
    producer = await producer_by_phone(ctx.session, phone, verified_only=True)
    if producer is None:
        return [Reply(t(lang, "link.no_match", office=await whom_to_call(ctx)))]
    await link_account(ctx.session, ctx.account, producer.id, how="contact")
    return [Reply(t(lang, "link.done", producer=producer.name))]


async def _linked_already(ctx: Context) -> bool:
    """Linked to a verified record. A chat holding only its own unverified claim may still link: the claim is
    merged into the record, so a stranger's claim never stands between an owner and their business."""
    producer = await get_producer(ctx.session, ctx.account.producer_id)
    return producer is not None and is_verified(producer)


async def link_by_code(ctx: Context, code: str) -> list[Reply]:
    lang = ctx.lang
    if not code.strip():
        return [Reply(t(lang, "link.ask_code"))]
    if await _linked_already(ctx):
        return [Reply(t(lang, "link.already"))]
    producer = await code_guard.redeem(ctx, "link", "link.bad_code",
                                       lambda: redeem_link_code(ctx.session, ctx.account, code, ctx.now),
                                       office=await whom_to_call(ctx))
    if isinstance(producer, Reply):
        return [producer]
    return [Reply(t(lang, "link.done", producer=producer.name))]
