"""The one check every officer action goes through: an active officer, and an application they may see."""

from __future__ import annotations

from handlers.types import Context, Reply
from messages import t
from storage.applications import get_application
from storage.models import Application, Officer, Producer
from storage.officers import active_officer
from storage.producers import get_producer


def sees(officer: Officer, province_code: str) -> bool:
    return officer.is_admin or officer.province_code == province_code


Checked = tuple[Officer, Application, Producer]


async def checked_application(ctx: Context, application_id: int | None) -> Checked | Reply:
    """The officer, the application and its producer, or the refusal to send instead."""
    officer = await active_officer(ctx.session, ctx.account, ctx.now)
    if officer is None:
        return Reply(t(ctx.lang, "officer.not_allowed"))
    application = await get_application(ctx.session, application_id) if application_id else None
    producer = await get_producer(ctx.session, application.producer_id) if application else None
    if application is None or producer is None or not sees(officer, producer.province_code):
        return Reply(t(ctx.lang, "officer.not_found"))
    return officer, application, producer


async def checked_producer(ctx: Context, producer_id: int | None) -> tuple[Officer, Producer] | Reply:
    """The officer and a producer of a province they may see, or the refusal to send instead."""
    officer = await active_officer(ctx.session, ctx.account, ctx.now)
    if officer is None:
        return Reply(t(ctx.lang, "officer.not_allowed"))
    producer = await get_producer(ctx.session, producer_id)
    if producer is None or not sees(officer, producer.province_code):
        return Reply(t(ctx.lang, "officer.not_found"))
    return officer, producer
