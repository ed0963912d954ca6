"""Officers: producers whose profile was typed in chat and is not verified yet, each shown beside any verified
record it clashes with, to verify, merge into that record, or refuse its tax code."""

from __future__ import annotations

from typing import Any

from handlers.buttons import ClaimAct, ClaimAction, ClaimList, ClaimOpen
from handlers.forms import confirm
from handlers.notices.notify import notify_accounts, when_told
from handlers.officer.access import Scope, checked_producer, page_options, province_list, sees
from handlers.offices import whom_to_call
from handlers.types import Context, Option, Reply, State
from messages import format_date, format_phone, t
from storage.applications import list_producer_products
from storage.db import aware
from storage.producers import accounts_of_producer, get_producer
from storage.reference import load_reference
from storage.verification import (
    clashes_of,
    drop_claimed_tax_code,
    is_verified,
    merge_claim,
    unverified_in_province,
    verify_producer,
)

PAGE_SIZE = 8


@province_list
async def list_claims(ctx: Context, scope: Scope, offset: int = 0) -> list[Reply]:
    lang = ctx.lang
    offset = max(offset, 0)
    rows, total = await unverified_in_province(ctx.session, scope.province, offset=offset, limit=PAGE_SIZE)
    lines, options = [t(lang, "verify.list_title", province=scope.label, total=total)], []
    for number, producer in enumerate(rows, offset + 1):
        clash = any(is_verified(other) for other in await clashes_of(ctx.session, producer))
        lines.append(t(lang, "verify.list_line", number=str(number), name=producer.name,
                       tax_code=producer.tax_code or "—", clash=t(lang, "verify.clash_mark") if clash else ""))
        options.append(Option(ClaimOpen(producer.id).id, producer.name[:40], number=number))
    if not rows:
        lines.append(t(lang, "verify.list_empty"))
    options += page_options(lang, offset, total, PAGE_SIZE, lambda at: ClaimList(at).id)
    return [Reply("\n".join(lines), options=tuple(options), inline=True)]


async def _card(ctx: Context, producer_id: int, heading: str) -> str:
    producer = await get_producer(ctx.session, producer_id)
    assert producer is not None
    lang, ref = ctx.lang, load_reference()
    products = await list_producer_products(ctx.session, producer_id)
    chats = await accounts_of_producer(ctx.session, producer_id)
    state = (t(lang, "verify.verified", how=t(lang, f"verify.how.{producer.verified_how}"),
               date=format_date(aware(producer.verified_at), ctx.timezone))
             if producer.verified_at is not None else t(lang, "verify.unverified"))
    return t(lang, "verify.card", heading=heading, state=state, name=producer.name,
             entity=ref.label(producer.entity_type, lang), tax_code=producer.tax_code or "—",
             representative=producer.representative or "—", phone=format_phone(producer.phone),
             commune=producer.commune or "—", province=ref.label(producer.province_code, lang),
             products=len(products), chats=len(chats), created=format_date(aware(producer.created_at), ctx.timezone))


async def open_claim(ctx: Context, producer_id: int) -> list[Reply]:
    """The claim beside every record it may be: what the officer needs to decide, and the decisions."""
    checked = await checked_producer(ctx, producer_id)
    if isinstance(checked, Reply):
        return [checked]
    officer, producer = checked
    lang = ctx.lang
    if is_verified(producer):
        return [Reply(await _card(ctx, producer_id, t(lang, "verify.heading_listed")))]
    others = [other for other in await clashes_of(ctx.session, producer) if sees(officer, other.province_code)]
    texts = [await _card(ctx, producer_id, t(lang, "verify.heading_claim"))]
    options: list[Option] = []
    tax_holder = next((o for o in others if is_verified(o) and o.tax_code and o.tax_code == producer.tax_code), None)
    if tax_holder is None:
        options.append(Option(ClaimAct(producer_id, "verify", 0).id, t(lang, "verify.action.verify")))
    for other in others:
        texts.append(await _card(ctx, other.id, t(lang, "verify.heading_listed" if is_verified(other)
                                                  else "verify.heading_other_claim")))
        if is_verified(other):
            options.append(Option(ClaimAct(producer_id, "merge", other.id).id, t(lang, "verify.action.merge",
                                                                            name=other.name[:30])))
    if tax_holder is not None:
        options.append(Option(ClaimAct(producer_id, "refuse", 0).id, t(lang, "verify.action.refuse")))
    options.append(Option(ClaimList(0).id, t(lang, "verify.back")))
    return [Reply("\n\n".join(texts)), Reply(t(lang, "verify.pick"), options=tuple(options), inline=True)]


async def ask_confirm(ctx: Context, state: State, producer_id: int, action: ClaimAction, other_id: int) -> list[Reply]:
    checked = await checked_producer(ctx, producer_id)
    if isinstance(checked, Reply):
        return [checked]
    _, producer = checked
    other = await get_producer(ctx.session, other_id) if action == "merge" else None
    text = t(ctx.lang, f"verify.confirm.{action}", name=producer.name, other=other.name if other else "")
    payload = {"producer": producer_id, "action": action, "other": other_id}
    return [confirm.put(ctx, state, claim_confirmed.name, text, payload)]


@confirm.question("verify_confirm", no_key="verify.kept")
async def claim_confirmed(ctx: Context, state: State, pending: dict[str, Any]) -> list[Reply]:
    """A yes to verifying, merging or refusing a producer's claim."""
    lang = ctx.lang
    checked = await checked_producer(ctx, pending.get("producer"))  # again: a revoke or another officer since
    if isinstance(checked, Reply):
        return [checked]
    officer, claim = checked
    if is_verified(claim):
        return [Reply(t(lang, "verify.already"))]
    action, actor = pending["action"], ctx.account.id
    accounts = await accounts_of_producer(ctx.session, claim.id)
    if action == "verify":
        if not await verify_producer(ctx.session, claim, how="officer", actor_account_id=actor, now=ctx.now):
            return [Reply(t(lang, "verify.tax_code_held"))]
        await notify_accounts(ctx, accounts, "notice.producer_verified", f"verified:{claim.id}", name=claim.name)
        return [Reply(t(lang, "verify.done_verified", name=claim.name, told=await when_told(ctx, claim.id)))]
    if action == "merge":
        listed = await get_producer(ctx.session, pending.get("other"))
        if listed is None or not is_verified(listed) or not sees(officer, listed.province_code):
            return [Reply(t(lang, "officer.not_found"))]
        await merge_claim(ctx.session, claim, listed, actor_account_id=actor, how="officer")
        await notify_accounts(ctx, accounts, "notice.producer_merged", f"merged:{claim.id}", name=listed.name)
        return [Reply(t(lang, "verify.done_merged", name=listed.name, told=await when_told(ctx, claim.id)))]
    await drop_claimed_tax_code(ctx.session, claim, actor_account_id=actor)
    for account in accounts:  # each in its own language, with the office the person can call
        await notify_accounts(ctx, [account], "notice.producer_claim_refused", f"claim-refused:{claim.id}",
                              office=await whom_to_call(ctx, claim.province_code, account.language))
    return [Reply(t(lang, "verify.done_refused", name=claim.name))]
