"""Rows for tests that need a database already holding producers, applications, certificates, officers."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.applications import application_code
from storage.communes import match_commune
from storage.lifecycle import certificate_valid_until
from storage.models import Application, Certificate, Producer, Product, utcnow
from storage.officers import create_invite
from storage.text import fold

# What a producer who registered in the chat has on record; an imported list has none of it.
COMPLETE_PROFILE = {"tax_code": "0300588569", "representative": "Nguyễn Văn An", "address": "Thôn 2"}


async def add_producer(session: AsyncSession, **values: Any) -> Producer:
    """A producer as the province's list brings it: verified. Pass verified_at=None for a claim typed in chat."""
    defaults = {"entity_type": "cooperative", "name": "HTX Mẫu", "province_code": "lam-dong",
                "commune": "Xã Lạc Dương", "phone": "+84912000999", "tax_code": None, "verified_at": utcnow(),
                "verified_how": "import"}
    values = defaults | values
    if "commune_code" not in values:  # as the import does: a commune of today gets its code, an old name does not
        found = match_commune(values["province_code"], values["commune"])
        values["commune_code"] = found.code if found else None
    producer = Producer(**values)
    session.add(producer)
    await session.flush()
    return producer


async def add_application(session: AsyncSession, producer: Producer, *, name: str = "Cà phê Arabica",
                          status: str = "submitted", group: str = "food", decided: date | None = None,
                          stars: int = 4) -> tuple[Product, Application]:
    product = Product(producer_id=producer.id, name=name, name_folded=fold(name), group_code=group,
                      subgroup_code=f"{group}-processed" if group == "food" else None)
    session.add(product)
    await session.flush()
    application = Application(product_id=product.id, producer_id=producer.id, status=status)
    session.add(application)
    await session.flush()
    application.code = application_code(2026, application.id)
    if decided is not None:
        session.add(Certificate(product_id=product.id, application_id=application.id, stars=stars, score=80,
                                decision_number="1032/QĐ-UBND", decision_date=decided,
                                valid_until=certificate_valid_until(decided)))
    await session.flush()
    return product, application


async def invite(sessions: async_sessionmaker[AsyncSession], province: str = "lam-dong", *, admin: bool = False,
                 name: str = "Nguyễn Văn An", days: int = 7) -> str:
    async with sessions() as session, session.begin():
        _, code = await create_invite(session, name=name, province_code=province, is_admin=admin,
                                      valid_for=timedelta(days=days))
    return code
