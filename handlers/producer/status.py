"""'Where is my application, when does my certificate expire?' and the public lookup of recognised products."""

from __future__ import annotations

import re

from handlers.buttons import LookupMore, Reevaluate, StatusPage, Supplement
from handlers.forms.matching import fold
from handlers.offices import whom_to_call
from handlers.types import Context, Option, Reply, State
from messages import certificate_stars, format_date, format_phone, t
from storage import lifecycle
from storage.applications import find_recognised, get_application_by_code, latest_certificate, list_producer_products
from storage.chats import DRAFT_FLOWS
from storage.models import Application, Certificate, Product
from storage.officers import officers_of_province
from storage.offices import get_office
from storage.producers import get_producer
from storage.reference import load_reference

# Folded phrases that mean "how is my application doing?" in what producers actually type.
_QUESTIONS = ("trang thai", "tra cuu", "ho so cua toi", "den dau", "bao gio het han", "het han chua", "khi nao het han",
              "status", "my application", "when does", "expire")


_CODE = re.compile(r"\bOCOP-\d{4}-\d{6}\b", re.IGNORECASE)


def typed_code(text: str, *, alone: bool) -> str | None:
    """An application code in what was typed ("OCOP-2026-000123", "hồ sơ ocop-2026-000123 đến đâu rồi"). With
    `alone`, only when the code is the message, or the message asks about it: inside a form, a code written into
    a longer answer is part of that answer."""
    match = _CODE.search(text)
    if match is None:
        return None
    rest = (text[:match.start()] + text[match.end():]).strip(" .,:;?!")
    if alone and rest and not is_status_question(rest):
        return None
    return match.group(0).upper()


async def show_code(ctx: Context, state: State, code: str) -> list[Reply]:
    """The status card of the producer's own application with this code; nobody else's, not even whether it exists."""
    application = await get_application_by_code(ctx.session, code)
    producer_id = ctx.account.producer_id
    if application is None or producer_id is None or application.producer_id != producer_id:
        return [Reply(t(ctx.lang, "status.code_not_yours", code=code))]
    products = [product.id for product, _ in await list_producer_products(ctx.session, producer_id)]
    draft = 1 if state.flow in DRAFT_FLOWS and state.data.get("product_name") else 0
    return await show_status(ctx, state, draft + products.index(application.product_id))


def is_status_question(text: str) -> bool:
    folded = fold(text)
    return any(phrase in folded for phrase in _QUESTIONS)


async def show_status(ctx: Context, state: State, page: int = 0) -> list[Reply]:
    """One product per message, newest first, with buttons to page through the rest."""
    lang = ctx.lang
    producer = await get_producer(ctx.session, ctx.account.producer_id)
    draft = state.data.get("product_name") if state.flow in DRAFT_FLOWS else None
    if producer is None and not draft:
        return [Reply(t(lang, "status.not_linked", office=await whom_to_call(ctx)),
                      request_contact=t(lang, "nav.share_phone") if ctx.can_share_contact else None)]
    entries: list[tuple[Product | None, Application | None]] = [(None, None)] if draft else []
    if producer is not None:
        entries += await list_producer_products(ctx.session, producer.id)
    if not entries:  # in a form, "choose register to start" would send them away from the one they are filling in
        return [Reply(t(lang, "status.none_in_form" if state.flow in DRAFT_FLOWS else "status.none"))]
    page = min(max(page, 0), len(entries) - 1)
    product, application = entries[page]
    if product is None:
        card = "\n".join([t(lang, "status.title", product=draft, index=page + 1, total=len(entries)),
                          t(lang, "status.stage", stage=t(lang, "stage.draft")),
                          t(lang, "status.next", text=t(lang, "next.draft"))])
        return [Reply(card, options=_pager(lang, page, len(entries)), inline=True)]
    certificate = await latest_certificate(ctx.session, product.id)
    status = application.status if application else lifecycle.RECOGNISED
    stage = lifecycle.shown_stage(status, certificate.valid_until if certificate else None, ctx.today)
    lines = await _card(ctx, product, application, certificate, stage, page, len(entries))
    options = list(_pager(lang, page, len(entries)))
    if application is not None and application.status == lifecycle.NEEDS_MORE:
        options.insert(0, Option(Supplement(application.id).id, t(lang, "status.supplement")))
    if stage in (lifecycle.EXPIRING, lifecycle.EXPIRED):  # where the card advises re-evaluating, the button is there
        options.insert(0, Option(Reevaluate(product.id).id, t(lang, "reminder.reevaluate")))
    return [Reply("\n".join(lines), options=tuple(options), inline=True)]


async def _card(ctx: Context, product: Product, application: Application | None, certificate: Certificate | None,
                stage: str, index: int, total: int) -> list[str]:
    lang, ref = ctx.lang, load_reference()
    today = ctx.today
    lines = [t(lang, "status.title", product=product.name, index=index + 1, total=total)]
    if application is not None and application.code:
        lines.append(t(lang, "status.code", code=application.code))
    lines.append(t(lang, "status.stage", stage=t(lang, f"stage.{stage}")))
    if certificate is not None:
        shown = certificate_stars(lang, certificate.stars, certificate.potential_five)
        lines.append(t(lang, "status.stars", stars=shown))
        lines.append(t(lang, "status.decision", number=certificate.decision_number,
                       date=format_date(certificate.decision_date)))
        days = (certificate.valid_until - today).days
        key = "status.valid_until" if days >= 0 else "status.expired_on"
        lines.append(t(lang, key, date=format_date(certificate.valid_until), days=abs(days)))
    if application is not None and application.status == lifecycle.NEEDS_MORE:
        missing = ", ".join(ref.label(code, lang) for code in application.missing_items)
        lines.append(t(lang, "status.missing", items=missing or "—"))
        if application.request_note:
            lines.append(t(lang, "status.request_note", note=application.request_note))
    lines.append(t(lang, "status.next", text=t(lang, f"next.{stage}")))
    lines.append(await _contact(ctx, product))
    return lines


async def _contact(ctx: Context, product: Product) -> str:
    producer = await get_producer(ctx.session, product.producer_id)
    province = load_reference().province(producer.province_code if producer else None)
    province_name = province.vi if province else ""
    names = [o.name for o in await officers_of_province(ctx.session, producer.province_code)] if producer else []
    if names:
        line = t(ctx.lang, "status.contact_officers", province=province_name, names=", ".join(names[:3]))
    else:
        line = t(ctx.lang, "status.contact_commune", commune=(producer.commune if producer else "") or "",
                 province=province_name)
    office = await get_office(ctx.session, producer.province_code if producer else None)
    if office is None:
        return line
    return "\n".join([line, t(ctx.lang, "office.contact", name=office.name, phone=format_phone(office.phone),
                                 address=office.address)])


def _pager(lang: str, page: int, total: int) -> tuple[Option, ...]:
    options = []
    if page > 0:
        options.append(Option(StatusPage(page - 1).id, t(lang, "status.prev")))
    if page < total - 1:
        options.append(Option(StatusPage(page + 1).id, t(lang, "status.next_page")))
    return tuple(options)


LOOKUP_PAGE = 5


async def lookup(ctx: Context, state: State, query: str, offset: int = 0) -> list[Reply]:
    """Public facts of recognised products only: never phone, tax code, documents, drafts or rejections. A page at a
    time; the query waits in the chat's state for "more" (a button id cannot hold it)."""
    lang, ref = ctx.lang, load_reference()
    query = query.strip()[:100]
    if len(fold(query)) < 2:
        return [Reply(t(lang, "lookup.ask"))]
    offset = max(offset, 0)
    found, total = await find_recognised(ctx.session, query, offset=offset, limit=LOOKUP_PAGE)
    if not found:
        return [Reply(t(lang, "lookup.none", query=query))]
    today = ctx.today
    replies = []
    for product, certificate in found:
        producer = await get_producer(ctx.session, product.producer_id)
        province = ref.province(producer.province_code if producer else None)
        key = "lookup.result" if certificate.valid_until >= today else "lookup.result_expired"
        shown = certificate_stars(lang, certificate.stars, certificate.potential_five)
        replies.append(Reply(t(lang, key, product=product.name, stars=shown, producer=producer.name if producer else "",
                               commune=(producer.commune if producer else "") or "",
                               province=province.vi if province else "", number=certificate.decision_number,
                               date=format_date(certificate.decision_date),
                               valid_until=format_date(certificate.valid_until))))
    if offset + LOOKUP_PAGE < total:
        state.data["_lookup"] = query
        more = Option(LookupMore(offset + LOOKUP_PAGE).id, t(lang, "lookup.more"))
        replies.append(Reply(t(lang, "lookup.shown", first=offset + 1, last=offset + len(found), total=total),
                             options=(more,), inline=True))
    return replies


async def lookup_more(ctx: Context, state: State, offset: int) -> list[Reply]:
    query = state.data.get("_lookup")
    return await lookup(ctx, state, query, offset) if query else [Reply(t(ctx.lang, "lookup.ask"))]
