"""Personal data as the law asks (Decree 13/2023/NĐ-CP; the Personal Data Protection Law from 1/1/2026): consent
recorded with its time, everything held about a person gathered for them to see, and their deletion requests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.audit import record_event
from storage.models import (
    Application,
    AuditEvent,
    ChatAccount,
    Event,
    EventRegistration,
    Producer,
    Product,
    WebPushSubscription,
)

# The notice a person agreed to; a new text gets a new version, and the audit event says which one was shown.
CONSENT_VERSION = "2026-01"


def has_consented(account: ChatAccount) -> bool:
    return account.consented_at is not None


async def record_consent(session: AsyncSession, account: ChatAccount, now: datetime) -> None:
    account.consented_at, account.consent_version = now, CONSENT_VERSION
    session.add(account)
    await record_event(session, actor_account_id=account.id, action="consent.given", subject_type="chat_account",
                       subject_id=str(account.id), details={"version": CONSENT_VERSION}, at=now)


@dataclass
class HeldData:
    """Everything the bot keeps about one chat's person."""

    account: ChatAccount
    producer: Producer | None
    products: list[tuple[Product, list[Application]]] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    push_subscriptions: int = 0
    deletion_requested_at: datetime | None = None


async def held_data(session: AsyncSession, account: ChatAccount) -> HeldData:
    producer = await session.get(Producer, account.producer_id) if account.producer_id else None
    held = HeldData(account, producer)
    if producer is not None:
        products = await session.exec(select(Product).where(Product.producer_id == producer.id)
                                       .order_by(col(Product.id)))
        for product in products:
            applications = await session.exec(select(Application).where(Application.product_id == product.id)
                                               .order_by(col(Application.id)))
            held.products.append((product, list(applications)))
    held.events = list(await session.exec(
        select(Event).join(EventRegistration, col(EventRegistration.event_id) == Event.id)
        .where(EventRegistration.account_id == account.id, col(EventRegistration.cancelled_at).is_(None))
        .order_by(col(Event.starts_at))))
    held.push_subscriptions = len(list(await session.exec(
        select(WebPushSubscription.id).where(WebPushSubscription.account_id == account.id))))
    held.deletion_requested_at = (await session.exec(
        select(AuditEvent.at).where(AuditEvent.action == "data.deletion_requested",
                                    AuditEvent.actor_account_id == account.id).order_by(col(AuditEvent.at).desc())
    )).first()
    return held


async def record_deletion_request(session: AsyncSession, account: ChatAccount, now: datetime) -> None:
    await record_event(session, actor_account_id=account.id, action="data.deletion_requested",
                       subject_type="producer" if account.producer_id else "chat_account",
                       subject_id=str(account.producer_id or account.id), at=now)
