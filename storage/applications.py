"""Products and their OCOP applications."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.audit import record_event
from storage.models import (
    Application,
    ApplicationDocument,
    ApplicationStatusChange,
    ChatAccount,
    Product,
    utcnow,
)


@dataclass(frozen=True)
class DossierItem:
    doc_code: str
    delivery: str  # upload | in_person | skipped
    file_ids: tuple[int, ...] = ()


def application_code(year: int, application_id: int) -> str:
    return f"OCOP-{year}-{application_id:06d}"


async def submit_application(session: AsyncSession, account: ChatAccount, product_values: dict,
                             dossier: list[DossierItem]) -> Application:
    """Create the product, its application (status submitted), dossier rows, history and audit."""
    assert account.producer_id is not None
    product = Product(producer_id=account.producer_id, **product_values)
    session.add(product)
    await session.flush()
    now = utcnow()
    application = Application(product_id=product.id, producer_id=account.producer_id,
                              status="submitted", submitted_at=now)
    session.add(application)
    await session.flush()
    assert application.id is not None
    application.code = application_code(now.year, application.id)
    session.add(application)
    for item in dossier:
        if item.file_ids:
            for file_id in item.file_ids:
                session.add(ApplicationDocument(application_id=application.id, doc_code=item.doc_code,
                                                delivery=item.delivery, file_id=file_id))
        else:
            session.add(ApplicationDocument(application_id=application.id, doc_code=item.doc_code,
                                            delivery=item.delivery))
    session.add(ApplicationStatusChange(application_id=application.id, from_status=None,
                                        to_status="submitted", actor_account_id=account.id))
    await record_event(session, actor_account_id=account.id, action="application.submitted",
                       subject_type="application", subject_id=application.code,
                       details={"product": product.name, "documents": len(dossier)})
    return application


async def list_applications_of_producer(session: AsyncSession, producer_id: int) -> list[Application]:
    rows = await session.exec(
        select(Application).where(Application.producer_id == producer_id).order_by(Application.id)
    )
    return list(rows)


async def list_documents(session: AsyncSession, application_id: int) -> list[ApplicationDocument]:
    rows = await session.exec(
        select(ApplicationDocument).where(ApplicationDocument.application_id == application_id)
        .order_by(ApplicationDocument.id)
    )
    return list(rows)
