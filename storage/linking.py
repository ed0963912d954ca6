"""Linking a chat to a producer record that already exists (imported lists)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.audit import record_event
from storage.codes import hash_code, new_code
from storage.models import ChatAccount, LinkCode, Producer, utcnow
from storage.verification import is_verified, merge_claim, verify_producer


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


async def producer_by_phone(session: AsyncSession, phone: str, *, verified_only: bool) -> Producer | None:
    """A record with this phone, verified first. A shared contact links only to a verified one: the phone the
    province holds, not one somebody typed into a claim."""
    query = select(Producer).where(Producer.phone == phone)
    query = query.where(col(Producer.verified_at).is_not(None)) if verified_only else query
    return (await session.exec(query.order_by(col(Producer.verified_at).is_(None), col(Producer.id)))).first()


async def link_account(session: AsyncSession, account: ChatAccount, producer_id: int, *, how: str) -> Producer | None:
    """Attach the chat to the record, which is verified by this (a code an officer gave, or the province's phone).
    An unverified claim the chat made before is the same business: it is merged into the record."""
    producer = await session.get(Producer, producer_id)
    if producer is None:
        return None
    claim = await session.get(Producer, account.producer_id) if account.producer_id else None
    if claim is not None and claim.id != producer.id and not is_verified(claim):
        await merge_claim(session, claim, producer, actor_account_id=account.id, how=how)
    account.producer_id = producer.id
    session.add(account)
    await record_event(session, actor_account_id=account.id, action="producer.linked", subject_type="producer",
                       subject_id=str(producer.id), details={"how": how})
    if not is_verified(producer):
        # False when a verified record holds its tax code: the claim stays for officers to resolve.
        await verify_producer(session, producer, how=how, actor_account_id=account.id)
    return producer
