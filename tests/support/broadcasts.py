"""A broadcast already queued to many chats."""

from __future__ import annotations

from datetime import UTC, datetime

from storage.broadcasts import Audience, create_broadcast
from storage.models import ChatAccount, Officer
from tests.support.seed import add_producer

MORNING = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)


async def broadcast_to(sessions, count: int, *, officer_channel: str = "web", officer_chat: str = "officer",
                       scheduled_at: datetime = MORNING, producer: bool = False) -> tuple[int, int]:
    """An officer and a broadcast queued to `count` Telegram chats; returns (broadcast id, officer account id)."""
    async with sessions() as session, session.begin():
        producer_id = (await add_producer(session, name="HTX", phone=None)).id if producer else None
        officer_account = ChatAccount(channel=officer_channel, chat_id=officer_chat)
        accounts = [ChatAccount(channel="telegram", chat_id=str(i), producer_id=producer_id) for i in range(count)]
        session.add_all([officer_account, *accounts])
        await session.flush()
        officer = Officer(name="A", province_code="lam-dong", code_hash="h", code_expires_at=MORNING,
                          account_id=officer_account.id)
        session.add(officer)
        await session.flush()
        broadcast = await create_broadcast(session, officer_id=officer.id, account_id=officer_account.id,
                                           text="Tin", file_id=None, audience=Audience(("lam-dong",)),
                                           recipients=accounts, scheduled_at=scheduled_at)
        return broadcast.id, officer_account.id
