"""What a channel's send can tell the dispatcher, and the shape of a send: the one thing adapters and the dispatcher
share, so a channel never imports the dispatcher."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from handlers.types import Reply


class Outcome(Exception):  # noqa: N818
    """What a channel's send tells its caller about a message the platform did not take."""


class RetryLater(Outcome):  # (names say what the dispatcher should do)
    def __init__(self, seconds: float) -> None:
        super().__init__(f"retry after {seconds:g}s")
        self.seconds = seconds


class Transient(Outcome):
    """Worth trying again later: a timeout, a network error, a 5xx."""


class Unreachable(Outcome):
    """The person blocked the bot or deleted the chat."""


class Permanent(Outcome):
    """The platform refuses this message for good (a 400): retrying would not help."""


class PartlySent(Outcome):
    """A multi-part message failed at part `parts` (counted from its first part); those before it were delivered.
    `cause` is what the dispatcher should do about the rest (RetryLater, Transient, …)."""

    def __init__(self, parts: int, cause: Outcome) -> None:
        super().__init__(f"failed after {parts} part(s): {cause}")
        self.parts, self.cause = parts, cause


class NotThere(Outcome):
    """Nobody is there to take it now (a web page that is closed): it waits, with no attempt counted."""


# Sends one message; returns its final status when that is not plain "sent" (a web page: "shown").
Send = Callable[[str, Reply], Awaitable[str | None]]
# Which chats of a channel this process can reach now (open web pages); None: all of them.
Reachable = Callable[[], set[str] | None]
