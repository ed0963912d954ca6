"""Answers to one message, sent in order on a chat platform; each one's fate is written down."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Protocol

from bot.outbox.outcomes import Outcome, PartlySent, Permanent, RetryLater, Transient, Unreachable
from handlers.types import Reply

log = logging.getLogger(__name__)


async def answer_after_commit(tasks: set[asyncio.Task[None]], channel: str,
                              answer: Callable[[asyncio.Future[None]], Coroutine[Any, Any, None]]) -> None:
    """For a webhook: start `answer(committed)` and return once it has set `committed` (the step and its replies are
    on disk) or ended without (nothing to answer, or a failure), so the platform is told "received" only for what a
    crash cannot lose. The sending goes on after, kept in `tasks`."""
    committed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(answer(committed))
    tasks.add(task)
    task.add_done_callback(tasks.discard)
    await asyncio.wait({committed, task}, return_when=asyncio.FIRST_COMPLETED)
    if task.done() and not task.cancelled() and (error := task.exception()) is not None:
        log.error("a %s update failed: %r", channel, error, exc_info=error)


class Journal(Protocol):
    """Where replies' fates go (ConversationRunner): the rows written with the step are forgotten once sent, replaced
    by what is left of them for the dispatcher, or marked failed."""

    async def sent(self, channel: str, reply: Reply) -> None: ...

    async def keep(self, channel: str, chat_id: str, replies: list[Reply], *, wait_seconds: float) -> None: ...

    async def failed(self, channel: str, replies: list[Reply], outcome: Outcome) -> None: ...


async def send_in_order(channel: str, chat_id: str, replies: list[Reply], send: Callable[[int, Reply], Awaitable[None]],
                        rest_after: Callable[[int, Reply, int], Reply], journal: Journal | None) -> None:
    """Send `replies` one after another with `send(index, reply)`, which raises an Outcome for what the platform did
    not take. What it did not take now (429, 5xx, a timeout) is kept, from the part that failed
    (`rest_after(index, reply, parts delivered)`), with the replies after it, and sent later in order; what it
    refuses for good (a 400, a blocked bot) would only be refused again. Each reply is marked sent while the next
    one goes out; all marks are committed before this returns."""
    marks: list[asyncio.Task[None]] = []
    try:
        for index, reply in enumerate(replies):
            try:
                await send(index, reply)
            except Exception as exc:  # noqa: BLE001 - what the dispatcher does too: unexpected counts as Transient
                if not isinstance(exc, Outcome):
                    # A platform answer the library cannot read (once, a fake's malformed sendMediaGroup) used to
                    # kill the task with the reply neither kept nor failed, and the chat heard nothing after it.
                    log.exception("an unexpected error sending a reply to a %s chat; kept to try again", channel)
                    exc = Transient(repr(exc))
                parts, outcome = (exc.parts, exc.cause) if isinstance(exc, PartlySent) else (reply.from_part, exc)
                if journal is None or isinstance(outcome, Permanent | Unreachable):
                    log.warning("could not send a reply to a %s chat: %r", channel, outcome)
                    if journal is not None:
                        await journal.failed(channel, replies[index:], outcome)
                    return
                wait = outcome.seconds if isinstance(outcome, RetryLater) else 1.0
                await journal.keep(channel, chat_id, [rest_after(index, reply, parts), *replies[index + 1:]],
                                   wait_seconds=wait)
                return
            if journal is not None:
                marks.append(asyncio.create_task(journal.sent(channel, reply)))
    finally:
        await asyncio.gather(*marks)
