"""Who a producer is: a profile typed in chat is a claim until it is verified, and a claim never takes over a
verified record. Clashes (a claim naming a verified record's tax code, or its name in the same province) are
found when asked, so the import and the officer's list always agree on what is still to resolve."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, func, or_
from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.audit import record_event
from storage.models import (
    Application,
    ChatAccount,
    EventRegistration,
    LinkCode,
    Producer,
    Product,
    utcnow,
)
from storage.text import fold

VERIFIED_HOW = ("import", "officer", "code", "contact")


def is_verified(producer: Producer) -> bool:
    return producer.verified_at is not None


async def verified_holder_of_tax_code(session: AsyncSession, tax_code: str) -> Producer | None:
    query = select(Producer).where(Producer.tax_code == tax_code, col(Producer.verified_at).is_not(None))
    return (await session.exec(query)).first()


async def verify_producer(session: AsyncSession, producer: Producer, *, how: str, actor_account_id: int | None,
                          now: datetime | None = None) -> bool:
    """Mark a claim verified. False when a verified record already holds its tax code: that is a clash to
    resolve by merging, not a second owner of one tax code."""
    if is_verified(producer):
        return True
    if producer.tax_code:
        holder = await verified_holder_of_tax_code(session, producer.tax_code)
        if holder is not None and holder.id != producer.id:
            return False
    producer.verified_at, producer.verified_how = now or utcnow(), how
    session.add(producer)
    await record_event(session, actor_account_id=actor_account_id, action="producer.verified",
                       subject_type="producer", subject_id=str(producer.id), details={"how": how})
    return True


async def clashes_of(session: AsyncSession, producer: Producer) -> list[Producer]:
    """Other records that may be the same business: the same tax code, or the same name in the same province
    (diacritics and case aside). Verified records first."""
    same_name = ((col(Producer.name_folded) == fold(producer.name))
                 & (col(Producer.province_code) == producer.province_code))
    same = or_(col(Producer.tax_code) == producer.tax_code, same_name) if producer.tax_code else same_name
    rows = await session.exec(select(Producer).where(same, Producer.id != producer.id).order_by(
        col(Producer.verified_at).is_(None), col(Producer.id)))
    return list(rows)


async def unverified_in_province(session: AsyncSession, province_code: str | None, *, offset: int,
                                 limit: int) -> tuple[list[Producer], int]:
    """Claims still to verify, oldest first (None: every province), and how many there are in all."""
    where: list[ColumnElement[bool]] = [col(Producer.verified_at).is_(None)]
    if province_code is not None:
        where.append(col(Producer.province_code) == province_code)
    total = (await session.exec(select(func.count()).select_from(Producer).where(*where))).one()
    rows = await session.exec(select(Producer).where(*where).order_by(col(Producer.id)).offset(offset).limit(limit))
    return list(rows), total


async def claims_clashing_with(session: AsyncSession, producers: list[Producer]) -> list[tuple[Producer, Producer]]:
    """(verified record, unverified claim) pairs among what an import just wrote: what officers must resolve."""
    pairs: list[tuple[Producer, Producer]] = []
    for producer in producers:
        if is_verified(producer):
            pairs += [(producer, claim) for claim in await clashes_of(session, producer) if not is_verified(claim)]
    return pairs


async def merge_claim(session: AsyncSession, claim: Producer, into: Producer, *, actor_account_id: int | None,
                      how: str) -> None:
    """The claim was this record's owner all along: its chats, products, applications and sign-ups move over,
    and the empty claim goes (its last values stay in the audit event)."""
    assert claim.id is not None and into.id is not None and claim.id != into.id
    for table in (ChatAccount, Product, Application, EventRegistration, LinkCode):
        await session.exec(update(table).where(col(table.producer_id) == claim.id)
                           .values(producer_id=into.id))
    await record_event(session, actor_account_id=actor_account_id, action="producer.merged", subject_type="producer",
                       subject_id=str(into.id), details={"claim": claim.id, "how": how, "claimed": {
                           "name": claim.name, "tax_code": claim.tax_code, "phone": claim.phone,
                           "province": claim.province_code, "commune": claim.commune}})
    await session.flush()
    await session.delete(claim)
    await session.flush()


async def drop_claimed_tax_code(session: AsyncSession, claim: Producer, *, actor_account_id: int | None) -> None:
    """The claim is not the verified record's business: the tax code it typed is taken off it, so it no longer
    clashes; the person is asked for it again at their next registration."""
    await record_event(session, actor_account_id=actor_account_id, action="producer.claim_refused",
                       subject_type="producer", subject_id=str(claim.id), details={"tax_code": claim.tax_code})
    claim.tax_code, claim.updated_at = None, utcnow()
    session.add(claim)
