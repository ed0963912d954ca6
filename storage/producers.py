"""Producer records (chủ thể OCOP)."""

from __future__ import annotations

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import ChatAccount, Producer, utcnow

PROFILE_FIELDS = ("entity_type", "name", "tax_code", "representative", "phone", "province_code",
                  "commune", "address")


async def get_producer(session: AsyncSession, producer_id: int | None) -> Producer | None:
    return await session.get(Producer, producer_id) if producer_id else None


async def tax_code_taken_by_other(session: AsyncSession, tax_code: str, producer_id: int | None) -> bool:
    row = (await session.exec(select(Producer.id).where(Producer.tax_code == tax_code))).first()
    return row is not None and row != producer_id


async def save_producer_profile(session: AsyncSession, account: ChatAccount, profile: dict) -> Producer:
    """Create the chat's producer from the profile answers, or update it; link it to the chat."""
    producer = await get_producer(session, account.producer_id)
    values = {k: profile.get(k) for k in PROFILE_FIELDS}
    if producer is None:
        producer = Producer(**values)
    else:
        for key, value in values.items():
            setattr(producer, key, value)
        producer.updated_at = utcnow()
    session.add(producer)
    await session.flush()
    account.producer_id = producer.id
    session.add(account)
    return producer


async def accounts_of_producer(session: AsyncSession, producer_id: int) -> list[ChatAccount]:
    return list(await session.exec(select(ChatAccount).where(ChatAccount.producer_id == producer_id)))


async def get_producer_by_tax_code(session: AsyncSession, tax_code: str) -> Producer | None:
    return (await session.exec(select(Producer).where(Producer.tax_code == tax_code.strip().upper()))).first()
