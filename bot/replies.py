"""Answers to one message, sent in order on a chat platform; what the platform does not take now is kept."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from bot.dispatcher import Outcome, PartlySent, Permanent, RetryLater, Unreachable
from handlers.types import Reply

log = logging.getLogger(__name__)
# (channel, chat_id, replies, wait_seconds=…): ConversationRunner.keep_unsent
Keep = Callable[..., Awaitable[None]]


async def send_in_order(channel: str, chat_id: str, replies: list[Reply], send: Callable[[int, Reply], Awaitable[None]],
                        rest_after: Callable[[int, Reply, int], Reply], keep: Keep | None) -> None:
    """Send `replies` one after another with `send(index, reply)`, which raises an Outcome for what the platform did
    not take. What it did not take now (429, 5xx, a timeout) is kept, from the part that failed
    (`rest_after(index, reply, parts delivered)`), with the replies after it, and sent later in order; what it
    refuses for good (a 400, a blocked bot) would only be refused again."""
    for index, reply in enumerate(replies):
        try:
            await send(index, reply)
        except Outcome as exc:
            parts, outcome = (exc.parts, exc.cause) if isinstance(exc, PartlySent) else (reply.from_part, exc)
            if keep is None or isinstance(outcome, Permanent | Unreachable):
                log.warning("could not send a reply to a %s chat: %r", channel, outcome)
                return
            wait = outcome.seconds if isinstance(outcome, RetryLater) else 1.0
            await keep(channel, chat_id, [rest_after(index, reply, parts), *replies[index + 1:]], wait_seconds=wait)
            return
