"""Counts for an officer's province (or every province): the numbers behind /thongke and `ocop-bot report`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Application, Certificate, Event, EventRegistration, Producer, Product


@dataclass
class ProvinceStatistics:
    by_stars: dict[int, int]
    by_group: dict[str, int]
    by_commune: dict[str, int]
    by_status: dict[str, int]
    expiring_30: int
    expiring_90: int
    registrations: list[tuple[str, datetime, int]]  # upcoming event, start, registrants


async def province_statistics(session: AsyncSession, province_code: str | None, today: date,
                              now: datetime) -> ProvinceStatistics:
    def scoped(query):  # type: ignore[no-untyped-def]
        return query if province_code is None else query.where(Producer.province_code == province_code)

    valid = (select(Certificate.stars, func.count()).join(Product, col(Product.id) == Certificate.product_id)
             .join(Producer, col(Producer.id) == Product.producer_id)
             .where(col(Certificate.revoked_at).is_(None), col(Certificate.valid_until) >= today))
    by_stars = dict(list(await session.exec(scoped(valid).group_by(Certificate.stars))))  # type: ignore[arg-type]
    groups = select(Product.group_code, func.count()).join(Producer, col(Producer.id) == Product.producer_id)
    by_group = dict(list(await session.exec(scoped(groups).group_by(Product.group_code))))  # type: ignore[arg-type]
    communes = select(Producer.commune, func.count()).join(Product, col(Product.producer_id) == Producer.id)
    by_commune = {(name or "—"): n for name, n in await session.exec(scoped(communes).group_by(Producer.commune))}
    statuses = select(Application.status, func.count()).join(Producer, col(Producer.id) == Application.producer_id)
    by_status = dict(list(await session.exec(scoped(statuses).group_by(Application.status))))  # type: ignore[arg-type]

    async def expiring(days: int) -> int:
        query = (select(func.count()).select_from(Certificate).join(Product, col(Product.id) == Certificate.product_id)
                 .join(Producer, col(Producer.id) == Product.producer_id)
                 .where(col(Certificate.revoked_at).is_(None), col(Certificate.valid_until) >= today,
                        col(Certificate.valid_until) <= today + timedelta(days=days)))
        return int((await session.exec(scoped(query))).one())

    events = select(Event.name, Event.starts_at, func.count(col(EventRegistration.id))).outerjoin(
        EventRegistration, (col(EventRegistration.event_id) == Event.id) & col(EventRegistration.cancelled_at).is_(None)
    ).where(col(Event.starts_at) >= now, col(Event.cancelled_at).is_(None))
    if province_code is not None:
        events = events.where(Event.province_code == province_code)
    registrations = [(name, start, int(n)) for name, start, n in
                     await session.exec(events.group_by(Event.id, Event.name, Event.starts_at)
                                        .order_by(col(Event.starts_at)))]
    return ProvinceStatistics(by_stars=by_stars, by_group=by_group, by_commune=by_commune, by_status=by_status,
                              expiring_30=await expiring(30), expiring_90=await expiring(90),
                              registrations=registrations)
