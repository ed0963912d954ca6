"""The outbox dispatcher: claims due rows, sends them within each channel's limits, keeps every outcome.

Rules, in one place: the channel's pacer (bot/outbox/pacer.py) spaces every call, replies to people first; a 429
retries the row after retry_after without counting it as a failure (the pacer decides whether it slows the chat or
the whole channel); network errors and 5xx retry with exponential backoff up to max_attempts, then the row is failed
with its reason; 403 marks the chat unreachable and nothing more is sent to it; quiet hours hold until morning all
but answers to what an awake person did (handlers/notices/quiet.py); a person's opt-outs turn rows of that kind into
'skipped'. A sender that dies leaves its rows 'sending' until their lease runs out, then any dispatcher takes them
again.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.metrics import Metrics
from bot.outbox.outcomes import (
    NotThere,
    PartlySent,
    Permanent,
    Reachable,
    RetryLater,
    Send,
    Unreachable,
)
from handlers.notices.quiet import AWAKE, PROMPTED, QuietHours
from handlers.types import Attachment, Option, Reply
from storage import outbox, statuses
from storage.blobs import blob_path
from storage.chats import accounts_in_a_form
from storage.models import ChatAccount, OutboxMessage, StoredFile
from storage.writer import Transactions

log = logging.getLogger(__name__)


# Reminder kinds a person may turn off with /nhacnho, by the outbox reason they are sent with.
OPTIONAL_KINDS = {"training": "training", "fair": "fair", "draft": "draft"}


def reason_kind(reason: str) -> str:
    return reason.split(".", 1)[0]


@dataclass
class Limits:
    lease: timedelta = timedelta(seconds=60)
    max_attempts: int = 5
    backoff_base: float = 2.0
    quiet_start: time = time(21, 0)
    quiet_end: time = time(7, 0)
    timezone: str = "Asia/Ho_Chi_Minh"
    # Rows in flight at most; more are claimed when half are done, so a reply kept meanwhile waits about a second of
    # sending at Telegram's pace behind them, not eight.
    batch: int = 50
    chat_interval: timedelta = timedelta(seconds=1)  # OCOP_CHAT_INTERVAL: another sender's chat waits this long

    @property
    def quiet(self) -> QuietHours:
        return QuietHours(self.quiet_start, self.quiet_end, self.timezone)

    def in_quiet_hours(self, now: datetime) -> bool:
        return self.quiet.holds(now)


class Dispatcher:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], senders: dict[str, Send], limits: Limits,
                 *, clock: Callable[[], datetime] | None = None,
                 data_dir: Path | None = None, after_round: Callable[[], Awaitable[None]] | None = None,
                 metrics: Metrics | None = None, worker: str | None = None,
                 reachable: dict[str, Reachable] | None = None, pushable: frozenset[str] = frozenset()) -> None:
        self._sessions = sessions
        self._transactions = Transactions(sessions)
        self._senders = senders
        self._reachable = reachable or {}
        self._pushable = pushable  # channels whose chats with a push subscription are reachable anywhere
        self.limits = limits
        self._clock = clock or (lambda: datetime.now(UTC))
        # A name only this process can have (the app uses host:port): rows still claimed under it on start-up
        # were left by this process's dead predecessor and are taken back at once, not after their lease.
        self.worker = worker or f"dispatcher-{uuid.uuid4().hex[:12]}"
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._in_flight: dict[str, int] = {}  # rows claimed and not yet finished, by channel
        self._data_dir = data_dir
        self._metrics = metrics
        self._after_round = after_round  # e.g. broadcast progress (throttled by itself); runs after every round
        self._outcomes = GroupCommit(sessions, lambda session, batch: outbox.finish_many(session, self.worker, batch))

    def kick(self) -> None:
        """Look for due rows now rather than at the next poll."""
        self._wake.set()

    def start(self, poll_seconds: float = 2.0) -> None:
        self._task = asyncio.create_task(self._run(poll_seconds))

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self, poll_seconds: float) -> None:
        try:
            if taken := await self._transactions.run(lambda session: outbox.release_claims(session, self.worker)):
                log.warning("took back %s outbox rows claimed by this instance before it last stopped", taken)
        except Exception:  # the rows will be taken when their lease runs out instead
            log.exception("could not take back this instance's earlier claims")
        # Rounds overlap: more rows are claimed as soon as half of those in flight are done, so one chat waiting
        # for its turn (a person's kept replies, a second apart) never leaves the channel's pace unused.
        sending: set[asyncio.Task[None]] = set()
        try:
            while not self._stopping:
                self._wake.clear()
                try:
                    sending |= (await self._claim_more())[0]
                    if self._after_round is not None:  # also on idle rounds: a broadcast's last sends need it
                        await self._after_round()
                except Exception:  # a database hiccup must not kill the loop; rows stay claimable
                    log.exception("outbox dispatch round failed")
                if self._stopping:  # stop() may have set the event before it was cleared
                    break
                woken = asyncio.ensure_future(self._wake.wait())
                done, _ = await asyncio.wait(sending | {woken}, timeout=poll_seconds,
                                             return_when=asyncio.FIRST_COMPLETED)
                woken.cancel()
                sending -= done
        finally:
            await asyncio.gather(*sending, return_exceptions=True)

    async def drain(self, *, max_rounds: int = 1_000_000) -> int:
        """Send everything due now, then return how many rows were handled (for `ocop-bot outbox drain`)."""
        total, waits = 0, 0
        for _ in range(max_rounds):
            handled = await self.drain_once()
            total += handled
            if handled:
                waits = 0
                continue
            free_at = await self._transactions.read(functools.partial(
                _next_free_at, self._clock(), self.limits.chat_interval))
            if free_at is None or waits >= 3:  # nothing held back (or a clock that does not move, in a test)
                break
            waits += 1  # due rows of chats another sender wrote to a moment ago: their turn comes within a second
            await asyncio.sleep(min(1.0, max(0.05, (free_at - self._clock()).total_seconds())))
        return total

    async def drain_once(self) -> int:
        """Claim a round of due rows per channel and send them all; returns how many rows that was."""
        tasks, handled = await self._claim_more()
        await asyncio.gather(*tasks)
        if self._after_round is not None:  # also on idle rounds: a broadcast's last sends need their report
            await self._after_round()
        return handled

    async def _claim_more(self) -> tuple[set[asyncio.Task[None]], int]:
        """Claim due rows for every channel with room (half a round in flight or less) and start sending them: one
        task a chat, its rows in order. A chat already being sent to is not claimed again (`claim_due`). Returns the
        tasks and how many rows they send."""
        now = self._clock()
        # In quiet hours only answers to what a person did go, to a person awake (handlers.notices.quiet).
        awake_since = now - AWAKE if self.limits.in_quiet_hours(now) else None
        started: set[asyncio.Task[None]] = set()
        claimed_rows = 0
        for channel, send in self._senders.items():
            in_flight = self._in_flight.get(channel, 0)
            if in_flight > self.limits.batch // 2:
                continue
            chats = self._reachable[channel]() if channel in self._reachable else None
            pushable = channel in self._pushable
            if chats is not None and not chats and not pushable:
                continue  # no page of this channel is open here: its notices wait where they are
            claimed, busy = await self._transactions.run(functools.partial(
                self._claim, channel, now, self.limits.batch - in_flight, chats, pushable, awake_since))
            by_chat: dict[str, list[tuple[OutboxMessage, ChatAccount]]] = {}
            for row in claimed:
                by_chat.setdefault(row[1].chat_id, []).append(row)
            # Not `in_flight + len(claimed)`: sends that finished during the claim have counted themselves down.
            self._in_flight[channel] = self._in_flight.get(channel, 0) + len(claimed)
            claimed_rows += len(claimed)
            started |= {asyncio.create_task(self._send_chat(channel, send, rows, busy)) for rows in by_chat.values()}
        return started, claimed_rows

    async def _claim(self, channel: str, now: datetime, limit: int, chats: set[str] | None, pushable: bool,
                     awake_since: datetime | None,
                     session: AsyncSession) -> tuple[list[tuple[OutboxMessage, ChatAccount]], set[int]]:
        quiet = outbox.QuietClaim(PROMPTED, awake_since) if awake_since is not None else None
        claimed = await outbox.claim_due(session, channel=channel, worker=self.worker, now=now,
                                         lease=self.limits.lease, limit=limit, recent=self.limits.chat_interval,
                                         chat_ids=chats, or_push_subscribed=pushable, quiet=quiet)
        # A notice's options are not numbered for a chat in a form: its numbers answer the form.
        # (A reply kept for later is the chat's own question: its numbers are the form's.)
        busy = await accounts_in_a_form(session, [a.id for m, a in claimed if m.options and m.reason != "reply"])
        return claimed, busy

    async def _send_chat(self, channel: str, send: Send, rows: list[tuple[OutboxMessage, ChatAccount]],
                         busy: set[int]) -> None:
        # A chat's messages go out in order; the channel's pacer spaces them (and everything else it sends).
        for message, account in rows:
            try:
                await self._deliver(send, message, account, numbered=account.id not in busy)
            except Exception:  # its outcome could not be written: the row is taken again after its lease
                log.exception("outbox row %s: its outcome was not recorded", message.id)
            finally:
                self._in_flight[channel] -= 1

    async def _deliver(self, send: Send, message: OutboxMessage, account: ChatAccount, *,
                       numbered: bool = True) -> None:
        assert message.id is not None
        now = self._clock()
        if account.unreachable_at is not None:
            await self._finish(message, status=statuses.UNREACHABLE, last_error="blocked earlier")
            return
        kind = OPTIONAL_KINDS.get(reason_kind(message.reason))
        if kind is not None and kind in (account.reminder_optouts or []):
            await self._finish(message, status=statuses.SKIPPED, last_error="opted out")
            return
        # Notices carry their buttons on the message; a kept reply keeps the keyboard (and the rest of its shape:
        # a contact button, an upload page) it was made with.
        inline = bool(message.options) and all(o.get("inline", True) for o in message.options)
        shape = dict(message.shape or {})
        shape["numbered"] = numbered and shape.get("numbered", True)
        reply = Reply(message.text, options=tuple(Option(o["id"], o["label"]) for o in message.options), inline=inline,
                      attachments=await self._attachment(message.file_id), from_part=message.parts_sent,
                      proactive=message.reason != "reply", **shape)
        parts = message.parts_sent
        try:
            try:
                status = await send(account.chat_id, reply) or statuses.SENT
            except PartlySent as partial:  # keep what was delivered: the retry resumes at the part that failed
                parts = max(parts, partial.parts)
                raise partial.cause from partial
        except NotThere:
            await self._finish(message, status=statuses.PENDING, parts_sent=parts)
            return
        except RetryLater as exc:  # the pacer has slowed the chat, or paused the channel, already
            await self._finish(message, status=statuses.PENDING, due_at=now + timedelta(seconds=exc.seconds),
                               last_error=str(exc), parts_sent=parts)
            return
        except Unreachable as exc:
            if self._metrics is not None:
                self._metrics.sends.labels(statuses.UNREACHABLE).inc()
            error = str(exc)[:500]

            async def unreachable(session: AsyncSession) -> None:
                assert message.id is not None
                if await outbox.finish(session, message.id, self.worker, status=statuses.UNREACHABLE,
                                       attempts=message.attempts + 1, last_error=error, parts_sent=parts):
                    await outbox.mark_unreachable(session, account.id, now)

            await self._transactions.run(unreachable)
            return
        except Permanent as exc:
            await self._finish(message, status=statuses.FAILED, attempts=message.attempts + 1,
                               last_error=str(exc)[:500], parts_sent=parts)
            return
        except Exception as exc:  # Transient, or anything unexpected: back off and try again
            attempts = message.attempts + 1
            if attempts >= self.limits.max_attempts:
                await self._finish(message, status=statuses.FAILED, attempts=attempts, last_error=repr(exc)[:500],
                                   parts_sent=parts)
            else:
                delay = self.limits.backoff_base * 2 ** (attempts - 1)
                await self._finish(message, status=statuses.PENDING, attempts=attempts,
                                   due_at=now + timedelta(seconds=delay), last_error=repr(exc)[:500],
                                   parts_sent=parts)
            return
        await self._finish(message, status=status, attempts=message.attempts + 1, sent_at=self._clock(),
                           last_error=None)

    async def _attachment(self, file_id: int | None) -> tuple[Attachment, ...]:
        if file_id is None or self._data_dir is None:
            return ()
        stored = await self._transactions.read(lambda session: session.get(StoredFile, file_id))
        if stored is None:
            return ()
        path = blob_path(self._data_dir, stored.sha256, stored.mime)
        return (Attachment(str(path), stored.mime, stored.original_name or path.name),)

    async def _finish(self, message: OutboxMessage, **values: object) -> None:
        if self._metrics is not None:
            self._metrics.sends.labels(str(values.get("status", "?"))).inc()
        if not await self._outcomes.record(message, values):
            log.warning("outbox row %s was taken over by another dispatcher before it finished", message.id)


async def _next_free_at(now: datetime, interval: timedelta, session: AsyncSession) -> datetime | None:
    return await outbox.next_free_at(session, now, interval)


class GroupCommit:
    """Writes about claimed rows (a send's outcome; a sent reply's journal row forgotten), done together: every one
    that arrives while one commit is under way goes into the next. Each sender still waits until its own is committed
    (so a crash can resend at most what was in flight), but a thousand sends a second no longer need a thousand
    commits. `write(session, [(row id, values)])` returns the ids that were still this worker's."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession],
                 write: Callable[[AsyncSession, list[tuple[int, dict[str, object]]]], Awaitable[set[int]]]) -> None:
        self._transactions = Transactions(sessions)
        self._write = write
        self._queue: list[tuple[int, dict[str, object], asyncio.Future[bool]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def record(self, message: OutboxMessage, values: dict[str, object]) -> bool:
        """Write the outcome; False when the row is no longer this worker's (its lease ran out meanwhile)."""
        assert message.id is not None
        return await self.record_row(message.id, outbox.outcome(message, values))

    async def record_row(self, message_id: int, values: dict[str, object]) -> bool:
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._queue.append((message_id, values, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_all())
        return await done

    async def _write_rows(self, rows: list[tuple[int, dict[str, object]]], session: AsyncSession) -> set[int]:
        return await self._write(session, rows)

    async def _write_all(self) -> None:
        while self._queue:
            batch, self._queue = self._queue, []
            try:
                kept = await self._transactions.run(functools.partial(self._write_rows, [(i, v) for i, v, _ in batch]))
            except Exception as exc:  # the senders see it; their rows stay claimable after the lease
                for _, _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
                continue
            for message_id, _, done in batch:
                if not done.done():
                    done.set_result(message_id in kept)
