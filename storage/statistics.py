"""Counts for an officer's province (or every province): the numbers behind /thongke and `ocop-bot report`."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.communes import commune
from storage.models import Application, Certificate, Event, EventRegistration, Producer, Product
from storage.reference import load_reference


@dataclass
class ProvinceStatistics:
    # Products whose certificate is in force, counted once each: every breakdown adds up to the same total.
    by_stars: dict[int, int]
    by_group: dict[str, int]
    by_subgroup: dict[tuple[str, str | None], int]  # (group, nhóm); nhóm None where the record lacks it
    by_commune: dict[str, int]
    by_status: dict[str, int]
    expiring_30: int
    expiring_90: int
    registrations: list[tuple[str, datetime, int]]  # upcoming event, start, registrants


async def province_statistics(session: AsyncSession, province_code: str | None, today: date,
                              now: datetime) -> ProvinceStatistics:
    ref = load_reference()

    def scoped(query: Any) -> Any:  # a select of any shape, narrowed to the province
        return query if province_code is None else query.where(Producer.province_code == province_code)

    # Each product counts once, by the newest certificate still in force: a re-evaluated product holds its old
    # certificate until it runs out, and the province's 4★ is revoked when the centre grants 5★.
    # SQLModel's select() is typed for up to four columns; these two have more.
    ranked = (select(Certificate.product_id, Certificate.stars, Certificate.valid_until,  # type: ignore[call-overload]
                     func.row_number().over(partition_by=col(Certificate.product_id),
                                            order_by=(col(Certificate.decision_date).desc(),
                                                      col(Certificate.id).desc())).label("newest"))
              .where(col(Certificate.revoked_at).is_(None), col(Certificate.valid_until) >= today).subquery())
    held = (select(ranked.c.stars, ranked.c.valid_until, Product.group_code,  # type: ignore[call-overload]
                   Producer.commune, Product.subgroup_code, Producer.commune_code, Producer.province_code)
            .join(Product, col(Product.id) == ranked.c.product_id)
            .join(Producer, col(Producer.id) == Product.producer_id).where(ranked.c.newest == 1))
    products = list(await session.exec(scoped(held)))
    by_stars = Counter(stars for stars, *_ in products)
    by_group = Counter(group for _, _, group, *_ in products)
    by_subgroup = Counter((group, subgroup) for _, _, group, _, subgroup, *_ in products)
    # By the official code: its name, with the province when every province is counted (names repeat across
    # provinces). An old name no commune of today matches counts under its text.
    by_code = Counter((code, province, text) if code is None else (code, province, None)
                      for *_, text, _, code, province in products)
    by_commune = Counter[str]()
    for (code, province, text), count in by_code.items():
        name = found.name if (found := commune(code)) else (text or "—")
        by_commune[name if province_code is not None else f"{name} ({ref.label(province, 'vi')})"] += count
    statuses = select(Application.status, func.count()).join(Producer, col(Producer.id) == Application.producer_id)
    by_status: dict[str, int] = dict(list(await session.exec(scoped(statuses).group_by(col(Application.status)))))

    def expiring(days: int) -> int:
        return sum(1 for _, valid_until, *_ in products if valid_until <= today + timedelta(days=days))

    events = select(Event.name, Event.starts_at, func.count(col(EventRegistration.id))).outerjoin(
        EventRegistration, (col(EventRegistration.event_id) == Event.id) & col(EventRegistration.cancelled_at).is_(None)
    ).where(col(Event.starts_at) >= now, col(Event.cancelled_at).is_(None))
    if province_code is not None:
        events = events.where(Event.province_code == province_code)
    registrations = [(name, start, int(n)) for name, start, n in
                     await session.exec(events.group_by(col(Event.id), col(Event.name), col(Event.starts_at))
                                        .order_by(col(Event.starts_at)))]
    return ProvinceStatistics(by_stars=by_stars, by_group=by_group, by_subgroup=by_subgroup, by_commune=by_commune,
                              by_status=by_status,
                              expiring_30=expiring(30), expiring_90=expiring(90),
                              registrations=registrations)
