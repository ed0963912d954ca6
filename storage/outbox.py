"""Messages the bot sends on its own initiative: written in the transaction that decides them,
claimed by a dispatcher with a lease, and kept with their outcome."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Insert, bindparam, case, delete, exists, func, insert, or_, true, update
from sqlalchemy import text as sql
from sqlalchemy.orm import aliased
from sqlalchemy.sql.dml import UpdateBase
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import aware, core, insert_ignoring_duplicates, on_postgresql
from storage.models import ChatAccount, ConversationState, OutboxMessage, WebPushSubscription, utcnow
from storage.statuses import DELIVERED, PENDING, SENDING, SENT


async def enqueue(session: AsyncSession, *, account_id: int, dedupe_key: str, reason: str, text: str,
                  options: list[dict[str, str]] | None = None, due_at: datetime | None = None,
                  file_id: int | None = None) -> bool:
    """Add a message unless one with the same dedupe key exists (also when another process adds it at the
    same moment); True when added."""
    values = {"account_id": account_id, "dedupe_key": dedupe_key, "reason": reason, "text": text,
              "options": options or [], "status": PENDING, "due_at": due_at or utcnow(), "attempts": 0,
              "created_at": utcnow(), "file_id": file_id}
    return await insert_ignoring_duplicates(session, OutboxMessage, [values], ["dedupe_key"]) == 1


async def message_by_key(session: AsyncSession, dedupe_key: str) -> OutboxMessage | None:
    return (await session.exec(select(OutboxMessage).where(OutboxMessage.dedupe_key == dedupe_key))).first()


async def account_id_of(session: AsyncSession, channel: str, chat_id: str) -> int | None:
    return (await session.exec(select(ChatAccount.id).where(ChatAccount.channel == channel,
                                                            ChatAccount.chat_id == chat_id))).first()


async def keep_replies(session: AsyncSession, account: int, rows: list[dict[str, object]]) -> int:
    """Replies that could not be sent when they were made, kept to go out through the dispatcher in order (each
    dict: dedupe_key, text, options, file_id, parts_sent). Returns how many were kept."""
    now = utcnow()
    # Never due before replies of this chat still waiting: the dispatcher sends by due time, and the chat must read
    # its answers in the order they were made.
    latest = (await session.exec(select(func.max(OutboxMessage.due_at)).where(
        OutboxMessage.account_id == account, OutboxMessage.reason == "reply",
        col(OutboxMessage.status).in_((PENDING, SENDING))))).one()
    latest = latest[0] if isinstance(latest, tuple) else latest
    latest = datetime.fromisoformat(latest) if isinstance(latest, str) else latest
    values: list[dict[str, Any]] = [{"account_id": account, "reason": "reply", "status": PENDING, "due_at": now,
                                     "attempts": 0, "created_at": now, "parts_sent": 0} | row for row in rows]
    for value in values:
        if latest is not None and value["due_at"] < aware(latest):
            value["due_at"] = aware(latest)
    return await insert_ignoring_duplicates(session, OutboxMessage, values, ["dedupe_key"])


async def journal_replies(session: AsyncSession, account_id: int, rows: list[dict[str, object]], *, worker: str,
                          now: datetime, lease: timedelta) -> list[int]:
    """Replies being sent right now by this process, written with the step that made them: claimed by `worker` (so
    no dispatcher takes them while it sends) until `now + lease`. Returns their ids in the order of `rows`."""
    values = [{"account_id": account_id, "reason": "reply", "status": SENDING, "due_at": now, "attempts": 0,
               "created_at": now, "claimed_by": worker, "lease_until": now + lease} | row for row in rows]
    result = await core(session, _journal_statement(), values)
    return [message_id for message_id, in result]


@cache
def _journal_statement() -> Insert:
    # Built once, run as one executemany: a multi-row VALUES was compiled anew for every update.
    table = OutboxMessage.__table__  # type: ignore[attr-defined]  # SQLModel sets __table__ without declaring it
    return insert(table).returning(table.c.id, sort_by_parameter_order=True)


async def forget_journal(session: AsyncSession, ids: Collection[int], worker: str) -> set[int]:
    """Journal rows this worker is done with: sent, or replaced by what is left of them to send. Returns the ids that
    were still its own (a row a dispatcher took over after the lease is left to it)."""
    if not ids:
        return set()
    result = await session.exec(delete(OutboxMessage).where(
        col(OutboxMessage.id).in_(list(ids)), col(OutboxMessage.claimed_by) == worker,
        col(OutboxMessage.status) == SENDING).returning(col(OutboxMessage.id)))
    return set(result.scalars())


# A sent reply's rows are kept this long, so that every sender sees the chat was just written to and waits
# its turn; then deleted, at the chat's next reply, so the outbox does not grow by a row or two per update.
SENT_REPLY_KEPT = timedelta(seconds=10)


async def journal_sent(session: AsyncSession, ids: Collection[int], worker: str, now: datetime) -> set[int]:
    """Journal rows the platform took: marked sent (every other sender then leaves the chat for a second, as the
    platform asks), and the chat's older sent replies deleted. Returns the ids that were still this worker's."""
    if not ids:
        return set()
    mark, forget = _sent_statements()
    rows = (await core(session, mark, {"ids": list(ids), "worker": worker, "now": now})).all()
    accounts = {row.account_id for row in rows}
    if accounts:
        await core(session, forget, {"accounts": list(accounts), "before": now - SENT_REPLY_KEPT})
    return {row.id for row in rows}


@cache
def _sent_statements() -> tuple[UpdateBase, UpdateBase]:
    # Core, built once: this runs for every reply sent, and the ORM's bulk-update path cost a third of the
    # writer's time per update for two statements.
    table = OutboxMessage.__table__  # type: ignore[attr-defined]  # SQLModel sets __table__ without declaring it
    at = table.c.sent_at.type
    mark = (update(table).where(table.c.id.in_(bindparam("ids", expanding=True)),
                                table.c.claimed_by == bindparam("worker"), table.c.status == SENDING)
            .values(status=SENT, sent_at=bindparam("now", type_=at), lease_until=None)
            .returning(table.c.id, table.c.account_id))
    forget = delete(table).where(table.c.account_id.in_(bindparam("accounts", expanding=True)),
                                 table.c.reason == "reply", table.c.status == SENT,
                                 table.c.sent_at < bindparam("before", type_=at))
    return mark, forget


async def enqueue_many(session: AsyncSession, rows: list[dict[str, object]]) -> int:
    """`enqueue` for many messages at once (each dict: account_id, dedupe_key, reason, text, options); the ones
    whose dedupe key exists are left out. Returns how many were added. A scan that finds nothing new to do
    costs one read per thousand keys and no writes."""
    existing = await existing_keys(session, [str(r["dedupe_key"]) for r in rows])
    now = utcnow()
    fresh = [{"status": PENDING, "due_at": now, "attempts": 0, "created_at": now, "file_id": None, "options": []} | r
             for r in rows if r["dedupe_key"] not in existing]
    added = 0
    for start in range(0, len(fresh), 500):
        added += await insert_ignoring_duplicates(session, OutboxMessage, fresh[start:start + 500], ["dedupe_key"])
    return added


async def existing_keys(session: AsyncSession, keys: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(keys), 1000):
        chunk = keys[start:start + 1000]
        found.update(await session.exec(select(OutboxMessage.dedupe_key)
                                        .where(col(OutboxMessage.dedupe_key).in_(chunk))))
    return found


@dataclass(frozen=True)
class QuietClaim:
    """What may go in quiet hours: rows of these reasons, to an open page (`chat_ids`) or to a person who wrote to
    the bot since `awake_since`; replies always."""

    reasons: Collection[str]
    awake_since: datetime


async def claim_due(session: AsyncSession, *, channel: str, worker: str, now: datetime, lease: timedelta,
                    limit: int, chat_ids: Collection[str] | None = None,
                    or_push_subscribed: bool = False, recent: timedelta = timedelta(seconds=1),
                    quiet: QuietClaim | None = None) -> list[tuple[OutboxMessage, ChatAccount]]:
    """Take up to `limit` due rows of a channel for this worker (only those of `chat_ids`, when given, and of chats
    with a Web Push subscription with `or_push_subscribed`; only what `quiet` lets go, when given): pending ones, and
    those whose sender's lease ran out (it died). On PostgreSQL, rows another dispatcher is claiming are skipped, not
    waited for."""
    open_page: ColumnElement[bool] = col(ChatAccount.chat_id).in_(list(chat_ids)) if chat_ids is not None else true()
    only = open_page
    if chat_ids is not None and or_push_subscribed:
        only = or_(only, exists().where(col(WebPushSubscription.account_id) == ChatAccount.id))
    if quiet is not None:
        awake = exists().where(col(ConversationState.account_id) == ChatAccount.id,
                               col(ConversationState.updated_at) >= quiet.awake_since)
        reached_now = or_(open_page, awake) if chat_ids is not None else awake
        only = only & or_(col(OutboxMessage.reason) == "reply",
                          col(OutboxMessage.reason).in_(list(quiet.reasons)) & reached_now)
    # A chat some sender is sending to right now (another replica's dispatcher, a reply being sent, this dispatcher's
    # previous claim still in flight) is left to it, and so is one sent to less than a second ago: the platform's one
    # message a second per chat, and the chat's order, hold only if one sender has the chat at once.
    other = aliased(OutboxMessage)
    being_sent = exists().where(col(other.account_id) == OutboxMessage.account_id, _busy(other, now, worker, recent))
    claimable = _claimable(now)
    due = (select(OutboxMessage.id, OutboxMessage.account_id)
           .join(ChatAccount, col(ChatAccount.id) == OutboxMessage.account_id)
           .where(ChatAccount.channel == channel, only, ~being_sent, claimable, col(OutboxMessage.due_at) <= now)
           # Replies first: a person waiting for an answer goes ahead of a broadcast's backlog, not behind it.
           .order_by(case((col(OutboxMessage.reason) == "reply", 0), else_=1), col(OutboxMessage.due_at),
                     col(OutboxMessage.id)).limit(limit)
           .with_for_update(skip_locked=True, of=OutboxMessage))
    found = list(await session.exec(due))
    if found and on_postgresql(session):
        found = await _chats_nobody_else_claims(session, found, now, worker, recent)
    ids = [message_id for message_id, _ in found]
    if not ids:
        return []
    # Only rows still claimable: on SQLite the SELECT above ran before the write lock, so another process may have
    # claimed some of them meanwhile (an `ocop-bot outbox drain` beside `ocop-bot run` sent them twice).
    claimed = await session.exec(update(OutboxMessage)
                                 .where(col(OutboxMessage.id).in_(ids), claimable)
                                 .values(status=SENDING, lease_until=now + lease, claimed_by=worker)
                                 .returning(col(OutboxMessage.id)))
    ids = list(claimed.scalars())
    if not ids:
        return []
    rows = await session.exec(select(OutboxMessage, ChatAccount)
                              .join(ChatAccount, col(ChatAccount.id) == OutboxMessage.account_id)
                              .where(col(OutboxMessage.id).in_(ids)).order_by(col(OutboxMessage.due_at),
                                                                              col(OutboxMessage.id))
                              .execution_options(populate_existing=True))
    return list(rows)


async def next_free_at(session: AsyncSession, now: datetime, recent: timedelta = timedelta(seconds=1)
                       ) -> datetime | None:
    """When the first due row that waits only because its chat was sent to a moment ago may go: a drain that found
    nothing to claim waits for it rather than leaving it behind."""
    other = aliased(OutboxMessage)
    claimable = _claimable(now)
    query = (select(func.min(other.sent_at)).select_from(OutboxMessage)
             .join(other, col(other.account_id) == OutboxMessage.account_id)
             .where(claimable, col(OutboxMessage.due_at) <= now, col(other.sent_at) > now - recent))
    first = (await session.exec(query)).one()
    return None if first is None else aware(first) + recent


def _claimable(now: datetime) -> ColumnElement[bool]:
    """Pending, or claimed by a sender whose lease ran out (it died)."""
    return or_(col(OutboxMessage.status) == PENDING,
               (col(OutboxMessage.status) == SENDING) & (col(OutboxMessage.lease_until) < now))


def _busy(row: type[OutboxMessage], now: datetime, worker: str, recent: timedelta) -> ColumnElement[bool]:
    """A row that makes its chat busy for `worker`: being sent (a live lease), or sent by another sender less than
    `recent` (the chat interval, OCOP_CHAT_INTERVAL) ago; this sender's own pacer knows when it last sent there."""
    return or_((col(row.status) == SENDING) & (col(row.lease_until) >= now),
               (col(row.sent_at) > now - recent) & (row.claimed_by != worker))


CLAIM_LOCKS = 0x0C0B  # the first key of the transaction locks a claim takes on each chat (PostgreSQL)


async def _chats_nobody_else_claims(session: AsyncSession, found: list[tuple[int, int]], now: datetime,
                                    worker: str, recent: timedelta) -> list[tuple[int, int]]:
    """Two dispatchers claiming at the same instant cannot see each other's claim, neither having committed, and
    would send to one chat at once. So each chat is claimed under a lock held until this transaction commits (a chat
    another claim holds is left), then looked at again in a new statement, which sees any claim committed meanwhile."""
    chats = sorted({account_id for _, account_id in found})
    # A text() statement: SQLModel's exec() is typed for its own select() and for DML only.
    locked = set((await session.exec(  # type: ignore[call-overload]
        sql("SELECT a FROM unnest(CAST(:chats AS integer[])) AS a WHERE pg_try_advisory_xact_lock(:key, a)"),
        params={"chats": chats, "key": CLAIM_LOCKS})).scalars())
    if locked:
        other = aliased(OutboxMessage)
        taken = set(await session.exec(select(other.account_id).where(col(other.account_id).in_(locked),
                                                                      _busy(other, now, worker, recent))))
        locked -= taken
    return [(message_id, account_id) for message_id, account_id in found if account_id in locked]


async def release_claims(session: AsyncSession, worker: str) -> int:
    """Rows a dead predecessor with this worker's name claimed: pending again. (Any of them it had already
    handed to the platform when it died go out a second time; no chat platform says which.)"""
    result = await session.exec(update(OutboxMessage)
                                .where(col(OutboxMessage.claimed_by) == worker, col(OutboxMessage.status) == SENDING)
                                .values(status=PENDING, lease_until=None))
    return int(result.rowcount or 0)


async def finish(session: AsyncSession, message_id: int, worker: str, **values: object) -> bool:
    """Record what happened to a claimed row; False when the row is no longer this worker's (lease lost)."""
    result = await session.exec(update(OutboxMessage)
                                .where(col(OutboxMessage.id) == message_id, col(OutboxMessage.claimed_by) == worker,
                                       col(OutboxMessage.status) == SENDING)
                                .values(lease_until=None, **values))
    return bool(result.rowcount)


# What a finished send may change; the rest keep the values the row was claimed with.
_OUTCOME_FIELDS = ("status", "attempts", "due_at", "sent_at", "last_error", "parts_sent")


def outcome(message: OutboxMessage, values: dict[str, object]) -> dict[str, object]:
    unknown = set(values) - set(_OUTCOME_FIELDS)
    assert not unknown, unknown
    return {field: values.get(field, getattr(message, field)) for field in _OUTCOME_FIELDS}


async def finish_many(session: AsyncSession, worker: str, outcomes: list[tuple[int, dict[str, object]]]) -> set[int]:
    """Record several claimed rows' outcomes in one statement; returns the ids that were still this worker's."""
    if not outcomes:
        return set()
    await session.exec(_FINISH_MANY, params=[
        {"message_id": message_id, "worker": worker} | {f"new_{k}": v for k, v in values.items()}
        for message_id, values in outcomes])
    # Rows another dispatcher took over (after this one's lease ran out) kept their claim: they are not ours.
    ids = [message_id for message_id, _ in outcomes]
    ours = await session.exec(select(OutboxMessage.id).where(col(OutboxMessage.id).in_(ids),
                                                             OutboxMessage.claimed_by == worker))
    return set(ours)


_table = OutboxMessage.__table__  # type: ignore[attr-defined]  # SQLModel sets __table__ without declaring it
_FINISH_MANY = (update(_table)
                .where(_table.c.id == bindparam("message_id"), _table.c.claimed_by == bindparam("worker"),
                       _table.c.status == SENDING)
                .values(lease_until=None, **{k: bindparam(f"new_{k}") for k in _OUTCOME_FIELDS}))


async def mark_unreachable(session: AsyncSession, account_id: int, now: datetime) -> None:
    await session.exec(update(ChatAccount).where(col(ChatAccount.id) == account_id)
                       .values(unreachable_at=now))


async def latest_notice_since(session: AsyncSession, account_id: int, since: datetime) -> OutboxMessage | None:
    """The last proactive message that reached the chat after `since`, if any."""
    query = (select(OutboxMessage).where(OutboxMessage.account_id == account_id,
                                         OutboxMessage.reason != "reply",  # a reply is what was shown, not news
                                         col(OutboxMessage.status).in_(DELIVERED),
                                         col(OutboxMessage.sent_at) > since)
             .order_by(col(OutboxMessage.sent_at).desc(), col(OutboxMessage.id).desc()).limit(1))
    return (await session.exec(query)).first()


async def counts_by_status_and_reason(session: AsyncSession) -> Counter[tuple[str, str]]:
    rows = await session.exec(select(OutboxMessage.status, OutboxMessage.reason, func.count())
                              .group_by(OutboxMessage.status, OutboxMessage.reason))
    return Counter({(status, reason): count for status, reason, count in rows})
