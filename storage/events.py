"""Trainings and fairs, their registrations, and who they are for."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.audit import record_event
from storage.models import ChatAccount, Event, EventRegistration, Producer, Product, utcnow


async def create_event(session: AsyncSession, values: dict[str, Any], *, officer_id: int | None,
                       actor_account_id: int | None) -> Event:
    event = Event(**values, created_by_officer_id=officer_id)
    session.add(event)
    await session.flush()
    await record_event(session, actor_account_id=actor_account_id, action=f"{event.kind}.created",
                       subject_type="event", subject_id=str(event.id), details={"name": event.name})
    return event


async def update_event(session: AsyncSession, event: Event, values: dict[str, Any], *,
                       actor_account_id: int | None) -> bool:
    changed = {k: v for k, v in values.items() if getattr(event, k) != v}
    for key, value in changed.items():
        setattr(event, key, value)
    if changed:
        event.updated_at = utcnow()
        session.add(event)
        await record_event(session, actor_account_id=actor_account_id, action=f"{event.kind}.changed",
                           subject_type="event", subject_id=str(event.id), details={"fields": sorted(changed)})
    return bool(changed)


async def cancel_event(session: AsyncSession, event: Event, *, actor_account_id: int | None) -> None:
    event.cancelled_at = utcnow()
    session.add(event)
    await record_event(session, actor_account_id=actor_account_id, action=f"{event.kind}.cancelled",
                       subject_type="event", subject_id=str(event.id))


async def get_event(session: AsyncSession, event_id: int) -> Event | None:
    return await session.get(Event, event_id)


async def producer_groups(session: AsyncSession, producer_id: int) -> set[str]:
    return set(await session.exec(select(Product.group_code).where(Product.producer_id == producer_id)))


def is_for(event: Event, province_code: str | None, groups: set[str]) -> bool:
    return event.province_code == province_code and (not event.audience_groups or bool(groups &
                                                                                        set(event.audience_groups)))


async def upcoming(session: AsyncSession, *, kind: str | None, province_code: str | None, start: datetime,
                   end: datetime) -> list[Event]:
    query = select(Event).where(col(Event.starts_at) >= start, col(Event.starts_at) <= end,
                                col(Event.cancelled_at).is_(None))
    if kind is not None:
        query = query.where(Event.kind == kind)
    if province_code is not None:
        query = query.where(Event.province_code == province_code)
    return list(await session.exec(query.order_by(col(Event.starts_at), col(Event.id))))


async def registration(session: AsyncSession, event_id: int, account_id: int) -> EventRegistration | None:
    return (await session.exec(select(EventRegistration).where(EventRegistration.event_id == event_id,
                                                               EventRegistration.account_id == account_id))).first()


async def register(session: AsyncSession, event: Event, account: ChatAccount) -> bool:
    """True when this registers the chat (again); False when it was registered already."""
    row = await registration(session, event.id, account.id)
    if row is not None and row.cancelled_at is None:
        return False
    if row is None:
        row = EventRegistration(event_id=event.id, account_id=account.id, producer_id=account.producer_id)
    row.cancelled_at, row.registered_at = None, utcnow()
    session.add(row)
    return True


async def unregister(session: AsyncSession, event: Event, account: ChatAccount) -> bool:
    row = await registration(session, event.id, account.id)
    if row is None or row.cancelled_at is not None:
        return False
    row.cancelled_at = utcnow()
    session.add(row)
    return True


async def registrants(session: AsyncSession, event_id: int) -> list[tuple[ChatAccount, Producer | None]]:
    rows = await session.exec(
        select(ChatAccount, Producer).join(EventRegistration, col(EventRegistration.account_id) == ChatAccount.id)
        .outerjoin(Producer, col(Producer.id) == ChatAccount.producer_id)
        .where(EventRegistration.event_id == event_id, col(EventRegistration.cancelled_at).is_(None))
        .order_by(col(EventRegistration.registered_at)))
    return list(rows)


async def audience(session: AsyncSession, event: Event) -> list[ChatAccount]:
    """The chats of the producers the event is for: its province, and its product groups when it names some."""
    query = (select(ChatAccount).join(Producer, col(Producer.id) == ChatAccount.producer_id)
             .where(Producer.province_code == event.province_code))
    if event.audience_groups:
        query = query.where(col(Producer.id).in_(
            select(Product.producer_id).where(col(Product.group_code).in_(event.audience_groups))))
    return list(await session.exec(query.order_by(col(ChatAccount.id))))  # one producer per chat: no duplicates


async def find_event(session: AsyncSession, *, kind: str, name: str, province_code: str,
                     starts_at: datetime) -> Event | None:
    """The same event imported before: same kind, name, province and start."""
    rows = await session.exec(select(Event).where(Event.kind == kind, Event.province_code == province_code,
                                                  Event.starts_at == starts_at))
    return next((e for e in rows if e.name.strip().casefold() == name.strip().casefold()), None)
