"""One pacer per chat platform: every API call that puts something in a chat — a reply, each part of a multi-part
message, a progress edit, an outbox send — waits here for its turn.

Platforms count calls, not our rows: Telegram about 30 a second in any sliding second over the whole bot, and
about one a second in one chat. So the pacer hands out turns at the configured rate (divided among the replicas
that send for the same bot, since they share the platform's limit), keeps each chat about one call a second apart,
and serves replies to a person before proactive traffic. It also reads the platform's answers: a 429 for one chat
slows that chat; only many 429s at once, or a long retry_after, pause the whole channel.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)

DEFAULT_RATE = 25.0  # calls a second (OCOP_SEND_RATE): under Telegram's 30, leaving room for the unexpected
BURST_SHARE = 0.1  # of a second's rate that may go at once: a full second's burst overran the sliding window
LIMITED_SHARE = 0.15  # of the last answers being 429 means the platform, not one chat, is saying slow down
LONG_WAIT = 5.0  # a retry_after this long is a platform-wide signal too
# Answers needed before their share means anything: out of 20, three chance 429s already made 15% and paused every
# chat twice in a broadcast's first seconds; out of 50, a 5% chance rate reaches 15% about once in 300 windows.
LIMITED_SAMPLE = 50


class Pacer:
    def __init__(self, rate: float, *, per_chat_interval: float = 1.0) -> None:
        self.configured_rate = rate
        self.per_chat_interval = per_chat_interval
        self.replicas = 1  # senders sharing this bot's limit, kept up to date by the replica heartbeat
        self._tokens = self.capacity
        self._updated: float | None = None
        self._paused_until = 0.0
        self._later_held_until = 0.0  # proactive traffic waits until then (a replica that has just joined)
        self._urgent: deque[asyncio.Future[None]] = deque()
        self._later: deque[asyncio.Future[None]] = deque()
        self._granter: asyncio.Task[None] | None = None
        self._chat_next: dict[str, float] = {}  # the earliest time of each chat's next call
        self._recent: deque[bool] = deque(maxlen=100)  # was each recent answer a 429?

    @property
    def rate(self) -> float:
        return self.configured_rate / max(1, self.replicas)

    @property
    def capacity(self) -> float:
        return max(1.0, self.rate * BURST_SHARE)

    async def wait(self, chat_id: str, *, urgent: bool) -> None:
        """Return when this chat's and the channel's turn has come; `urgent`: a reply to a person."""
        loop = asyncio.get_running_loop()
        # A chat's turn is reserved before waiting, so its concurrent callers line up a second apart.
        now = loop.time()
        at = max(now, self._chat_next.get(chat_id, now))
        self._chat_next[chat_id] = at + self.per_chat_interval
        if len(self._chat_next) > 10_000:
            self._forget_idle_chats(now)
        if at > now:
            await asyncio.sleep(at - now)
        future: asyncio.Future[None] = loop.create_future()
        (self._urgent if urgent else self._later).append(future)
        if self._granter is None or self._granter.done():
            self._granter = asyncio.create_task(self._grant())
        await future

    async def call(self, chat_id: str, make: Callable[[], Awaitable[T]], *, urgent: bool,
                   retry_after: Callable[[Exception], float | None]) -> T:
        """Make one sending call in its turn and learn from the answer. `retry_after` reads a platform error: the
        seconds of a 429, None for any other error. Errors go back to the caller, which keeps the message."""
        await self.wait(chat_id, urgent=urgent)
        try:
            result = await make()
        except Exception as exc:
            seconds = retry_after(exc)
            if seconds is not None:
                self.refused(chat_id, seconds)
            raise
        finally:
            # The chat's next call is a full interval after this one came back, not after its turn was given: the
            # platform counts when a call arrives, which a slow upload pushes later.
            now = asyncio.get_running_loop().time()
            self._chat_next[chat_id] = max(self._chat_next.get(chat_id, now), now + self.per_chat_interval)
        self.answered()
        return result

    def answered(self) -> None:
        """A call the platform took."""
        self._recent.append(False)

    def refused(self, chat_id: str, seconds: float) -> bool:
        """A 429 with retry_after `seconds`: that chat waits that long; the channel pauses too when the platform as
        a whole is saying slow down. Returns whether the channel paused."""
        loop = asyncio.get_running_loop()
        self._recent.append(True)
        self._chat_next[chat_id] = max(self._chat_next.get(chat_id, 0.0), loop.time() + seconds)
        answers = self._recent
        if seconds >= LONG_WAIT or (len(answers) >= LIMITED_SAMPLE and sum(answers) / len(answers) >= LIMITED_SHARE):
            if self._paused_until <= loop.time():  # once a pause, not once a 429
                log.warning("the platform is limiting this bot: every chat paused %.1f s (%d of the last %d "
                            "answers were 429)", seconds, sum(answers), len(answers))
            self._paused_until = max(self._paused_until, loop.time() + seconds)
            return True
        return False

    def written_to(self, chat_id: str, seconds_ago: float) -> None:
        """Another sender (a replica, a dispatcher) sent to this chat `seconds_ago`: its next call here waits until
        a chat interval after that, as if this pacer had made it."""
        at = asyncio.get_running_loop().time() - max(0.0, seconds_ago) + self.per_chat_interval
        self._chat_next[chat_id] = max(self._chat_next.get(chat_id, 0.0), at)

    def hold_proactive(self, seconds: float) -> None:
        """Replies only, for `seconds`: a replica that has just joined waits until the others have heard of it and
        slowed down, or together they would overrun the platform's limit until their next heartbeat."""
        self._later_held_until = asyncio.get_running_loop().time() + seconds

    async def _grant(self) -> None:
        # One task hands out turns, replies first: waiters only wait on their future, so nobody polls for tokens.
        loop = asyncio.get_running_loop()
        while self._urgent or self._later:
            if not self._urgent and loop.time() < self._later_held_until:
                await asyncio.sleep(min(0.05, self._later_held_until - loop.time()))  # a reply may come meanwhile
                continue
            await self._token()
            while self._urgent or (self._later and loop.time() >= self._later_held_until):
                future = (self._urgent or self._later).popleft()
                if not future.done():  # a waiter that gave up (cancelled) does not use the turn
                    future.set_result(None)
                    break
            else:
                self._tokens += 1  # nobody was left to take it

    async def _token(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            now = loop.time()
            if now < self._paused_until:
                await asyncio.sleep(self._paused_until - now)
                continue
            if self._updated is not None:
                self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            if self._tokens >= 1:
                self._tokens -= 1
                return
            await asyncio.sleep((1 - self._tokens) / self.rate)

    def _forget_idle_chats(self, now: float) -> None:
        self._chat_next = {chat: at for chat, at in self._chat_next.items() if at > now}
