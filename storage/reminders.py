"""The queries behind the daily reminder scan: each bounded by what is due, never a walk over a whole table."""

from __future__ import annotations

from datetime import date, datetime
from typing import NamedTuple

from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.chats import DRAFT_FLOWS
from storage.models import Certificate, ChatAccount, ConversationState, Officer, Producer, Product
from storage.officers import reachable


class ExpiringCertificate(NamedTuple):
    certificate_id: int
    valid_until: date
    stars: int
    product_id: int
    product_name: str
    producer_id: int
    producer_name: str
    province_code: str


class AccountRef(NamedTuple):
    id: int
    language: str


async def certificates_expiring_between(session: AsyncSession, first: date, last: date) -> list[ExpiringCertificate]:
    """Current certificates (no newer one for the same product) whose valid-until lies in [first, last].
    Plain rows, not ORM objects: a daily scan reads thousands and changes none."""
    newer = aliased(Certificate)
    superseded = (select(newer.id).where(newer.product_id == Certificate.product_id,
                                         newer.valid_until > Certificate.valid_until,
                                         col(newer.revoked_at).is_(None)).exists())
    rows = await session.exec(  # SQLModel's select() is typed for up to four columns; this has eight
        select(Certificate.id, Certificate.valid_until, Certificate.stars, Product.id, Product.name,  # type: ignore[call-overload]
               Producer.id, Producer.name, Producer.province_code)
        .join(Product, col(Product.id) == Certificate.product_id)
        .join(Producer, col(Producer.id) == Product.producer_id)
        .where(col(Certificate.valid_until) >= first, col(Certificate.valid_until) <= last,
               col(Certificate.revoked_at).is_(None), ~superseded)
        .order_by(col(Certificate.valid_until), col(Certificate.id)))
    return [ExpiringCertificate(*row) for row in rows]


async def accounts_by_producer(session: AsyncSession, producer_ids: set[int]) -> dict[int, list[AccountRef]]:
    found: dict[int, list[AccountRef]] = {}
    ids = sorted(producer_ids)
    for start in range(0, len(ids), 1000):
        rows = await session.exec(select(ChatAccount.producer_id, ChatAccount.id, ChatAccount.language)
                                  .where(col(ChatAccount.producer_id).in_(ids[start:start + 1000])))
        for producer_id, account_id, language in rows:
            if producer_id is not None:  # the query asked for these producers only
                found.setdefault(producer_id, []).append(AccountRef(account_id, language))
    return found


async def idle_drafts(session: AsyncSession, *, idle_since: datetime, not_before: datetime
                      ) -> list[tuple[ConversationState, ChatAccount]]:
    """Registration drafts untouched between not_before and idle_since."""
    rows = await session.exec(
        select(ConversationState, ChatAccount).join(ChatAccount, col(ChatAccount.id) == ConversationState.account_id)
        .where(col(ConversationState.flow).in_(DRAFT_FLOWS), col(ConversationState.updated_at) <= idle_since,
               col(ConversationState.updated_at) >= not_before))
    return list(rows)


async def officers_with_accounts(session: AsyncSession, now: datetime) -> list[tuple[Officer, ChatAccount]]:
    rows = await session.exec(select(Officer, ChatAccount).join(ChatAccount, col(ChatAccount.id) == Officer.account_id)
                              .where(col(Officer.revoked_at).is_(None), reachable(now)))
    return list(rows)
