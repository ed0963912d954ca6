"""The officer's dossier of one application: what the producer sent, what happened, and what may be done next.

Every officer action ends back here, so the officer sees the result of what they did where they did it.
"""

from __future__ import annotations

from datetime import date, datetime

from handlers.buttons import ApplicationAct, ApplicationList, ClaimOpen
from handlers.officer.access import checked_application
from handlers.types import Attachment, Context, Option, Reply
from messages import certificate_stars, format_date, format_phone, t
from storage import lifecycle
from storage.applications import (
    certificate_held_before,
    certificate_of,
    latest_certificate,
    list_documents,
    newest_application_of_product,
)
from storage.blobs import blob_path
from storage.models import Application, ApplicationDocument, Certificate, Product, StoredFile
from storage.reference import load_reference
from storage.verification import is_verified

INVITE_REEVALUATION = "invite_reevaluation"
# The actions that need only a yes, and the status each leads to.
SIMPLE_ACTIONS = {"commune_check": lifecycle.COMMUNE_CHECKED, "to_council": lifecycle.COUNCIL_REVIEW}


async def open_application(ctx: Context, application_id: int) -> list[Reply]:
    checked = await checked_application(ctx, application_id)
    if isinstance(checked, Reply):
        return [checked]
    _, application, producer = checked
    lang, ref = ctx.lang, load_reference()
    product = await ctx.session.get(Product, application.product_id)
    assert product is not None
    today = ctx.today
    issued = await certificate_of(ctx.session, application)
    # As in the list: a recognised application whose certificate runs out reads "Sắp hết hạn", then "Hết hạn".
    stage = lifecycle.shown_stage(application.status, issued.valid_until if issued else None, today)
    lines = [t(lang, "officer.app_title", code=application.code, stage=t(lang, f"stage.{stage}")),
             await _certificate_line(ctx, application, issued, today),
             t(lang, "officer.app_producer", name=producer.name, entity=ref.label(producer.entity_type, lang),
               tax_code=producer.tax_code or "—", phone=format_phone(producer.phone))
             + ("" if is_verified(producer) else " · " + t(lang, "verify.unverified")),
             t(lang, "officer.app_address", address=", ".join(
                 part for part in (producer.address, producer.commune, ref.label(producer.province_code, lang))
                 if part)),
             t(lang, "officer.app_product", name=product.name, group=ref.label(product.group_code, lang),
               subgroup=" / ".join(ref.label(code, lang) for code in (product.subgroup_code, product.category_code)
                                   if code) or "—"),
             product.description or ""]
    documents = await list_documents(ctx.session, application.id)
    lines += document_lines(lang, documents, ctx.timezone)
    attachments: list[Attachment] = []
    for document in documents:
        file = await ctx.session.get(StoredFile, document.file_id) if document.file_id is not None else None
        if file is not None:
            attachments.append(Attachment(str(blob_path(ctx.data_dir, file.sha256, file.mime)), file.mime,
                                          _document_name(lang, document.doc_code)))
    if application.missing_items:
        lines.append(t(lang, "status.missing", items=", ".join(ref.label(c, lang) for c in application.missing_items)))
    due = await reevaluation_due(ctx, application)
    options = [Option(ApplicationAct(application.id, action).id, t(lang, f"officer.action.{action}"))
               for action in available_actions(application.status, reevaluation_due=due)]
    if not is_verified(producer):
        options.append(Option(ClaimOpen(producer.id).id, t(lang, "verify.action.open")))
    options.append(Option(ApplicationList(application.status, 0).id, t(lang, "officer.back_to_list")))
    return [Reply("\n".join(line for line in lines if line), attachments=tuple(attachments)),
            Reply(t(lang, "officer.pick_action"), options=tuple(options), inline=True)]


def _document_name(lang: str, code: str) -> str:
    return t(lang, "field.photos") if code == "product-photo" else load_reference().label(code, lang)


def document_lines(lang: str, documents: list[ApplicationDocument], tz: str) -> list[str]:
    """One line per document: how it stands now and since when, then what came before it (a skipped item later
    sent in a supplement), oldest last. The files of one sending are one entry, not a row each."""
    sendings: dict[str, list[tuple[str, datetime, int]]] = {}
    for document in documents:
        history = sendings.setdefault(document.doc_code, [])
        if history and (history[-1][0], history[-1][1]) == (document.delivery, document.added_at):
            history[-1] = (document.delivery, document.added_at, history[-1][2] + 1)
        else:
            history.append((document.delivery, document.added_at, 1))

    def shown(delivery: str, at: datetime, files: int) -> str:
        how = t(lang, "delivery.files", count=files) if delivery == "upload" else t(lang, f"delivery.{delivery}")
        return t(lang, "officer.doc_sending", delivery=how, date=format_date(at, tz))

    lines = []
    for code, history in sendings.items():
        latest, *earlier = sorted(history, key=lambda sending: sending[1], reverse=True)
        lines.append(t(lang, "officer.doc_line", name=_document_name(lang, code), sending=shown(*latest)))
        if earlier:
            lines.append(t(lang, "officer.doc_earlier", history="; ".join(shown(*sending) for sending in earlier)))
    return lines


async def _certificate_line(ctx: Context, application: Application, issued: Certificate | None, today: date) -> str:
    """A re-evaluation shows the certificate the product holds; a decided application the one it led to."""
    if application.kind == "reevaluation" and issued is None:
        held = await certificate_held_before(ctx.session, application)
        return t(ctx.lang, "officer.app_reevaluation",
                 certificate=certificate_summary(ctx.lang, held, today) if held else "—")
    return t(ctx.lang, "officer.app_certificate", certificate=certificate_summary(ctx.lang, issued, today)) \
        if issued else ""


def certificate_summary(lang: str, certificate: Certificate, today: date) -> str:
    """Stars, decision and validity; an expired certificate reads as expired, never as held."""
    days = (certificate.valid_until - today).days
    validity = t(lang, "officer.cert_valid", date=format_date(certificate.valid_until), days=days) if days >= 0 \
        else t(lang, "officer.cert_expired", date=format_date(certificate.valid_until))
    return t(lang, "officer.cert_summary", stars=certificate_stars(lang, certificate.stars, certificate.potential_five),
             number=certificate.decision_number, decided=format_date(certificate.decision_date), validity=validity)


async def reevaluation_due(ctx: Context, application: Application) -> bool:
    """The officer may invite a re-evaluation from a product's newest application once it is recognised (4★ awaiting
    the centre is still on its way) and its certificate runs out soon or has run out."""
    if application.status != lifecycle.RECOGNISED:
        return False
    newest = await newest_application_of_product(ctx.session, application.product_id)
    held = await latest_certificate(ctx.session, application.product_id)
    return (newest is not None and newest.id == application.id and held is not None
            and lifecycle.shown_stage(application.status, held.valid_until, ctx.today) in (lifecycle.EXPIRING,
                                                                                           lifecycle.EXPIRED))


def available_actions(status: str, *, reevaluation_due: bool = False) -> list[str]:
    actions = [a for a, target in SIMPLE_ACTIONS.items() if lifecycle.can_transition(status, target)]
    if lifecycle.can_transition(status, lifecycle.NEEDS_MORE):
        actions.append("request_more")
    if status in (lifecycle.COUNCIL_REVIEW, lifecycle.AWAITING_CENTRAL):
        actions.append("record_result")
    if lifecycle.can_transition(status, lifecycle.REJECTED):
        actions.append("reject")
    if reevaluation_due:
        actions.append(INVITE_REEVALUATION)
    return actions
