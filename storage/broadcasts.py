"""Officer broadcasts: who is in an audience, queueing one outbox row per recipient, and the figures."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import statuses
from storage.audit import record_event
from storage.db import insert_ignoring_duplicates
from storage.models import (
    Broadcast,
    Certificate,
    ChatAccount,
    EventRegistration,
    OutboxMessage,
    Producer,
    Product,
    utcnow,
)


@dataclass(frozen=True)
class Audience:
    """Filters combine: a recipient passes every one that is set. Provinces are always set."""

    provinces: tuple[str, ...]
    communes: tuple[int, ...] = ()  # official codes (storage.communes)
    groups: tuple[str, ...] = ()
    stars: tuple[int, ...] = ()
    expiring_within_days: int | None = None
    event_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"provinces": list(self.provinces), "communes": list(self.communes), "groups": list(self.groups),
                "stars": list(self.stars), "expiring_within_days": self.expiring_within_days,
                "event_id": self.event_id}


async def audience_accounts(session: AsyncSession, audience: Audience, today: date) -> list[ChatAccount]:
    """The chats of the producers that pass every filter, one per chat."""
    query = select(ChatAccount, Producer).join(Producer, col(Producer.id) == ChatAccount.producer_id).where(
        col(Producer.province_code).in_(audience.provinces))
    if audience.groups:
        query = query.where(col(Producer.id).in_(
            select(Product.producer_id).where(col(Product.group_code).in_(audience.groups))))
    current = select(Product.producer_id).join(Certificate, col(Certificate.product_id) == Product.id).where(
        col(Certificate.revoked_at).is_(None), col(Certificate.valid_until) >= today)
    if audience.stars:
        query = query.where(col(Producer.id).in_(current.where(col(Certificate.stars).in_(audience.stars))))
    if audience.expiring_within_days is not None:
        until = today + timedelta(days=audience.expiring_within_days)
        query = query.where(col(Producer.id).in_(current.where(col(Certificate.valid_until) <= until)))
    if audience.communes:
        query = query.where(col(Producer.commune_code).in_(audience.communes))
    if audience.event_id is not None:
        query = query.where(col(ChatAccount.id).in_(
            select(EventRegistration.account_id).where(EventRegistration.event_id == audience.event_id,
                                                       col(EventRegistration.cancelled_at).is_(None))))
    return [account for account, _ in await session.exec(query.order_by(col(ChatAccount.id)))]


async def create_broadcast(session: AsyncSession, *, officer_id: int, account_id: int, text: str,
                           file_id: int | None, audience: Audience, recipients: list[ChatAccount],
                           scheduled_at: datetime) -> Broadcast:
    broadcast = Broadcast(officer_id=officer_id, account_id=account_id, text=text, file_id=file_id,
                          audience=audience.as_dict(), recipients=len(recipients), scheduled_at=scheduled_at)
    session.add(broadcast)
    await session.flush()
    now = utcnow()
    rows: list[dict[str, Any]] = [
        {"account_id": a.id, "dedupe_key": f"broadcast:{broadcast.id}:{a.id}", "reason": "broadcast",
         "text": text, "options": [], "status": statuses.PENDING, "due_at": scheduled_at, "attempts": 0,
         "created_at": now, "broadcast_id": broadcast.id, "file_id": file_id} for a in recipients]
    for start in range(0, len(rows), 500):
        await insert_ignoring_duplicates(session, OutboxMessage, rows[start:start + 500], ["dedupe_key"])
    await record_event(session, actor_account_id=account_id, action="broadcast.created", subject_type="broadcast",
                       subject_id=str(broadcast.id), details={"audience": audience.as_dict(), "text": text,
                                                              "recipients": len(recipients),
                                                              "scheduled_at": scheduled_at.isoformat()})
    return broadcast


async def broadcast_counts(session: AsyncSession, broadcast_id: int) -> Counter[str]:
    """The broadcast's rows by status."""
    rows = await session.exec(select(OutboxMessage.status, func.count())
                              .where(OutboxMessage.broadcast_id == broadcast_id).group_by(OutboxMessage.status))
    return Counter({status: count for status, count in rows})  # not dict(rows): a Result has .keys()


async def broadcast_figures(session: AsyncSession, broadcast_id: int) -> Counter[str]:
    """The counts by status plus `delivered` (sent, shown on a web page or pushed to it) and `waiting`: web
    notices held until their page opens, which is not a failure and does not keep the broadcast from finishing."""
    counts = await broadcast_counts(session, broadcast_id)
    waiting = await session.exec(select(func.count())
                                 .select_from(OutboxMessage)
                                 .join(ChatAccount, col(ChatAccount.id) == OutboxMessage.account_id)
                                 .where(OutboxMessage.broadcast_id == broadcast_id,
                                        OutboxMessage.status == statuses.PENDING, ChatAccount.channel == "web"))
    counts["waiting"] = int(waiting.one())
    counts["delivered"] = sum(counts[s] for s in statuses.DELIVERED)
    return counts


async def failure_reasons(session: AsyncSession, broadcast_id: int) -> Counter[str]:
    rows = await session.exec(select(OutboxMessage.last_error, func.count())
                              .where(OutboxMessage.broadcast_id == broadcast_id,
                                     OutboxMessage.status == statuses.FAILED)
                              .group_by(OutboxMessage.last_error))
    return Counter({(reason or "?")[:80]: count for reason, count in rows})


async def cancel_broadcast(session: AsyncSession, broadcast: Broadcast, *, actor_account_id: int) -> int:
    """Cancel what is not sent yet; what was sent stays counted. Returns how many rows were cancelled."""
    result = await session.exec(update(OutboxMessage)
                                .where(col(OutboxMessage.broadcast_id) == broadcast.id,
                                       col(OutboxMessage.status) == statuses.PENDING)
                                .values(status=statuses.CANCELLED))
    broadcast.status, broadcast.finished_at = statuses.BROADCAST_CANCELLED, utcnow()
    session.add(broadcast)
    await record_event(session, actor_account_id=actor_account_id, action="broadcast.cancelled",
                       subject_type="broadcast", subject_id=str(broadcast.id), details={"unsent": result.rowcount})
    return int(result.rowcount)


async def recent_broadcasts(session: AsyncSession, province_code: str | None, limit: int = 10) -> list[Broadcast]:
    query = select(Broadcast).order_by(col(Broadcast.id).desc()).limit(limit)
    rows = list(await session.exec(query))
    if province_code is None:
        return rows
    return [b for b in rows if province_code in b.audience.get("provinces", [])]


async def active_broadcasts(session: AsyncSession, now: datetime) -> list[Broadcast]:
    return list(await session.exec(select(Broadcast).where(col(Broadcast.status).in_(statuses.BROADCAST_ACTIVE),
                                                           col(Broadcast.scheduled_at) <= now)))
