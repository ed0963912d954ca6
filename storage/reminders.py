"""The queries behind the daily reminder scan: each bounded by what is due, never a walk over a whole table."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Certificate, ChatAccount, ConversationState, Officer, Producer, Product


async def certificates_expiring_between(session: AsyncSession, first: date, last: date
                                        ) -> list[tuple[Certificate, Product, Producer]]:
    """Current certificates (no newer one for the same product) whose valid-until lies in [first, last]."""
    newer = aliased(Certificate)
    superseded = (select(newer.id).where(newer.product_id == Certificate.product_id,
                                         newer.valid_until > Certificate.valid_until,
                                         col(newer.revoked_at).is_(None)).exists())
    rows = await session.exec(
        select(Certificate, Product, Producer)
        .join(Product, col(Product.id) == Certificate.product_id)
        .join(Producer, col(Producer.id) == Product.producer_id)
        .where(col(Certificate.valid_until) >= first, col(Certificate.valid_until) <= last,
               col(Certificate.revoked_at).is_(None), ~superseded)
        .order_by(col(Certificate.valid_until), col(Certificate.id)))
    return list(rows)  # type: ignore[arg-type]


async def accounts_by_producer(session: AsyncSession, producer_ids: set[int]) -> dict[int, list[ChatAccount]]:
    found: dict[int, list[ChatAccount]] = {}
    if producer_ids:
        for account in await session.exec(select(ChatAccount).where(col(ChatAccount.producer_id).in_(producer_ids))):
            found.setdefault(account.producer_id, []).append(account)  # type: ignore[arg-type]
    return found


async def idle_drafts(session: AsyncSession, *, idle_since: datetime, not_before: datetime
                      ) -> list[tuple[ConversationState, ChatAccount]]:
    """Registration drafts untouched between not_before and idle_since."""
    rows = await session.exec(
        select(ConversationState, ChatAccount).join(ChatAccount, col(ChatAccount.id) == ConversationState.account_id)
        .where(ConversationState.flow == "register", col(ConversationState.updated_at) <= idle_since,
               col(ConversationState.updated_at) >= not_before))
    return list(rows)  # type: ignore[arg-type]


async def officers_with_accounts(session: AsyncSession) -> list[tuple[Officer, ChatAccount]]:
    rows = await session.exec(select(Officer, ChatAccount).join(ChatAccount, col(ChatAccount.id) == Officer.account_id)
                              .where(col(Officer.revoked_at).is_(None)))
    return list(rows)  # type: ignore[arg-type]
