"""Each province's OCOP office: whom a producer calls. Loaded by an operator, edited by an admin, audited."""

from __future__ import annotations

from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from storage.audit import record_event
from storage.models import ProvinceOffice, utcnow

FIELDS = ("name", "phone", "address")


async def get_office(session: AsyncSession, province_code: str | None) -> ProvinceOffice | None:
    return await session.get(ProvinceOffice, province_code) if province_code else None


async def save_office(session: AsyncSession, province_code: str, values: dict[str, Any],
                      *, actor_account_id: int | None) -> str:
    """'created', 'updated' or 'unchanged'; a change leaves an audit event with the old and new values."""
    office = await session.get(ProvinceOffice, province_code)
    if office is None:
        office = ProvinceOffice(province_code=province_code, **values)
        changes = {key: [None, values[key]] for key in FIELDS}
        outcome = "created"
    else:
        changes = {key: [getattr(office, key), values[key]] for key in FIELDS if getattr(office, key) != values[key]}
        if not changes:
            return "unchanged"
        for key in changes:
            setattr(office, key, values[key])
        office.updated_at = utcnow()
        outcome = "updated"
    session.add(office)
    await record_event(session, actor_account_id=actor_account_id, action=f"office.{outcome}",
                       subject_type="province", subject_id=province_code, details={"changes": changes})
    return outcome
