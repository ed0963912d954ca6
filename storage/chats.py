"""Chat accounts and their conversation state."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import ChatAccount, ConversationState, utcnow


async def get_or_create_chat_account(session: AsyncSession, channel: str, chat_id: str, *,
                                     user_id: str | None, display_name: str | None,
                                     default_language: str) -> ChatAccount:
    account = (await session.exec(
        select(ChatAccount).where(ChatAccount.channel == channel, ChatAccount.chat_id == chat_id)
    )).first()
    if account is None:
        account = ChatAccount(channel=channel, chat_id=chat_id, user_id=user_id,
                              display_name=(display_name or "")[:120] or None, language=default_language)
        session.add(account)
        await session.flush()
    else:
        account.last_seen_at = utcnow()
        account.unreachable_at = None  # they wrote to us, so they have not blocked the bot (any more)
        session.add(account)
    return account


async def load_state_for_update(session: AsyncSession, account_id: int) -> ConversationState:
    """The chat's state row, locked on PostgreSQL so one chat's updates run one at a time."""
    state = (await session.exec(
        select(ConversationState).where(ConversationState.account_id == account_id).with_for_update()
    )).first()
    if state is None:
        state = ConversationState(account_id=account_id, data={})
        session.add(state)
        await session.flush()
    return state


async def save_state(session: AsyncSession, state: ConversationState, *, flow: str | None,
                     step: str | None, data: dict, now: datetime) -> None:
    state.flow, state.step = flow, step
    # A fresh dict so SQLAlchemy sees the JSON column as changed.
    state.data = dict(data)
    state.version += 1
    state.updated_at = now
    session.add(state)
