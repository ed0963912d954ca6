"""Chat accounts and their conversation state."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import insert_ignoring_duplicates
from storage.models import ChatAccount, ConversationState, ProcessedUpdate, utcnow


async def get_or_create_chat_account(session: AsyncSession, channel: str, chat_id: str, *,
                                     user_id: str | None, display_name: str | None,
                                     default_language: str) -> ChatAccount:
    """The chat's account. Created race-free: a first double tap reaching two replicas makes one account.
    Read first: after a chat's first message the insert attempt would be wasted work on every update."""
    now = utcnow()
    query = select(ChatAccount).where(ChatAccount.channel == channel, ChatAccount.chat_id == chat_id)
    account = (await session.exec(query)).first()
    if account is None:
        await insert_ignoring_duplicates(session, ChatAccount, [{
            "channel": channel, "chat_id": chat_id, "user_id": user_id, "role": "producer",
            "display_name": (display_name or "")[:120] or None, "language": default_language, "created_at": now,
            "last_seen_at": now, "reminder_optouts": []}], ["channel", "chat_id"])
        account = (await session.exec(query.execution_options(populate_existing=True))).one()
    account.last_seen_at = now
    account.unreachable_at = None  # they wrote to us, so they have not blocked the bot (any more)
    session.add(account)
    return account


async def load_state_for_update(session: AsyncSession, account_id: int) -> ConversationState:
    """The chat's state row, locked on PostgreSQL, so one chat's updates run one at a time on every replica."""
    query = (select(ConversationState).where(ConversationState.account_id == account_id).with_for_update()
             .execution_options(populate_existing=True))
    state = (await session.exec(query)).first()
    if state is None:  # the chat's first message: create it race-free, then lock it like any other
        await insert_ignoring_duplicates(session, ConversationState, [{
            "account_id": account_id, "data": {}, "version": 0, "updated_at": utcnow()}], ["account_id"])
        state = (await session.exec(query)).one()
    return state


async def first_time_seen(session: AsyncSession, channel: str, update_key: str) -> bool:
    """True the first time this platform update is seen; False for a redelivery."""
    return await insert_ignoring_duplicates(session, ProcessedUpdate, [{
        "channel": channel, "update_key": update_key[:128], "at": utcnow()}], ["channel", "update_key"]) == 1


async def save_state(session: AsyncSession, state: ConversationState, *, flow: str | None,
                     step: str | None, data: dict, now: datetime) -> None:
    state.flow, state.step = flow, step
    # A fresh dict so SQLAlchemy sees the JSON column as changed.
    state.data = dict(data)
    state.version += 1
    state.updated_at = now
    session.add(state)
