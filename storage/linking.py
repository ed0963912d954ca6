"""Linking a chat to a producer record that already exists (imported lists)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.audit import record_event
from storage.codes import hash_code, new_code
from storage.models import ChatAccount, LinkCode, Producer, utcnow


async def create_link_code(session: AsyncSession, producer: Producer, *, officer_id: int | None,
                           valid_for: timedelta) -> str:
    code = new_code(8)
    session.add(LinkCode(producer_id=producer.id, code_hash=hash_code(code), created_by_officer_id=officer_id,
                         expires_at=utcnow() + valid_for))
    return code


async def redeem_link_code(session: AsyncSession, account: ChatAccount, code: str, now: datetime) -> Producer | None:
    row = (await session.exec(select(LinkCode).where(LinkCode.code_hash == hash_code(code)))).first()
    if row is None or row.used_at is not None or row.expires_at <= now:
        return None
    row.used_at, row.used_by_account_id = now, account.id
    session.add(row)
    return await link_account(session, account, row.producer_id, how="code")


async def producer_by_phone(session: AsyncSession, phone: str) -> Producer | None:
    return (await session.exec(select(Producer).where(Producer.phone == phone))).first()


async def link_account(session: AsyncSession, account: ChatAccount, producer_id: int, *, how: str) -> Producer | None:
    producer = await session.get(Producer, producer_id)
    if producer is None:
        return None
    account.producer_id = producer.id
    session.add(account)
    await record_event(session, actor_account_id=account.id, action="producer.linked", subject_type="producer",
                       subject_id=str(producer.id), details={"how": how})
    return producer
