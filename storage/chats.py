"""Chat accounts and their conversation state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Select, bindparam, exists, false, func, update
from sqlalchemy import select as sa_select
from sqlalchemy.sql.dml import UpdateBase
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import statuses
from storage.db import DialectInsert, as_loaded, aware, core, dialect_insert, insert_ignoring_duplicates
from storage.models import ChatAccount, ConversationState, OutboxMessage, ProcessedUpdate, utcnow


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
    touch_account(session, account)
    return account


def touch_account(session: AsyncSession, account: ChatAccount) -> None:
    """They wrote to us: seen now, and not blocking the bot (any more)."""
    now = utcnow()
    # To the minute: writing the account row on every message would cost an UPDATE per update for nothing.
    if account.last_seen_at is None or now - account.last_seen_at > timedelta(minutes=1):
        account.last_seen_at = now
    # Set only when it changes: an attribute set even to its own value puts the account in the session's dirty
    # set, and the flush that then ran on every update cost a quarter of a millisecond to find nothing to write.
    if account.unreachable_at is not None:
        account.unreachable_at = None
    session.add(account)


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


async def already_handled(session: AsyncSession, channel: str, update_key: str) -> bool:
    query = select(ProcessedUpdate.update_key).where(ProcessedUpdate.channel == channel,
                                                     ProcessedUpdate.update_key == update_key[:128])
    with session.no_autoflush:
        return (await session.exec(query)).first() is not None


async def first_time_seen(session: AsyncSession, channel: str, update_key: str) -> bool:
    """Records the update as handled: True the first time, False when it was recorded already."""
    result = await core(session, _seen_statement(dialect_insert(session)),
                        {"channel": channel, "update_key": update_key[:128], "at": utcnow()})
    return int(result.rowcount or 0) == 1


@cache
def _seen_statement(insert: DialectInsert) -> UpdateBase:
    # Built once with bind parameters, so SQLAlchemy compiles it once rather than on every update.
    table = ProcessedUpdate.__table__  # type: ignore[attr-defined]  # SQLModel sets __table__ without declaring it
    return insert(table).on_conflict_do_nothing(index_elements=["channel", "update_key"])


@dataclass(frozen=True)
class OpenChat:
    account: ChatAccount
    state: ConversationState
    handled: bool  # this very update was handled already (a redelivery)
    replies_waiting: bool  # replies the platform refused earlier are still to go out
    last_sent_at: datetime | None  # the chat's last message, by any sender, if within the last second or so


async def open_chat(session: AsyncSession, channel: str, chat_id: str, *, user_id: str | None,
                    display_name: str | None, default_language: str, update_key: str | None = None,
                    now: datetime | None = None, recent: timedelta = timedelta(seconds=2)) -> OpenChat:
    """The chat's account, its state row (locked on PostgreSQL), and what the update needs to know of its
    messages: one query for a chat seen before."""
    since = (now or utcnow()) - recent
    params = {"channel": channel, "chat_id": chat_id, "since": since} | (
        {"update_key": update_key[:128]} if update_key else {})
    query = _open_statement(with_key=update_key is not None)
    row = (await core(session, query, params)).first()
    if row is None:  # the chat's first message
        account = await get_or_create_chat_account(session, channel, chat_id, user_id=user_id,
                                                   display_name=display_name, default_language=default_language)
        state = await load_state_for_update(session, account.id)
        handled = update_key is not None and await already_handled(session, channel, update_key)
        return OpenChat(account, state, handled, False, None)
    accounts, states = len(_ACCOUNT.columns), len(_STATE.columns)
    account = as_loaded(session, ChatAccount, row[:accounts])
    state = as_loaded(session, ConversationState, row[accounts:accounts + states])
    handled, waiting, last_sent = row[accounts + states:]
    return OpenChat(account, state, bool(handled), bool(waiting), aware(last_sent) if last_sent is not None else None)


_ACCOUNT = ChatAccount.__table__  # type: ignore[attr-defined]  # SQLModel sets __table__ without declaring it
_STATE = ConversationState.__table__  # type: ignore[attr-defined]


@cache
def _open_statement(*, with_key: bool) -> Select[Any]:
    """The chat's account, its locked state and what the update needs to know of its messages, built once with bind
    parameters (building it anew was a good part of every update's cost); Core, the rows made into instances by
    as_loaded."""
    seen = (exists().where(col(ProcessedUpdate.channel) == bindparam("channel"),
                           col(ProcessedUpdate.update_key) == bindparam("update_key"))
            if with_key else false())
    waiting = exists().where(col(OutboxMessage.account_id) == _ACCOUNT.c.id, col(OutboxMessage.reason) == "reply",
                             col(OutboxMessage.status).in_((statuses.PENDING, statuses.SENDING)))
    last_sent = (sa_select(func.max(OutboxMessage.sent_at)).where(
        col(OutboxMessage.account_id) == _ACCOUNT.c.id,
        col(OutboxMessage.sent_at) > bindparam("since", type_=OutboxMessage.__table__.c.sent_at.type))  # type: ignore[attr-defined]
                 .scalar_subquery())
    return (sa_select(*_ACCOUNT.columns, *_STATE.columns, seen.label("seen"), waiting.label("waiting"),
                      last_sent.label("last_sent"))
            .join_from(_ACCOUNT, _STATE, _STATE.c.account_id == _ACCOUNT.c.id)
            .where(_ACCOUNT.c.channel == bindparam("channel"), _ACCOUNT.c.chat_id == bindparam("chat_id"))
            .with_for_update(of=_STATE))


async def save_state(session: AsyncSession, state: ConversationState, *, flow: str | None,
                     step: str | None, data: dict[str, Any], now: datetime) -> None:
    """The chat's new state, as one prepared UPDATE (not an ORM flush: this runs on every update)."""
    await core(session, _save_statement(), {"key": state.account_id, "flow": flow, "step": step, "data": data,
                                            "version": state.version + 1, "updated_at": now})


@cache
def _save_statement() -> UpdateBase:
    table = ConversationState.__table__  # type: ignore[attr-defined]  # SQLModel sets __table__ without declaring it
    return update(table).where(table.c.account_id == bindparam("key")).values(
        flow=bindparam("flow"), step=bindparam("step"), data=bindparam("data", type_=table.c.data.type),
        version=bindparam("version"), updated_at=bindparam("updated_at", type_=table.c.updated_at.type))


async def state_of(session: AsyncSession, account_id: int) -> ConversationState | None:
    """The chat's state row as committed (not locked: for a short write after the update's own transaction)."""
    query = select(ConversationState).where(ConversationState.account_id == account_id)
    return (await session.exec(query.execution_options(populate_existing=True))).first()


async def accounts_in_a_form(session: AsyncSession, account_ids: list[int]) -> set[int]:
    """Which of these chats are in the middle of a form (or answering one of its questions) right now."""
    if not account_ids:
        return set()
    rows = await session.exec(select(ConversationState.account_id, ConversationState.flow, ConversationState.data)
                              .where(col(ConversationState.account_id).in_(account_ids)))
    return {account_id for account_id, flow, data in rows if flow or "_await" in (data or {})}


# The forms that draft an application: a person leaving one open is reminded of it, and it counts as a draft.
DRAFT_FLOWS = ("register", "reevaluate")


async def drafts_of_producer(session: AsyncSession, producer_id: int, *, besides: int) -> int:
    """Registrations left open by the producer's other chats (each chat holds at most one)."""
    query = select(func.count()).select_from(ConversationState).join(
        ChatAccount, col(ChatAccount.id) == ConversationState.account_id).where(
        ChatAccount.producer_id == producer_id, col(ConversationState.flow).in_(DRAFT_FLOWS),
        ConversationState.account_id != besides)
    return (await session.exec(query)).one()
