"""Products and their OCOP applications."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import exists, func, or_
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import lifecycle
from storage.audit import record_event
from storage.models import (
    Application,
    ApplicationDocument,
    ApplicationStatusChange,
    Certificate,
    ChatAccount,
    Producer,
    Product,
    utcnow,
)
from storage.text import fold


class TransitionNotAllowed(Exception):
    """The application's status may not change that way (see storage.lifecycle.TRANSITIONS)."""


@dataclass(frozen=True)
class DossierItem:
    doc_code: str
    delivery: str  # upload | in_person | skipped
    file_ids: tuple[int, ...] = ()


def application_code(year: int, application_id: int) -> str:
    return f"OCOP-{year}-{application_id:06d}"


async def submit_application(session: AsyncSession, account: ChatAccount, product_values: dict[str, Any],
                             dossier: list[DossierItem], *, reevaluate: Product | None = None) -> Application:
    """Create the product (or, for a re-evaluation, update it), its application (status submitted), dossier
    rows, history and audit."""
    assert account.producer_id is not None
    if reevaluate is None:
        product = Product(producer_id=account.producer_id, name_folded=fold(product_values["name"]), **product_values)
    else:
        product = reevaluate
        for key, value in product_values.items():
            setattr(product, key, value)
        product.name_folded = fold(product.name)
    session.add(product)
    await session.flush()
    now = utcnow()
    application = Application(product_id=product.id, producer_id=account.producer_id, submitted_at=now,
                              status="submitted", kind="new" if reevaluate is None else "reevaluation")
    session.add(application)
    await session.flush()
    assert application.id is not None
    application.code = application_code(now.year, application.id)
    session.add(application)
    await add_documents(session, application, dossier)
    session.add(ApplicationStatusChange(application_id=application.id, from_status=None,
                                        to_status="submitted", actor_account_id=account.id))
    await record_event(session, actor_account_id=account.id, action="application.submitted",
                       subject_type="application", subject_id=application.code,
                       details={"product": product.name, "documents": len(dossier)})
    return application


async def list_documents(session: AsyncSession, application_id: int) -> list[ApplicationDocument]:
    rows = await session.exec(
        select(ApplicationDocument).where(ApplicationDocument.application_id == application_id)
        .order_by(col(ApplicationDocument.id))
    )
    return list(rows)


async def get_application(session: AsyncSession, application_id: int) -> Application | None:
    return await session.get(Application, application_id)


async def get_application_by_code(session: AsyncSession, code: str) -> Application | None:
    return (await session.exec(select(Application).where(Application.code == code.strip().upper()))).first()


async def change_status(session: AsyncSession, application: Application, to_status: str, *,
                        actor_account_id: int | None, note: str | None = None) -> ApplicationStatusChange:
    """Move along an allowed transition, leaving the history row and the audit event."""
    if not lifecycle.can_transition(application.status, to_status):
        raise TransitionNotAllowed(f"{application.status} -> {to_status}")
    change = ApplicationStatusChange(application_id=application.id, from_status=application.status,
                                     to_status=to_status, actor_account_id=actor_account_id, note=note)
    session.add(change)
    await record_event(session, actor_account_id=actor_account_id, action=f"application.{to_status}",
                       subject_type="application", subject_id=application.code or str(application.id),
                       details={"from": application.status, "note": note})
    application.status = to_status
    application.updated_at = utcnow()
    session.add(application)
    await session.flush()
    return change


async def request_more(session: AsyncSession, application: Application, items: list[str], note: str | None,
                       *, actor_account_id: int) -> ApplicationStatusChange:
    application.missing_items, application.request_note = list(items), note
    return await change_status(session, application, lifecycle.NEEDS_MORE, actor_account_id=actor_account_id,
                               note=note)


async def record_result(session: AsyncSession, application: Application, *, mandatory_met: bool | None,
                        score: int | None, note: str | None, decision_number: str, decision_date: date | None,
                        actor_account_id: int | None, central_outcome: str | None = None
                        ) -> tuple[ApplicationStatusChange, Certificate | None]:
    """The council's record, applied as `lifecycle.plan_result` says; the certificate it issues, if any."""
    held = await certificate_of(session, application)
    plan = lifecycle.plan_result(application.status, mandatory_met=mandatory_met, score=score,
                                 central_outcome=central_outcome, has_certificate=held is not None)
    if application.status != lifecycle.AWAITING_CENTRAL:  # the central outcome leaves the council's record as it was
        application.score, application.mandatory_met, application.result_note = score, mandatory_met, note
    summary = f"score={application.score}; mandatory_met={application.mandatory_met}; central={central_outcome}; " \
              f"decision={decision_number} {decision_date.isoformat() if decision_date else ''}"
    change = await change_status(session, application, plan.to_status, actor_account_id=actor_account_id,
                                 note=f"{summary}; {note}" if note else summary)
    if plan.keeps_certificate and held is not None:
        held.potential_five = False
        session.add(held)
        return change, held
    if plan.stars is None or decision_date is None:
        return change, None
    if held is not None:  # the central council's 5★ replaces the province's 4★ "tiềm năng 5★"
        held.revoked_at = utcnow()
        session.add(held)
    certificate = Certificate(product_id=application.product_id, application_id=application.id,
                              score=application.score, stars=plan.stars, potential_five=plan.potential_five,
                              decision_number=decision_number, decision_date=decision_date,
                              valid_until=lifecycle.certificate_valid_until(decision_date))
    session.add(certificate)
    await session.flush()
    return change, certificate


async def submissions_since(session: AsyncSession, producer_id: int, since: datetime) -> int:
    query = select(func.count()).select_from(Application).where(Application.producer_id == producer_id,
                                                                 col(Application.submitted_at) >= since)
    return (await session.exec(query)).one()


async def latest_certificate(session: AsyncSession, product_id: int) -> Certificate | None:
    return (await session.exec(
        select(Certificate).where(Certificate.product_id == product_id, col(Certificate.revoked_at).is_(None))
        .order_by(col(Certificate.decision_date).desc())
    )).first()


async def certificate_held_before(session: AsyncSession, application: Application) -> Certificate | None:
    """The certificate a product held when this application (a re-evaluation) was made: not one it issued."""
    return (await session.exec(
        select(Certificate).where(Certificate.product_id == application.product_id,
                                  col(Certificate.revoked_at).is_(None),
                                  or_(col(Certificate.application_id).is_(None),
                                      col(Certificate.application_id) != application.id))
        .order_by(col(Certificate.decision_date).desc())
    )).first()


async def certificate_of(session: AsyncSession, application: Application) -> Certificate | None:
    """The certificate this application led to, if it is still in force (the centre's 5★ replaces a 4★)."""
    return (await session.exec(
        select(Certificate).where(Certificate.application_id == application.id, col(Certificate.revoked_at).is_(None))
        .order_by(col(Certificate.decision_date).desc())
    )).first()


async def newest_application_of_product(session: AsyncSession, product_id: int) -> Application | None:
    return (await session.exec(
        select(Application).where(Application.product_id == product_id).order_by(col(Application.id).desc())
    )).first()


async def open_application_of_product(session: AsyncSession, product_id: int) -> Application | None:
    """The product's application still on its way, if any: a product is evaluated once at a time."""
    return (await session.exec(
        select(Application).where(Application.product_id == product_id,
                                  col(Application.status).in_(lifecycle.OPEN_STATUSES))
    )).first()


async def latest_photos(session: AsyncSession, product_id: int) -> tuple[int, ...]:
    """The product photos of its newest application that had any: a re-evaluation without new photos keeps them."""
    sent = (col(ApplicationDocument.doc_code) == "product-photo") & col(ApplicationDocument.file_id).is_not(None)
    newest = (select(func.max(ApplicationDocument.application_id))
              .join(Application, col(Application.id) == ApplicationDocument.application_id)
              .where(Application.product_id == product_id, sent).scalar_subquery())
    rows = await session.exec(select(ApplicationDocument.file_id)
                              .where(ApplicationDocument.application_id == newest, sent)
                              .order_by(col(ApplicationDocument.id)))
    return tuple(file_id for file_id in rows if file_id is not None)


async def list_producer_products(session: AsyncSession, producer_id: int) -> list[tuple[Product, Application | None]]:
    """Each product of the producer with its newest application, newest product first."""
    products = list(await session.exec(
        select(Product).where(Product.producer_id == producer_id).order_by(col(Product.id).desc())))
    result: list[tuple[Product, Application | None]] = []
    for product in products:
        result.append((product, await newest_application_of_product(session, product.id)))
    return result


async def list_applications_in_province(session: AsyncSession, province_code: str | None, *,
                                        status: str | None, offset: int, limit: int, group: str | None = None
                                        ) -> tuple[list[Application], int]:
    """A page of applications, newest first, and how many there are; province None means every province.

    `group` is a code of any level of the classification: a group, a nhóm or a phân nhóm."""
    query = select(Application).join(Producer, col(Producer.id) == Application.producer_id)
    if province_code is not None:
        query = query.where(Producer.province_code == province_code)
    if status is not None:
        query = query.where(Application.status == status)
    if group is not None:
        query = query.join(Product, col(Product.id) == Application.product_id).where(
            (col(Product.group_code) == group) | (col(Product.subgroup_code) == group)
            | (col(Product.category_code) == group))
    total = (await session.exec(select(func.count()).select_from(query.subquery()))).one()
    rows = await session.exec(query.order_by(col(Application.id).desc()).offset(offset).limit(limit))
    return list(rows), int(total)


async def find_recognised(session: AsyncSession, query: str, *, offset: int = 0, limit: int = 5
                          ) -> tuple[list[tuple[Product, Certificate]], int]:
    """Recognised products by application code or by words of the name (diacritics optional), newest decision
    first: one page of them, and how many there are in all."""
    newer = aliased(Certificate)
    newest = ~exists().where(col(newer.product_id) == Certificate.product_id, col(newer.revoked_at).is_(None),
                             col(newer.decision_date) > Certificate.decision_date)  # a re-evaluated product's last one
    stmt = (select(Product, Certificate).join(Certificate, col(Certificate.product_id) == Product.id)
            .where(col(Certificate.revoked_at).is_(None)))
    code = query.strip().upper()
    if code.startswith("OCOP-"):  # that application's own certificate, even when a newer one followed
        stmt = stmt.join(Application, col(Application.id) == Certificate.application_id).where(Application.code == code)
    else:
        stmt = stmt.where(newest)
        for word in fold(query).split()[:6]:
            stmt = stmt.where(col(Product.name_folded).contains(word))
    total = (await session.exec(select(func.count()).select_from(stmt.subquery()))).one()
    rows = await session.exec(stmt.order_by(col(Certificate.decision_date).desc(), col(Certificate.id).desc())
                              .offset(offset).limit(limit))
    return list(rows), total


async def add_documents(session: AsyncSession, application: Application, items: list[DossierItem]) -> None:
    """One sending (the dossier, or a supplement): its rows share one time, which is how the history groups them."""
    now = utcnow()
    for item in items:
        file_ids = item.file_ids or (None,)
        for file_id in file_ids:
            session.add(ApplicationDocument(application_id=application.id, doc_code=item.doc_code,
                                            delivery=item.delivery, file_id=file_id, added_at=now))


async def get_owned_product(session: AsyncSession, producer_id: int | None, product_id: int) -> Product | None:
    """The product when it belongs to this producer; None for anybody else's (or a forged id)."""
    product = await session.get(Product, product_id)
    return product if product is not None and producer_id is not None and product.producer_id == producer_id else None
