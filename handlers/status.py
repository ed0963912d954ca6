"""'Where is my application, when does my certificate expire?' and the public lookup of recognised products."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from handlers.matching import fold
from handlers.types import Context, Option, Reply, State
from messages import format_date, stars, t
from storage import lifecycle
from storage.applications import find_recognised, latest_certificate, list_producer_products
from storage.models import Application, Certificate, Product
from storage.officers import officers_of_province
from storage.producers import get_producer
from storage.reference import load_reference

PAGE = "status:page:"
SUPPLEMENT = "supp:"
# Folded phrases that mean "how is my application doing?" in what producers actually type.
_QUESTIONS = ("trang thai", "tra cuu", "ho so cua toi", "den dau", "bao gio het han", "het han chua", "khi nao het han",
              "status", "my application", "when does", "expire")


def is_status_question(text: str) -> bool:
    folded = fold(text)
    return any(phrase in folded for phrase in _QUESTIONS)


def local_today(ctx: Context) -> date:
    return ctx.now.astimezone(ZoneInfo(ctx.timezone)).date()


async def show_status(ctx: Context, state: State, page: int = 0) -> list[Reply]:
    """One product per message, newest first, with buttons to page through the rest."""
    lang = ctx.lang
    producer = await get_producer(ctx.session, ctx.account.producer_id)
    draft = state.data.get("product_name") if state.flow == "register" else None
    if producer is None and not draft:
        return [Reply(t(lang, "status.not_linked"), request_contact=t(lang, "nav.share_phone")
                      if ctx.can_share_contact else None)]
    entries: list[tuple[Product | None, Application | None]] = [(None, None)] if draft else []
    if producer is not None:
        entries += await list_producer_products(ctx.session, producer.id)  # type: ignore[arg-type]
    if not entries:
        return [Reply(t(lang, "status.none"))]
    page = min(max(page, 0), len(entries) - 1)
    product, application = entries[page]
    if product is None:
        card = "\n".join([t(lang, "status.title", product=draft, index=page + 1, total=len(entries)),
                          t(lang, "status.stage", stage=t(lang, "stage.draft")),
                          t(lang, "status.next", text=t(lang, "next.draft"))])
        return [Reply(card, options=_pager(lang, page, len(entries)), inline=True)]
    certificate = await latest_certificate(ctx.session, product.id)  # type: ignore[arg-type]
    lines = await _card(ctx, product, application, certificate, page, len(entries))
    options = list(_pager(lang, page, len(entries)))
    if application is not None and application.status == lifecycle.NEEDS_MORE:
        options.insert(0, Option(f"{SUPPLEMENT}{application.id}", t(lang, "status.supplement")))
    return [Reply("\n".join(lines), options=tuple(options), inline=True)]


async def _card(ctx: Context, product: Product, application: Application | None, certificate: Certificate | None,
                index: int, total: int) -> list[str]:
    lang, ref = ctx.lang, load_reference()
    today = local_today(ctx)
    status = application.status if application else lifecycle.RECOGNISED
    stage = lifecycle.shown_stage(status, certificate.valid_until if certificate else None, today)
    lines = [t(lang, "status.title", product=product.name, index=index + 1, total=total)]
    if application is not None and application.code:
        lines.append(t(lang, "status.code", code=application.code))
    lines.append(t(lang, "status.stage", stage=t(lang, f"stage.{stage}")))
    if certificate is not None:
        lines.append(t(lang, "status.stars", stars=stars(certificate.stars)))
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
        return t(ctx.lang, "status.contact_officers", province=province_name, names=", ".join(names[:3]))
    return t(ctx.lang, "status.contact_commune", commune=(producer.commune if producer else "") or "",
             province=province_name)


def _pager(lang: str, page: int, total: int) -> tuple[Option, ...]:
    options = []
    if page > 0:
        options.append(Option(f"{PAGE}{page - 1}", t(lang, "status.prev")))
    if page < total - 1:
        options.append(Option(f"{PAGE}{page + 1}", t(lang, "status.next_page")))
    return tuple(options)


async def lookup(ctx: Context, query: str) -> list[Reply]:
    """Public facts of recognised products only: never phone, tax code, documents, drafts or rejections."""
    lang, ref = ctx.lang, load_reference()
    query = query.strip()[:100]
    if len(fold(query)) < 2:
        return [Reply(t(lang, "lookup.ask"))]
    found = await find_recognised(ctx.session, query)
    if not found:
        return [Reply(t(lang, "lookup.none", query=query))]
    today = local_today(ctx)
    replies = []
    for product, certificate in found:
        producer = await get_producer(ctx.session, product.producer_id)
        province = ref.province(producer.province_code if producer else None)
        text = t(lang, "lookup.result", product=product.name, stars=stars(certificate.stars),
                 producer=producer.name if producer else "", commune=(producer.commune if producer else "") or "",
                 province=province.vi if province else "", number=certificate.decision_number,
                 date=format_date(certificate.decision_date), valid_until=format_date(certificate.valid_until))
        if certificate.valid_until < today:
            text += " " + t(lang, "lookup.expired")
        replies.append(Reply(text))
    return replies
