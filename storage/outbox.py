"""Messages the bot sends on its own initiative: written in the transaction that decides them."""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import ChatAccount, OutboxMessage, utcnow


async def enqueue(session: AsyncSession, *, account_id: int, dedupe_key: str, reason: str, text: str,
                  options: list[dict[str, str]] | None = None) -> bool:
    """Add a message unless one with the same dedupe key exists; True when added."""
    exists = (await session.exec(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key))).first()
    if exists is not None:
        return False
    session.add(OutboxMessage(account_id=account_id, dedupe_key=dedupe_key, reason=reason, text=text,
                              options=options or []))
    return True


async def pending_for_channel(session: AsyncSession, channel: str, limit: int = 100) -> list[tuple[OutboxMessage,
                                                                                                   ChatAccount]]:
    rows = await session.exec(
        select(OutboxMessage, ChatAccount).join(ChatAccount, col(ChatAccount.id) == OutboxMessage.account_id)
        .where(OutboxMessage.status == "pending", ChatAccount.channel == channel)
        .order_by(col(OutboxMessage.id)).limit(limit))
    return list(rows)  # type: ignore[arg-type]


async def pending_for_account(session: AsyncSession, account_id: int) -> list[OutboxMessage]:
    rows = await session.exec(select(OutboxMessage).where(OutboxMessage.account_id == account_id,
                                                          OutboxMessage.status == "pending")
                              .order_by(col(OutboxMessage.id)))
    return list(rows)


def mark(message: OutboxMessage, *, sent: bool, error: str | None = None) -> None:
    message.attempts += 1
    if sent:
        message.status, message.sent_at, message.last_error = "sent", utcnow(), None
    else:
        message.last_error = (error or "")[:500]
        if message.attempts >= 5:
            message.status = "failed"
