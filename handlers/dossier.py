"""The officer's dossier of one application: what the producer sent, what happened, and what may be done next.

Every officer action ends back here, so the officer sees the result of what they did where they did it.
"""

from __future__ import annotations

from handlers import verification
from handlers.officer_access import checked_application
from handlers.types import Attachment, Context, Option, Reply
from messages import t
from storage import lifecycle
from storage.applications import list_documents
from storage.blobs import blob_path
from storage.models import Product, StoredFile
from storage.reference import load_reference
from storage.verification import is_verified

LIST, OPEN, ACT = "hoso:list:", "app:open:", "app:act:"
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
    lines = [t(lang, "officer.app_title", code=application.code, stage=t(lang, f"stage.{application.status}")),
             t(lang, "officer.app_producer", name=producer.name, entity=ref.label(producer.entity_type, lang),
               tax_code=producer.tax_code or "—", phone=producer.phone or "—")
             + ("" if is_verified(producer) else " · " + t(lang, "verify.unverified")),
             t(lang, "officer.app_address", address=producer.address or "", commune=producer.commune or "",
               province=ref.label(producer.province_code, lang)),
             t(lang, "officer.app_product", name=product.name, group=ref.label(product.group_code, lang),
               subgroup=ref.label(product.subgroup_code, lang)),
             product.description or ""]
    attachments: list[Attachment] = []
    for document in await list_documents(ctx.session, application.id):  # type: ignore[arg-type]
        name = ref.label(document.doc_code, lang) if document.doc_code != "product-photo" else t(lang, "field.photos")
        lines.append(f"• {name}: {t(lang, f'delivery.{document.delivery}')}")
        if document.file_id is not None:
            file = await ctx.session.get(StoredFile, document.file_id)
            if file is not None:
                attachments.append(Attachment(str(blob_path(ctx.data_dir, file.sha256, file.mime)), file.mime, name))
    if application.missing_items:
        lines.append(t(lang, "status.missing", items=", ".join(ref.label(c, lang) for c in application.missing_items)))
    options = [Option(f"{ACT}{application.id}:{action}", t(lang, f"officer.action.{action}"))
               for action in available_actions(application.status)]
    if not is_verified(producer):
        options.append(Option(f"{verification.OPEN}{producer.id}", t(lang, "verify.action.open")))
    options.append(Option(f"{LIST}{application.status}:0", t(lang, "officer.back_to_list")))
    return [Reply("\n".join(line for line in lines if line), attachments=tuple(attachments)),
            Reply(t(lang, "officer.pick_action"), options=tuple(options), inline=True)]


def available_actions(status: str) -> list[str]:
    actions = [a for a, target in SIMPLE_ACTIONS.items() if lifecycle.can_transition(status, target)]
    if lifecycle.can_transition(status, lifecycle.NEEDS_MORE):
        actions.append("request_more")
    if status in (lifecycle.COUNCIL_REVIEW, lifecycle.AWAITING_CENTRAL):
        actions.append("record_result")
    if lifecycle.can_transition(status, lifecycle.REJECTED):
        actions.append("reject")
    return actions
