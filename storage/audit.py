"""The append-only audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import aware
from storage.models import AuditEvent, utcnow


async def record_event(session: AsyncSession, *, actor_account_id: int | None, action: str,
                       subject_type: str, subject_id: str, details: dict[str, Any] | None = None,
                       at: datetime | None = None) -> None:
    session.add(AuditEvent(actor_account_id=actor_account_id, action=action, subject_type=subject_type,
                           subject_id=subject_id, details=details or {}, at=at or utcnow()))


async def code_failures_since(session: AsyncSession, since: datetime, *, account_id: int | None = None
                              ) -> list[datetime]:
    """When wrong one-time codes were typed since `since` (by one chat, or by all), oldest first."""
    query = select(AuditEvent.at).where(AuditEvent.action == "code.failed", col(AuditEvent.at) >= since)
    if account_id is not None:
        query = query.where(AuditEvent.actor_account_id == account_id)
    times = await session.exec(query.order_by(col(AuditEvent.at)))
    return [aware(at) for at in times]
