"""The append-only audit log."""

from __future__ import annotations

from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import AuditEvent


async def record_event(session: AsyncSession, *, actor_account_id: int | None, action: str,
                       subject_type: str, subject_id: str, details: dict[str, Any] | None = None) -> None:
    session.add(AuditEvent(actor_account_id=actor_account_id, action=action, subject_type=subject_type,
                           subject_id=subject_id, details=details or {}))
