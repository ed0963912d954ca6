"""A chat platform's flood limits as the platform applies them, for the fakes in tests/ and bench/."""

from __future__ import annotations

import time
from collections import deque

# The tests' "second" for one chat: the bot is run with OCOP_CHAT_INTERVAL set to it (conftest) and the fakes refuse a
# second call to a chat within it, as Telegram does within a real second. Scaled down so a 20-step registration
# does not take 20 seconds; tests/test_pacer.py runs the real one-second rule.
CHAT_INTERVAL = 0.05
# What the fakes enforce: a little under the interval the bot keeps, as a call's own journey (PTB building the
# request) shifts when it reaches the platform by a few milliseconds, which is nothing against a real second.
CHAT_WINDOW = 0.8 * CHAT_INTERVAL


class FloodRules:
    """A platform's flood limits as it applies them: at most `limit` sending calls in any sliding second over the
    whole bot (0: no such rule), and one call per `chat_window` seconds in one chat (0: no per-chat rule)."""

    def __init__(self, limit: float = 30, chat_window: float = CHAT_WINDOW) -> None:
        self.limit, self.chat_window = limit, chat_window
        self._window: deque[float] = deque()
        self._chats: dict[str, deque[float]] = {}

    def over(self, chat: str) -> bool:
        """Whether a call to `chat` now is refused; an accepted call is counted."""
        return self.refusal(chat) is not None

    def refusal(self, chat: str) -> str | None:
        """Which rule refuses a call to `chat` now ("overall", "per_chat"), or None when it is taken (and counted)."""
        now = time.monotonic()
        windows = [("overall", self._window, self.limit, 1.0)] if self.limit > 0 else []
        if self.chat_window > 0:
            windows.append(("per_chat", self._chats.setdefault(chat, deque()), 1, self.chat_window))
        for rule, calls, limit, span in windows:
            while calls and calls[0] <= now - span:
                calls.popleft()
            if len(calls) >= limit:
                return rule
        for _, calls, _, _ in windows:
            calls.append(now)
        return None
