"""Producer records (chủ thể OCOP)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import lifecycle
from storage.audit import record_event
from storage.communes import commune
from storage.db import aware
from storage.models import Application, ChatAccount, ConversationState, Producer, utcnow

PROFILE_FIELDS = ("entity_type", "name", "tax_code", "representative", "phone", "province_code",
                  "commune_code", "address")


async def get_producer(session: AsyncSession, producer_id: int | None) -> Producer | None:
    return await session.get(Producer, producer_id) if producer_id else None


async def producer_named(session: AsyncSession, name: str) -> Producer | None:
    return (await session.exec(select(Producer).where(Producer.name == name))).first()


async def tax_code_taken_by_other(session: AsyncSession, tax_code: str, producer_id: int | None) -> bool:
    """Held by another *verified* producer. Another chat's unverified claim does not count: a stranger who typed a
    real business's tax code first must not lock its owner out."""
    query = select(Producer.id).where(Producer.tax_code == tax_code, col(Producer.verified_at).is_not(None))
    row = (await session.exec(query)).first()
    return row is not None and row != producer_id


async def save_producer_profile(session: AsyncSession, account: ChatAccount, profile: dict[str, Any]) -> Producer:
    """Create the chat's producer from the profile answers, or update it; link it to the chat. Either leaves an
    audit event with what changed, old and new, so an officer can see who changed a record and how."""
    producer = await get_producer(session, account.producer_id)
    values: dict[str, Any] = {k: profile.get(k) for k in PROFILE_FIELDS}
    chosen = commune(values["commune_code"])  # a code picked from the official list; its name goes with it
    values["commune_code"] = chosen.code if chosen else None
    if chosen is not None or "commune" in profile:
        values["commune"] = chosen.name if chosen else profile.get("commune")
    if producer is None:
        producer = Producer(**values)
        action, changes = "producer.created", {key: [None, value] for key, value in values.items() if value}
    else:
        changes = {key: [getattr(producer, key), value] for key, value in values.items()
                   if getattr(producer, key) != value}
        for key, value in values.items():
            setattr(producer, key, value)
        producer.updated_at = utcnow()
        action = "producer.changed"
    session.add(producer)
    await session.flush()
    account.producer_id = producer.id
    session.add(account)
    if changes:
        await record_event(session, actor_account_id=account.id, action=action, subject_type="producer",
                           subject_id=str(producer.id), details={"changes": changes})
    return producer


async def has_open_application(session: AsyncSession, producer_id: int) -> bool:
    """An application still on its way (submitted, not yet recognised or rejected)."""
    query = select(Application.id).where(Application.producer_id == producer_id,
                                         col(Application.status).in_(lifecycle.OPEN_STATUSES))
    return (await session.exec(query)).first() is not None


async def accounts_of_producer(session: AsyncSession, producer_id: int) -> list[ChatAccount]:
    return list(await session.exec(select(ChatAccount).where(ChatAccount.producer_id == producer_id)))


async def last_written_by_producer(session: AsyncSession, producer_id: int) -> datetime | None:
    """When any chat of the producer last wrote to the bot (its conversation's last step)."""
    query = (select(func.max(ConversationState.updated_at))
             .join(ChatAccount, col(ChatAccount.id) == ConversationState.account_id)
             .where(ChatAccount.producer_id == producer_id))
    last = (await session.exec(query)).one()
    return aware(last) if last is not None else None


async def get_producer_by_tax_code(session: AsyncSession, tax_code: str) -> Producer | None:
    """The verified record with this tax code, else the oldest claim of it."""
    query = select(Producer).where(Producer.tax_code == tax_code.strip().upper())
    return (await session.exec(query.order_by(col(Producer.verified_at).is_(None), col(Producer.id)))).first()
