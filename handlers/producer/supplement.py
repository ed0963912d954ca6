"""A producer sending the documents an officer asked for: the dossier reopens at exactly those items."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from handlers.forms.steps import Form, Step
from handlers.notices.notify import notify_officers
from handlers.producer.registration import document_step, dossier_items
from handlers.types import Context, Reply
from messages import t
from storage import lifecycle
from storage.applications import TransitionNotAllowed, add_documents, change_status, get_application
from storage.models import Application, Product
from storage.producers import get_producer
from storage.reference import load_reference


class SupplementForm(Form):
    name = "supplement"
    sections = ("dossier",)
    review_title, submit_label, cancel_prompt = "supplement.review_title", "nav.send", "supplement.cancel_confirm"

    def steps(self, data: Mapping[str, Any]) -> list[Step]:
        wanted = set(data.get("_items") or ["evidence"])
        # What the officer asked for is what is missing: none of it may be skipped, optional or not.
        return [document_step(doc, optional=False)
                for doc in load_reference().documents_for(data.get("_group"), data.get("_kind", "new"))
                if doc.code in wanted]

    async def submit(self, ctx: Context, data: dict[str, Any]) -> list[Reply]:
        application = await owned_application(ctx, data.get("_app"))
        if application is None or application.status != lifecycle.NEEDS_MORE:
            return [Reply(t(ctx.lang, "supplement.not_needed"))]
        await add_documents(ctx.session, application, dossier_items(self.steps(data), data))
        application.missing_items = []
        try:
            change = await change_status(ctx.session, application, lifecycle.SUBMITTED,
                                         actor_account_id=ctx.account.id, note="supplement")
        except TransitionNotAllowed:
            return [Reply(t(ctx.lang, "supplement.not_needed"))]
        producer = await get_producer(ctx.session, application.producer_id)
        if producer is not None:
            await notify_officers(ctx, producer.province_code, application, change, "notice.officer_supplemented")
        return [Reply(t(ctx.lang, "supplement.sent", code=application.code))]


async def owned_application(ctx: Context, application_id: Any) -> Application | None:
    """The application when it belongs to this chat's producer; None for anybody else's (or a forged id)."""
    if not isinstance(application_id, int) or ctx.account.producer_id is None:
        return None
    application = await get_application(ctx.session, application_id)
    return application if application and application.producer_id == ctx.account.producer_id else None


async def start_supplement(ctx: Context, application_id: int) -> dict[str, Any] | None:
    """The preset for the supplement form, or None when there is nothing to send for this application."""
    application = await owned_application(ctx, application_id)
    if application is None or application.status != lifecycle.NEEDS_MORE:
        return None
    product = await ctx.session.get(Product, application.product_id)
    return {"_app": application.id, "_items": list(application.missing_items),
            "_group": product.group_code if product else None, "_kind": application.kind}


SUPPLEMENT = SupplementForm()
