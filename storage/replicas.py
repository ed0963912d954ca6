"""Which instances send for the bot now: they share each platform's limit between them."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import dialect_insert
from storage.models import SenderReplica


async def beat(session: AsyncSession, worker: str, now: datetime, alive: timedelta) -> int:
    """Record that `worker` is alive now; return how many instances were seen within `alive` (itself included)."""
    statement = dialect_insert(session)(SenderReplica).values(worker=worker, seen_at=now)
    await session.exec(statement.on_conflict_do_update(index_elements=["worker"],
                                                       set_={"seen_at": now}))
    await session.exec(delete(SenderReplica).where(
        col(SenderReplica.seen_at) < now - 20 * alive))
    # func.count() carries no column type that SQLModel's select() overloads accept.
    count = (await session.exec(select(func.count()).select_from(SenderReplica).where(  # type: ignore[call-overload]
        col(SenderReplica.seen_at) >= now - alive))).scalar_one()
    return max(1, int(count))


async def leave(session: AsyncSession, worker: str) -> None:
    """An instance stopping cleanly: the others take its share at their next beat."""
    await session.exec(delete(SenderReplica).where(col(SenderReplica.worker) == worker))
