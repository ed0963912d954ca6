"""One update, one transaction: read the chat's state, run the handler, commit, then reply."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
import uuid
import weakref
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.flood import FloodGuard, HourlyLimit, Verdict
from bot.metrics import Metrics
from bot.outbox.dispatcher import GroupCommit
from bot.outbox.outcomes import Outcome, Unreachable
from handlers import router, shown
from handlers.forms.uploads import DOCUMENT_TYPES
from handlers.notices.quiet import QuietHours
from handlers.types import Attachment, Context, Incoming, Quotas, Reply, State, reply_shape
from messages import t
from storage import outbox, statuses
from storage.blobs import checked_content, save_file, sniff_mime, stored_file_at
from storage.chats import first_time_seen, open_chat, save_state, state_of, touch_account
from storage.outbox import account_id_of, forget_journal, journal_replies, journal_sent, keep_replies
from storage.writer import NotSaved, Transactions, off_the_loop

log = logging.getLogger(__name__)


class ConversationRunner:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], *, data_dir: Path, max_upload_bytes: int,
                 default_language: str, timezone: str = "Asia/Ho_Chi_Minh",
                 clock: Callable[[], datetime] | None = None, metrics: Metrics | None = None,
                 flood: FloodGuard | None = None, worker: str | None = None, quotas: Quotas | None = None,
                 uploads: HourlyLimit | None = None, quiet: QuietHours | None = None, answer_days: int = 15) -> None:
        self._sessions = sessions
        self._quiet, self._answer_days = quiet, answer_days
        self._transactions = Transactions(sessions)
        self._quotas = quotas or Quotas()
        self._uploads = uploads
        # The name journal rows are claimed under: this process's alone (the app uses host:port), so its
        # successor can take back at start-up what it left unsent.
        self._journal_worker = f"{worker or uuid.uuid4().hex[:12]}/replies"
        self._journaled: set[str] = set()
        # Sent replies' rows are marked sent (so every sender leaves the chat its second) and deleted with the chat's
        # next reply: the journal only has to outlive a crash, not grow the outbox by a row or two per update.
        self._forget = GroupCommit(sessions, lambda session, batch: journal_sent(
            session, [row for row, _ in batch], self._journal_worker, self._clock()))
        self._data_dir = data_dir
        self._max_upload_bytes = max_upload_bytes
        self._default_language = default_language
        self._timezone = timezone
        self._metrics = metrics
        self._flood = flood
        self._clock = clock or (lambda: datetime.now(UTC))
        # One chat's updates run one at a time in this process (a double tap must not race itself);
        # the row lock taken by open_chat does the same across processes on PostgreSQL.
        self.on_outbox: Callable[[], None] | None = None  # set by the wiring once a sender exists
        # (channel, chat id, seconds since the chat was last sent to): the wiring holds that chat in its pacer.
        self.on_chat_written: Callable[[str, str, float], None] | None = None
        self._locks: weakref.WeakValueDictionary[tuple[str, str], asyncio.Lock] = weakref.WeakValueDictionary()

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        return self._sessions

    async def handle(self, incoming: Incoming, *, follow_up: bool = False) -> list[Reply]:
        """The replies to send. They are returned only after the new state is committed. `follow_up`: a further
        file of one upload the person sent at once, which the flood guard already counted."""
        key = (incoming.channel, incoming.chat_id)
        if self._flood is not None and not follow_up and not self._from_backlog(incoming):
            verdict = self._flood.check(key)
            if verdict is not Verdict.ADMIT:
                if self._metrics is not None:
                    self._metrics.flood_refused.labels(incoming.channel).inc()
                if verdict is Verdict.DROP:
                    return []
                return [Reply(t(self._language(key), "error.flood"))]
        if incoming.file is not None and self._uploads is not None and (wait := self._uploads.take(key)) is not None:
            return [Reply(t(self._language(key), "error.upload_limit", max=self._uploads.limit,
                            minutes=max(1, round(wait / 60))))]
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        started = time.perf_counter()
        try:
            async with lock:
                return await self._handle_in_transaction(await _downloaded(incoming, self._max_upload_bytes))
        except NotSaved:
            log.warning("a %s update was not saved (its group's commit failed); the person is asked to send it again",
                        incoming.channel)
            return [Reply(t(self._language(key), "error.not_saved"))]
        except Exception:
            log.exception("update failed for a %s chat; state left at its last committed step", incoming.channel)
            return [Reply(t(self._default_language, "error.unexpected"))]
        finally:
            if self._metrics is not None:
                self._metrics.updates.labels(incoming.channel).inc()
                self._metrics.latency.labels(incoming.channel).observe(time.perf_counter() - started)

    def _language(self, key: tuple[str, str]) -> str:
        """The chat's language without reading the database (for answers given before the update is read)."""
        return (self._flood.language(key) if self._flood else None) or self._default_language

    def journal(self, channel: str) -> ConversationRunner:
        """From now on, replies on `channel` are written to the outbox with the step that made them, claimed by this
        process while it sends them; the channel reports each one's fate (`sent`, `keep`, `failed`). A process killed
        in between leaves them claimed, and its successor (or any dispatcher, once the lease runs out) sends them."""
        self._journaled.add(channel)
        return self

    async def take_back_journal(self) -> int:
        """At start-up, before any update: replies a killed predecessor of this process had not sent go to the
        dispatcher now rather than after their lease. (One it had handed to the platform just before it died goes
        out a second time: no chat platform says which were delivered.)"""
        return await self._transactions.run(lambda session: outbox.release_claims(session, self._journal_worker))

    async def sent(self, channel: str, reply: Reply) -> None:
        """The platform took it: its journal rows have done their job (grouped with other replies' in one commit)."""
        self._count(channel, statuses.SENT, 1)
        try:
            kept = await asyncio.gather(*(self._forget.record_row(row, {}) for row in reply.journal_rows))
        except Exception:  # the rows stay claimed: sent again after a restart, the one case a repeat is possible
            log.exception("could not record that a reply was sent")
            return
        if not all(kept):
            log.warning("a reply's row was taken over by a dispatcher before it was recorded as sent")

    async def failed(self, channel: str, replies: list[Reply], outcome: Outcome) -> None:
        status = statuses.UNREACHABLE if isinstance(outcome, Unreachable) else statuses.FAILED
        self._count(channel, status, len(replies))
        now = self._clock()
        values = {"status": status, "attempts": 1, "due_at": now, "sent_at": None, "last_error": repr(outcome)[:500],
                  "parts_sent": 0}
        rows = [(row, values) for reply in replies for row in reply.journal_rows]
        await self._transactions.run(lambda session: outbox.finish_many(session, self._journal_worker, rows))

    async def keep(self, channel: str, chat_id: str, replies: list[Reply], *, wait_seconds: float = 1.0) -> None:
        """Replies the platform did not take now (429, 5xx, a timeout) are kept and sent by the dispatcher when it
        can (after `wait_seconds`, the platform's retry_after), in order, with their outcome counted: a reply is as
        durable as any other message. The first may start part-way (`from_part`): its earlier parts were delivered.
        Rows journaled for them are replaced by what is left to send."""
        if not replies:
            return
        self._count(channel, "kept", len(replies))
        due = self._clock() + timedelta(seconds=wait_seconds)

        async def keep_them(session: AsyncSession) -> None:
            await forget_journal(session, [row for reply in replies for row in reply.journal_rows],
                                 self._journal_worker)
            account = await account_id_of(session, channel, chat_id)
            if account is not None:
                await keep_replies(session, account, [row | {"due_at": due} for rows in
                                                      await self._reply_rows(session, replies) for row in rows])

        await self._transactions.run(keep_them)
        if self.on_outbox is not None:
            self.on_outbox()

    def _count(self, channel: str, result: str, replies: int) -> None:
        if self._metrics is not None:
            self._metrics.replies.labels(channel, result).inc(replies)

    async def _reply_rows(self, session: AsyncSession, replies: list[Reply]) -> list[list[dict[str, object]]]:
        """Each reply as outbox rows (a row carries one file: further files follow as rows of their own)."""
        key = uuid.uuid4().hex[:16]
        out: list[list[dict[str, object]]] = []
        for index, reply in enumerate(replies):
            files = [await self._stored_file(session, attachment) for attachment in reply.attachments]
            rows: list[dict[str, object]] = [{
                "dedupe_key": f"reply:{key}:{index}", "text": reply.text, "file_id": files[0] if files else None,
                "options": [{"id": o.id, "label": o.label, "inline": reply.inline} for o in reply.options],
                "parts_sent": reply.from_part, "shape": reply_shape(reply)}]
            rows += [{"dedupe_key": f"reply:{key}:{index}:{n}", "text": "", "file_id": file, "options": [],
                      "parts_sent": 0, "shape": None} for n, file in enumerate(files[1:], 1)]
            out.append(rows)
        return out

    async def _stored_file(self, session: AsyncSession, attachment: Attachment) -> int:
        if attachment.content is None and (known := await stored_file_at(session, self._data_dir, attachment.path)):
            return known  # an upload kept already (a dossier's files): not read again
        content = attachment.content
        if content is None:
            content = await off_the_loop(Path(attachment.path).read_bytes)
        stored = await save_file(session, self._data_dir, content, attachment.mime, attachment.name)
        assert stored.id is not None
        return stored.id

    async def _journaled_replies(self, session: AsyncSession, account_id: int | None,
                                 replies: list[Reply]) -> list[Reply]:
        assert account_id is not None
        per_reply = await self._reply_rows(session, replies)
        ids = iter(await journal_replies(session, account_id, [row for rows in per_reply for row in rows],
                                         worker=self._journal_worker, now=self._clock(), lease=JOURNAL_LEASE))
        return [replace(reply, journal_rows=tuple(next(ids) for _ in rows)) for reply, rows in zip(replies, per_reply,
                                                                                                  strict=True)]

    def _from_backlog(self, incoming: Incoming) -> bool:
        """Sent a while ago and only arriving now (the bot was down, a webhook was retried): answered in turn, not
        refused as a flood. Flood control is about what a person sends now."""
        return incoming.sent_at is not None and self._clock() - incoming.sent_at > BACKLOG_AFTER

    async def _handle_in_transaction(self, incoming: Incoming) -> list[Reply]:
        lost_race = False
        for pause in (*RETRY_PAUSES, None):
            try:
                return await self._transaction(incoming)
            except _AlreadyHandled:
                return []
            except IntegrityError:
                # Another chat's transaction wrote the same unique value (a tax code) between our check and our
                # write. Ours rolled back; run again, it sees the other's row and answers as the check would have.
                if lost_race or pause is None:
                    raise
                lost_race = True
                log.info("a unique value was taken by another chat meanwhile; handling the update again")
            except DBAPIError as exc:
                # The database went away (restart, failover, a killed connection): the transaction rolled
                # back, so running the update again is safe; the person only waits a moment.
                if pause is None or not transient_database_error(exc):
                    raise
                log.warning("database unavailable (%s); trying the update again in %.1f s",
                            type(exc.orig).__name__, pause)
                await asyncio.sleep(pause)
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _transaction(self, incoming: Incoming) -> list[Reply]:
        stepped = await self._transactions.run(functools.partial(self._step, incoming))
        if stepped.handled:
            return []
        ctx, replies = stepped.ctx, stepped.replies
        if any(reply.after_commit for reply in replies):
            replies = await self._read_after_commit(incoming, stepped)
        if self._flood is not None:
            self._flood.remember_language((incoming.channel, incoming.chat_id), ctx.account.language)
        if ctx.outbox_written and self.on_outbox is not None:
            self.on_outbox()
        if stepped.last_sent_at is not None and replies and self.on_chat_written is not None:
            # Another sender (a replica, a dispatcher) wrote to this chat a moment ago: these replies wait their turn.
            self.on_chat_written(incoming.channel, incoming.chat_id,
                                 (ctx.now - stepped.last_sent_at).total_seconds())
        if self._metrics is not None:
            for kind in ctx.code_failures:
                self._metrics.code_failures.labels(kind).inc()
        return replies

    async def _step(self, incoming: Incoming, session: AsyncSession) -> _Stepped:
        """The update's whole transaction: read the chat, run the handler, write. On SQLite it runs in the writer
        thread and must not wait on anything but the database (storage.writer)."""
        now = self._clock()
        opened = await open_chat(session, incoming.channel, incoming.chat_id, user_id=incoming.user_id,
                                 display_name=incoming.display_name, default_language=self._default_language,
                                 update_key=incoming.update_key, now=now)
        account, row, replies_waiting = opened.account, opened.state, opened.replies_waiting
        ctx = Context(session=session, account=account, data_dir=self._data_dir,
                      max_upload_bytes=self._max_upload_bytes, now=now,
                      can_share_contact=incoming.can_share_contact, timezone=self._timezone,
                      carries_documents=incoming.carries_documents, quotas=self._quotas, quiet=self._quiet,
                      answer_days=self._answer_days)
        if opened.handled:
            return _Stepped(ctx, [], None, handled=True)  # delivered twice (webhook retry, two replicas)
        # The loaded JSON itself, not a copy: the state is written by save_state's UPDATE, not by the ORM noticing a
        # change, and the row object goes with this transaction's session (a deep copy was 4% of every update).
        state = State(flow=row.flow, step=row.step, data=row.data or {},
                      updated_at=row.updated_at if row.version else None)
        result = await router.handle(ctx, state, incoming)
        await save_state(session, row, flow=result.state.flow, step=result.state.step,
                         data=result.state.data, now=ctx.now)
        touch_account(session, account)
        if incoming.update_key and not await first_time_seen(session, incoming.channel, incoming.update_key):
            raise _AlreadyHandled  # another replica handled this very update meanwhile: undo ours
        assert account.id is not None
        if any(reply.after_commit for reply in result.replies):
            # A slow read follows once this step is committed (_read_after_commit); its replies are stored then.
            return _Stepped(ctx, result.replies, opened.last_sent_at, replies_waiting=replies_waiting,
                            version=row.version + 1)
        replies = await self._store_replies(session, ctx, incoming.channel, result.replies, replies_waiting)
        return _Stepped(ctx, replies, opened.last_sent_at)

    async def _store_replies(self, session: AsyncSession, ctx: Context, channel: str, replies: list[Reply],
                             replies_waiting: bool) -> list[Reply]:
        """The replies as they are to be sent now: journaled with the step, or, when earlier replies still wait for
        the platform, queued behind them in the outbox (none to send now), so the chat reads in order."""
        account_id = ctx.account.id
        assert account_id is not None
        if replies_waiting and replies:
            await keep_replies(session, account_id,
                               [row for rows in await self._reply_rows(session, replies) for row in rows])
            ctx.outbox_written = True
            return []
        if replies and channel in self._journaled:
            return await self._journaled_replies(session, account_id, replies)
        return replies

    async def _read_after_commit(self, incoming: Incoming, stepped: _Stepped) -> list[Reply]:
        """The replies of slow reads (statistics, exports), made after the step is committed on a connection of
        their own, so they never hold up other chats' writes; then stored as any reply is, in a short transaction."""
        replies: list[Reply] = []
        for reply in stepped.replies:
            if reply.after_commit is None:
                replies.append(reply)
                continue
            try:
                replies += await self._transactions.read(reply.after_commit)
            except Exception:  # the step is committed: this answer alone failed
                log.exception("a read after the step failed for a %s chat", incoming.channel)
                replies.append(Reply(t(stepped.ctx.lang, "error.unexpected")))
        ctx = stepped.ctx

        async def store(session: AsyncSession) -> list[Reply]:
            # What the chat now has on screen to answer (a list's items, by number) joins the committed step,
            # unless a later update of the chat has moved it on meanwhile.
            assert ctx.account.id is not None
            await _remember_shown(session, ctx.account.id, stepped.version, replies, ctx.now)
            return await self._store_replies(session, ctx, incoming.channel, replies, stepped.replies_waiting)

        try:
            return await self._transactions.run(store)
        except Exception:  # noqa: BLE001  (not journaled: sent all the same, only not again after a crash)
            log.exception("could not journal the replies of a read for a %s chat", incoming.channel)
            return replies


@dataclass(frozen=True)
class _Stepped:
    ctx: Context
    replies: list[Reply]
    last_sent_at: datetime | None
    handled: bool = False
    replies_waiting: bool = False  # for replies stored after the step (a read after commit)
    version: int = 0  # the state's version this step committed


async def _remember_shown(session: AsyncSession, account_id: int, version: int, replies: list[Reply],
                          now: datetime) -> None:
    """What the router would have remembered as shown (handlers.shown) had these replies been known at the step:
    written into the state that step committed (`version`), unless a later step has replaced it."""
    row = await state_of(session, account_id)
    if row is None or row.version != version:
        return
    on_screen = shown.record(replies, now)
    if (row.data or {}).get(shown.SHOWN) != on_screen:
        await save_state(session, row, flow=row.flow, step=row.step, data={**(row.data or {}), shown.SHOWN: on_screen},
                         now=row.updated_at)


async def _downloaded(incoming: Incoming, max_bytes: int) -> Incoming:
    """The update with its file already fetched: the transaction may not wait on the network. A file the platform
    says is too big or of a type no question takes is left for the handler to refuse without downloading it; a
    download that fails is refused by the handler as before ("could not fetch your file")."""
    file = incoming.file
    if file is None or (file.size is not None and file.size > max_bytes) or (
            file.mime is not None and file.mime not in DOCUMENT_TYPES):
        return incoming
    try:
        content = await file.read()
    except Exception as exc:  # noqa: BLE001  (the handler says so at the step that wanted the file)
        failure = exc

        async def refuse() -> bytes:
            raise failure

        return replace(incoming, file=replace(file, read=refuse))

    async def fetched() -> bytes:
        return content

    # Checked here too, in a worker thread: decoding a phone's photo to its end takes a while, and in the
    # transaction (on SQLite, the process's one writer) it would hold up every chat's writes.
    real = sniff_mime(content)
    checked = await asyncio.to_thread(checked_content, content, real) if real in DOCUMENT_TYPES else None
    return replace(incoming, file=replace(file, read=fetched, checked=checked))


BACKLOG_AFTER = timedelta(seconds=30)
# How long a reply may take to leave this process before a dispatcher elsewhere sends it instead: the dispatcher's
# own lease, and far more than a reply waits for its turn.
JOURNAL_LEASE = timedelta(seconds=60)
RETRY_PAUSES = (0.2, 0.5, 1.0, 2.0)  # five tries over about 4 s: a database restart, not an outage


def transient_database_error(exc: DBAPIError) -> bool:
    """A lost or refused connection: worth another try. (SQLite's "database is locked" is not retried: it
    comes after a 30 s wait already.)"""
    if exc.connection_invalidated:
        return True
    text = str(exc.orig).lower()
    return "locked" not in text and any(sign in text for sign in (
        "connection", "terminat", "shutdown", "cannot connect", "server closed", "the database system is"))


class _AlreadyHandled(Exception):  # noqa: N818  (rolls the transaction back; not an error)
    pass
