"""A province's list of OCOP products: idempotent upsert of imported rows, and the rows for export."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import lifecycle
from storage.applications import application_code
from storage.audit import record_event
from storage.models import Application, Certificate, Producer, Product, utcnow
from storage.text import fold


@dataclass(frozen=True)
class ListedProduct:
    """One validated row: a producer, one of its products, and that product's certificate."""

    producer_name: str
    entity_type: str
    tax_code: str | None
    phone: str | None
    province_code: str
    commune: str | None
    district: str | None
    product_name: str
    group_code: str
    subgroup_code: str | None
    stars: int
    score: int | None
    decision_number: str
    decision_date: date
    valid_until: date
    potential_five: bool = False  # 4★ recognised by the province while the central council decides on 5★
    category_code: str | None = None  # the phân nhóm, when the list names it
    commune_code: int | None = None  # when the list's commune is one of today's (storage.communes)


@dataclass
class Existing:
    """What the database already holds, loaded once so a 5,000-row file costs no query per row."""

    producers_by_tax: dict[str, Producer] = field(default_factory=dict)
    producers_by_name: dict[tuple[str, str], Producer] = field(default_factory=dict)
    products: dict[tuple[int, str], Product] = field(default_factory=dict)
    certificates: dict[tuple[int, str], Certificate] = field(default_factory=dict)
    named: dict[int, Producer] = field(default_factory=dict)  # producers the file named, by id


async def load_existing(session: AsyncSession) -> Existing:
    """Verified producers only: a claim typed in chat is never taken for the listed business, whatever it typed."""
    existing = Existing()
    for producer in await session.exec(select(Producer).where(col(Producer.verified_at).is_not(None))):
        if producer.tax_code:
            existing.producers_by_tax[producer.tax_code] = producer
        existing.producers_by_name[(fold(producer.name), producer.province_code)] = producer
    for product in await session.exec(select(Product)):
        existing.products[(product.producer_id, product.name_folded)] = product
    for certificate in await session.exec(select(Certificate).where(col(Certificate.revoked_at).is_(None))):
        existing.certificates[(certificate.product_id, certificate.decision_number)] = certificate
    return existing


def _apply(row: object, values: dict[str, object]) -> bool:
    changed = False
    for key, value in values.items():
        if getattr(row, key) != value:
            setattr(row, key, value)
            changed = True
    return changed


async def upsert_listed_products(session: AsyncSession, existing: Existing, items: list[ListedProduct]) -> list[str]:
    """Per item: 'created' (a certificate new to the list), 'updated' or 'unchanged'.

    A producer is the same when its tax code is (else its name in the province); a product when its name is,
    for that producer; a certificate when its decision number is, for that product.
    Work goes in phases with one flush each, so a batch costs a handful of round trips, not one per row."""
    changed = [False] * len(items)  # something the row names already existed and is now different
    producers: list[Producer] = []
    for index, item in enumerate(items):
        producer = (existing.producers_by_tax.get(item.tax_code) if item.tax_code else None) or \
            existing.producers_by_name.get((fold(item.producer_name), item.province_code))
        values: dict[str, Any] = {"name": item.producer_name, "entity_type": item.entity_type,
                                  "tax_code": item.tax_code, "phone": item.phone, "province_code": item.province_code,
                                  "commune": item.commune, "commune_code": item.commune_code, "district": item.district}
        if producer is None:
            producer = Producer(**values, verified_at=utcnow(), verified_how="import")
            session.add(producer)
        elif _apply(producer, {k: v for k, v in values.items() if v is not None or k in ("district", "commune_code")}):
            producer.updated_at = utcnow()
            session.add(producer)
            changed[index] = True
        if producer.tax_code:
            existing.producers_by_tax[producer.tax_code] = producer
        existing.producers_by_name[(fold(producer.name), producer.province_code)] = producer
        producers.append(producer)
    await session.flush()
    existing.named |= {producer.id: producer for producer in producers}

    products: list[Product] = []
    for index, (item, producer) in enumerate(zip(items, producers, strict=True)):
        key = (producer.id, fold(item.product_name))
        product = existing.products.get(key)
        values = {"name": item.product_name, "group_code": item.group_code, "subgroup_code": item.subgroup_code}
        if item.category_code is not None:  # a list naming only the nhóm keeps a phân nhóm chosen in the chat
            values["category_code"] = item.category_code
        if product is None:
            product = Product(producer_id=producer.id, name_folded=key[1], **values)
            session.add(product)
            existing.products[key] = product
        elif _apply(product, values):
            session.add(product)
            changed[index] = True
        products.append(product)
    await session.flush()

    new_certificates: list[tuple[int, Application]] = []
    for index, (item, producer, product) in enumerate(zip(items, producers, products, strict=True)):
        certificate = existing.certificates.get((product.id, item.decision_number))
        values = {"stars": item.stars, "potential_five": item.potential_five, "score": item.score,
                  "decision_date": item.decision_date, "valid_until": item.valid_until}
        if certificate is None:
            status = lifecycle.AWAITING_CENTRAL if item.potential_five else lifecycle.RECOGNISED
            application = Application(product_id=product.id, producer_id=producer.id, kind="imported",
                                      status=status, score=item.score, mandatory_met=True)
            session.add(application)
            new_certificates.append((index, application))
        elif _apply(certificate, values):
            session.add(certificate)
            changed[index] = True
    await session.flush()
    for index, application in new_certificates:
        item, product = items[index], products[index]
        application.code = application_code(item.decision_date.year, application.id)
        certificate = Certificate(product_id=product.id, application_id=application.id,
                                  decision_number=item.decision_number, stars=item.stars, score=item.score,
                                  potential_five=item.potential_five,
                                  decision_date=item.decision_date, valid_until=item.valid_until)
        session.add(certificate)
        existing.certificates[(product.id, item.decision_number)] = certificate
    await session.flush()
    created = {index for index, _ in new_certificates}
    return ["created" if i in created else "updated" if changed[i] else "unchanged" for i in range(len(items))]


async def record_import(session: AsyncSession, source: str, counts: dict[str, int],
                        clashes: list[tuple[Producer, Producer]]) -> None:
    await record_event(session, actor_account_id=None, action="products.imported", subject_type="file",
                       subject_id=source[:64], details=counts | {"clashes": len(clashes)})
    for listed, claim in clashes:
        await record_event(session, actor_account_id=None, action="producer.clash", subject_type="producer",
                           subject_id=str(claim.id), details={"listed": listed.id, "source": source[:64]})


@dataclass(frozen=True)
class ExportedProduct:
    producer: Producer
    product: Product
    certificate: Certificate | None
    application: Application | None


async def products_for_export(session: AsyncSession, province_code: str | None) -> list[ExportedProduct]:
    query = select(Producer, Product).join(Product, col(Product.producer_id) == Producer.id)
    if province_code is not None:
        query = query.where(Producer.province_code == province_code)
    rows = list(await session.exec(query.order_by(col(Producer.name), col(Product.name))))
    certificates: dict[int, Certificate] = {}
    for certificate in await session.exec(select(Certificate).where(col(Certificate.revoked_at).is_(None))
                                          .order_by(col(Certificate.decision_date))):
        certificates[certificate.product_id] = certificate  # the newest wins
    applications: dict[int, Application] = {}
    for application in await session.exec(select(Application).order_by(col(Application.id))):
        applications[application.product_id] = application
    return [ExportedProduct(producer, product, certificates.get(product.id),
                            applications.get(product.id)) for producer, product in rows]
